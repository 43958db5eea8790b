//! A small Rust lexer, enough to find items in a crate's sources without
//! parsing them: which bytes are code (not comments, strings or char
//! literals), and the `{..}` blocks with their headers (`impl`, `trait`,
//! `mod` or other).

/// Which bytes of `src` are code (not comments, strings or char literals).
pub(super) fn code_mask(src: &str) -> Vec<bool> {
    let b = src.as_bytes();
    let mut mask = vec![true; b.len()];
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80;
    let mut i = 0;
    let blank = |mask: &mut Vec<bool>, from: usize, to: usize| {
        for m in &mut mask[from..to.min(b.len())] {
            *m = false;
        }
    };
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            let end = src[i..].find('\n').map_or(b.len(), |n| i + n);
            blank(&mut mask, i, end);
            i = end;
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let (mut j, mut depth) = (i + 2, 1);
            while j < b.len() && depth > 0 {
                if b[j] == b'/' && b.get(j + 1) == Some(&b'*') {
                    depth += 1;
                    j += 2;
                } else if b[j] == b'*' && b.get(j + 1) == Some(&b'/') {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            blank(&mut mask, i, j);
            i = j;
        } else if (c == b'r' || (c == b'b' && b.get(i + 1) == Some(&b'r'))) && (i == 0 || !is_ident(b[i - 1])) && {
            let mut j = i + if c == b'b' { 2 } else { 1 };
            while b.get(j) == Some(&b'#') {
                j += 1;
            }
            b.get(j) == Some(&b'"')
        } {
            let mut j = i + if c == b'b' { 2 } else { 1 };
            let mut hashes = 0;
            while b[j] == b'#' {
                hashes += 1;
                j += 1;
            }
            let close = format!("\"{}", "#".repeat(hashes));
            let end = src[j + 1..].find(&close).map_or(b.len(), |n| j + 1 + n + close.len());
            blank(&mut mask, i, end);
            i = end;
        } else if c == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            blank(&mut mask, i, j + 1);
            i = j + 1;
        } else if c == b'\'' {
            // char literal or lifetime
            if b.get(i + 1) == Some(&b'\\') {
                let mut j = i + 2;
                while j < b.len() && b[j] != b'\'' {
                    j += 1;
                }
                blank(&mut mask, i, j + 1);
                i = j + 1;
            } else if let Some(ch) = src[i + 1..].chars().next() {
                let after = i + 1 + ch.len_utf8();
                if b.get(after) == Some(&b'\'') {
                    blank(&mut mask, i, after + 1);
                    i = after + 1;
                } else {
                    i += 1; // lifetime
                }
            } else {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    mask
}

/// `src` with everything but code blanked, byte offsets kept.
pub(super) fn code_text(src: &str, mask: &[bool]) -> String {
    let mut code = String::with_capacity(src.len());
    for (i, c) in src.char_indices() {
        if mask[i] {
            code.push(c);
        } else {
            code.extend(std::iter::repeat_n(' ', c.len_utf8()));
        }
    }
    code
}

/// What a block's header opens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum BlockKind {
    Impl,
    Trait,
    Mod,
    Other,
}

/// A `{..}` block of code.
#[derive(Debug)]
pub(super) struct Block {
    pub(super) kind: BlockKind,
    /// The header as code, attributes removed, whitespace collapsed.
    pub(super) header: String,
    /// The header as written, comments removed (to see `#[cfg(test)]`).
    pub(super) raw_header: String,
    /// Offset of the `impl` / `trait` / `mod` keyword.
    pub(super) keyword: usize,
    pub(super) open: usize,
    pub(super) close: usize,
}

/// Whitespace runs collapsed to one space.
pub(super) fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Remove `#[..]` and `#![..]` from a header.
fn strip_attrs(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '#' && matches!(chars.peek(), Some('[') | Some('!')) {
            let mut depth = 0;
            for d in chars.by_ref() {
                match d {
                    '[' => depth += 1,
                    ']' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Every `{..}` block of `src` (`mask`: [`code_mask`]), inner ones first.
pub(super) fn blocks(src: &str, mask: &[bool]) -> Vec<Block> {
    let b = src.as_bytes();
    let code = code_text(src, mask);
    let mut out = Vec::new();
    let mut stack: Vec<(usize, BlockKind, String, String, usize)> = Vec::new();
    let mut boundary = 0;
    for i in 0..b.len() {
        if !mask[i] {
            continue;
        }
        match b[i] {
            b'{' => {
                let raw = &code[boundary..i];
                let header = collapse(&strip_attrs(raw));
                let toks = header.split(' ');
                let mut kind = BlockKind::Other;
                let mut kw_word = "";
                for t in toks {
                    if t == "pub" || t.starts_with("pub(") || t == "unsafe" || t == "default" {
                        continue;
                    }
                    kind = match t.split('<').next().unwrap_or("") {
                        "impl" => BlockKind::Impl,
                        "trait" => BlockKind::Trait,
                        "mod" => BlockKind::Mod,
                        _ => BlockKind::Other,
                    };
                    kw_word = match kind {
                        BlockKind::Impl => "impl",
                        BlockKind::Trait => "trait",
                        BlockKind::Mod => "mod",
                        BlockKind::Other => "",
                    };
                    break;
                }
                let keyword = if kw_word.is_empty() {
                    boundary
                } else {
                    find_word(&code[boundary..i], kw_word).map_or(boundary, |k| boundary + k)
                };
                stack.push((i, kind, header, collapse(raw), keyword));
                boundary = i + 1;
            }
            b'}' => {
                if let Some((open, kind, header, raw_header, keyword)) = stack.pop() {
                    out.push(Block {
                        kind,
                        header,
                        raw_header: collapse(&src[keyword.min(open)..open]) + " " + &raw_header,
                        keyword,
                        open,
                        close: i,
                    });
                }
                boundary = i + 1;
            }
            b';' => boundary = i + 1,
            _ => {}
        }
    }
    out
}

/// Offset of `word` in `hay` as a whole identifier.
pub(super) fn find_word(hay: &str, word: &str) -> Option<usize> {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(k) = hay[from..].find(word) {
        let at = from + k;
        let before = hay[..at].chars().next_back();
        let after = hay[at + word.len()..].chars().next();
        if !before.is_some_and(is_ident) && !after.is_some_and(is_ident) {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}
