//! Generators of arguments carrying secrets, each with the bytes of every
//! secret it carries (what must never be found).

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;

use super::{Account, Creds, Exploding, FormField, HeaderName, Node, Opaque, Profile, Vault, VaultKey};
use crate::support::{b62, card_number, iban};

/// A generated value and every secret it carries.
type G<T> = (T, Vec<Vec<u8>>);

/// The arguments of one call of `handle`, and their secrets.
pub struct Case {
    pub node: Node,
    pub account: Account,
    pub profile: Profile,
    pub bulk: Vec<Account>,
    pub opaque: Opaque,
    pub boom: Exploding,
    pub password: String,
    pub secrets: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case")
            .field("node", &self.node)
            .field("account", &self.account)
            .field("profile", &self.profile)
            .field("bulk", &self.bulk.len())
            .field("opaque", &self.opaque)
            .finish()
    }
}

const WORDS: &[&str] = &[
    "alpha", "bravo", "order", "total", "ship", "to", "the", "customer", "note", "pay", "with", "reach", "at", "via",
    "ok",
];
const SENSITIVE_KEYS: &[&str] = &[
    "password",
    "apiKey",
    "X-Auth-Token",
    "db_password",
    "refreshToken",
    "SESSION_ID",
    "csrf-token",
    "Cookie",
    "private_key",
    "client_secret",
    "authorization",
    "oauth_token",
    "passwd",
    "accessTokens",
];
/// Put right before a PII item: punctuation, and non-ASCII text.
const BEFORE: &[&str] = &[
    "", "", "(", "[", "<", "\"", "'", "/", "«", "“", "—", "…", "、", "：", "é", "日本",
];
/// Put right after a PII item: punctuation, and non-ASCII punctuation.
const AFTER: &[&str] = &[
    "", "", ".", ",", ";", ":", "!", "?", ")", "]", ">", "\"", "'", "/", "»", "”", "—", "…", "。", "、",
];
/// Between the words of a text.
const JOINERS: &[&str] = &[" ", " ", " ", "\n", "\t", " é ", " 日本 ", " — "];

fn word() -> impl Strategy<Value = String> {
    prop::sample::select(WORDS).prop_map(str::to_owned)
}

fn sensitive_key() -> impl Strategy<Value = String> {
    prop::sample::select(SENSITIVE_KEYS).prop_map(str::to_owned)
}

/// A random secret: 16-22 base-62 characters.
fn secret() -> impl Strategy<Value = String> {
    any::<u128>().prop_map(|n| b62(n | (1 << 100)))
}

fn secret_g() -> impl Strategy<Value = G<String>> {
    secret().prop_map(|s| (s.clone(), vec![s.into_bytes()]))
}

/// One PII item as it appears in text, and the bytes that identify it.
fn pii_item() -> impl Strategy<Value = G<String>> {
    // Random hosts: a word there would make pieces such as `customer` that
    // also occur as ordinary data.
    let email = (
        any::<u64>(),
        any::<u32>(),
        prop::sample::select(&["com", "org", "io"][..]),
    )
        .prop_map(|(n, host, tld)| {
            let host = b62(u128::from(host) | 1 << 24).to_lowercase();
            format!("{}@{host}.{tld}", b62(n as u128 | 1 << 40).to_lowercase())
        });
    let card = (any::<u64>(), 0..3u8).prop_map(|(n, style)| card_number(n, style));
    let ssn = (1..=899u32, 1..=99u32, 1..=9999u32)
        .prop_filter("valid area", |(a, _, _)| *a != 666)
        .prop_map(|(a, g, s)| format!("{a:03}-{g:02}-{s:04}"));
    let iban = (any::<u64>(), any::<bool>()).prop_map(|(n, grouped)| iban(n, grouped));
    let jwt = (any::<u64>(), any::<u64>(), any::<u64>()).prop_map(|(a, b, c)| {
        format!(
            "eyJ{}.{}.{}",
            b62(a as u128 | 1 << 30),
            b62(b as u128 | 1 << 30),
            b62(c as u128 | 1 << 30)
        )
    });
    let bearer = any::<u64>().prop_map(|n| format!("Bearer {}7", b62(n as u128 | 1 << 50)));
    prop_oneof![email, card, ssn, iban, jwt, bearer].prop_map(|text| {
        let mut needles = vec![text.clone().into_bytes()];
        if let Some(token) = text.strip_prefix("Bearer ") {
            needles = vec![token.as_bytes().to_vec()];
        }
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= 13 && text.chars().all(|c| c.is_ascii_digit() || c == ' ' || c == '-') {
            needles.push(digits.into_bytes());
        }
        (text, needles)
    })
}

/// A PII item right next to punctuation or non-ASCII text.
fn pii() -> impl Strategy<Value = G<String>> {
    (prop::sample::select(BEFORE), pii_item(), prop::sample::select(AFTER))
        .prop_map(|(before, (text, needles), after)| (format!("{before}{text}{after}"), needles))
}

/// Free text: words with PII items among them.
fn pii_text() -> impl Strategy<Value = G<String>> {
    prop::collection::vec(
        (
            prop_oneof![3 => word().prop_map(|w| (w, vec![])), 2 => pii()],
            prop::sample::select(JOINERS),
        ),
        0..6,
    )
    .prop_map(|parts| {
        let mut secrets = Vec::new();
        let mut text = String::new();
        for (i, ((w, s), joiner)) in parts.into_iter().enumerate() {
            if i > 0 {
                text.push_str(joiner);
            }
            text.push_str(&w);
            secrets.extend(s);
        }
        (text, secrets)
    })
}

/// How a secret number could show up on disk: MessagePack's big-endian
/// bytes, or its decimal text (JSON).
fn number_needles(n: u64) -> Vec<Vec<u8>> {
    vec![n.to_be_bytes().to_vec(), n.to_string().into_bytes()]
}

/// A value that sits under a sensitive name: all of it is secret.
fn secret_node() -> impl Strategy<Value = G<Node>> {
    prop_oneof![
        secret().prop_map(|s| (Node::Text(s.clone()), vec![s.into_bytes()])),
        (1u64 << 40..u64::MAX).prop_map(|n| (Node::Num(n), number_needles(n))),
        prop::collection::vec(secret(), 1..3).prop_map(|v| {
            let secrets = v.iter().map(|s| s.clone().into_bytes()).collect();
            (Node::List(v.into_iter().map(Node::Text).collect()), secrets)
        }),
    ]
}

/// Entries keyed by a form field (a unit enum variant): the values of
/// sensitive fields are secret, comments carry PII.
fn form_entries() -> impl Strategy<Value = G<BTreeMap<FormField, String>>> {
    let field = prop::sample::select(
        &[
            FormField::Password,
            FormField::ApiKey,
            FormField::Comment,
            FormField::Email,
        ][..],
    );
    prop::collection::vec((field, secret(), pii_text()), 0..4).prop_map(|entries| {
        let mut secrets = Vec::new();
        let mut map = BTreeMap::new();
        for (f, s, (text, pii)) in entries {
            let value = match f {
                _ if f.sensitive() => {
                    secrets.push(s.clone().into_bytes());
                    s
                }
                FormField::Comment => {
                    secrets.extend(pii);
                    text
                }
                _ => "ann".to_owned(),
            };
            map.insert(f, value);
        }
        (map, secrets)
    })
}

/// Entries keyed by a header name (a newtype): sensitive names hide their values.
fn header_entries() -> impl Strategy<Value = G<Vec<(HeaderName, String)>>> {
    prop::collection::vec((prop_oneof![word(), sensitive_key()], secret()), 0..4).prop_map(|entries| {
        let mut secrets = Vec::new();
        let mut out = Vec::new();
        for (k, v) in entries {
            if SENSITIVE_KEYS.contains(&k.as_str()) {
                secrets.push(v.clone().into_bytes());
                out.push((HeaderName(k), v));
            } else {
                out.push((HeaderName(k), "text/html".to_owned()));
            }
        }
        (out, secrets)
    })
}

fn account() -> impl Strategy<Value = G<Account>> {
    (
        word(),
        1u64 << 40..u64::MAX,
        (secret(), prop::option::of(secret()), secret(), pii_text()),
        pii_text(),
        prop::collection::vec((prop_oneof![word(), sensitive_key()], secret()), 0..4),
    )
        .prop_map(|(user, api_key, (pw, refresh, sid, hint), bio, meta)| {
            let mut secrets = number_needles(api_key);
            secrets.push(pw.clone().into_bytes());
            secrets.extend(refresh.iter().map(|r| r.clone().into_bytes()));
            secrets.push(sid.clone().into_bytes());
            secrets.extend(hint.1);
            secrets.extend(bio.1);
            let mut map = HashMap::new();
            for (k, v) in meta {
                if SENSITIVE_KEYS.contains(&k.as_str()) {
                    secrets.push(v.clone().into_bytes());
                }
                map.insert(k, v);
            }
            let creds = Creds {
                userPassword: pw,
                refresh_token: refresh,
                sid,
                hint: hint.0,
            };
            let account = Account {
                user,
                api_key,
                creds,
                bio: bio.0,
                meta: map,
            };
            (account, secrets)
        })
}

fn vault() -> impl Strategy<Value = G<Vault>> {
    let key = prop_oneof![
        word().prop_map(|w| (VaultKey::Plain(w), false, vec![])),
        sensitive_key().prop_map(|k| (VaultKey::Plain(k), true, vec![])),
        pii_item().prop_map(|(t, s)| (VaultKey::Plain(t), false, s)),
        sensitive_key().prop_map(|k| (VaultKey::Header(HeaderName(k)), true, vec![])),
        prop::sample::select(&[FormField::Password, FormField::ApiKey, FormField::Email][..]).prop_map(|f| (
            VaultKey::Field(f),
            f.sensitive(),
            vec![]
        )),
    ];
    (
        word(),
        secret(),
        pii_text(),
        prop::collection::vec((key, secret()), 0..4),
    )
        .prop_map(|(label, secret, (memo, mut secrets), entries)| {
            secrets.push(secret.clone().into_bytes());
            let entries = entries
                .into_iter()
                .map(|((k, sensitive, key_secrets), v)| {
                    secrets.extend(key_secrets);
                    if sensitive {
                        secrets.push(v.clone().into_bytes());
                        (k, v)
                    } else {
                        (k, "plain".to_owned())
                    }
                })
                .collect();
            (
                Vault {
                    label,
                    secret,
                    memo,
                    entries,
                },
                secrets,
            )
        })
}

fn profile() -> impl Strategy<Value = G<Profile>> {
    (
        word(),
        pii_text(),
        form_entries(),
        header_entries(),
        vault(),
        secret_g(),
    )
        .prop_map(
            |(name, (bio, mut secrets), (fields, s1), (headers, s2), (vault, s3), (api_key, s4))| {
                secrets.extend(s1.into_iter().chain(s2).chain(s3).chain(s4));
                let profile = Profile {
                    name,
                    bio,
                    fields,
                    headers: headers.into_iter().collect(),
                    vault,
                    api_key,
                };
                (profile, secrets)
            },
        )
}

fn node() -> impl Strategy<Value = G<Node>> {
    let leaf = prop_oneof![
        3 => pii_text().prop_map(|(t, s)| (Node::Text(t), s)),
        1 => (secret(), word()).prop_map(|(p, label)| (Node::Login { password: p.clone(), label }, vec![p.into_bytes()])),
        1 => any::<u32>().prop_map(|n| (Node::Num(n.into()), vec![])),
        1 => secret().prop_map(|s| (Node::Token(s.clone()), vec![s.into_bytes()])),
        1 => header_entries().prop_map(|(h, s)| (Node::Headers(h.into_iter().collect()), s)),
        1 => form_entries().prop_map(|(f, s)| (Node::Form(f), s)),
    ];
    leaf.prop_recursive(3, 20, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|items| {
                let (nodes, secrets): (Vec<_>, Vec<_>) = items.into_iter().unzip();
                (Node::List(nodes), secrets.concat())
            }),
            prop::collection::vec(
                prop_oneof![
                    2 => (word(), inner.clone()).prop_map(|(k, n)| (k, vec![], n)),
                    1 => (sensitive_key(), secret_node()).prop_map(|(k, n)| (k, vec![], n)),
                    1 => (pii(), inner.clone()).prop_map(|((k, s), n)| (k, s, n)),
                ],
                0..4
            )
            .prop_map(|entries| {
                let mut secrets = Vec::new();
                let mut map = BTreeMap::new();
                for (k, key_secrets, (n, s)) in entries {
                    secrets.extend(s);
                    // A PII map key.
                    secrets.extend(key_secrets);
                    map.insert(k, n);
                }
                (Node::Map(map), secrets)
            }),
            prop::option::of(inner.clone()).prop_map(|o| match o {
                Some((n, s)) => (Node::Maybe(Some(Box::new(n))), s),
                None => (Node::Maybe(None), vec![]),
            }),
            account().prop_map(|(a, s)| (Node::Account(Box::new(a)), s)),
        ]
    })
}

/// One call's arguments; `bulk` copies of an account make a large argument
/// (over the production preset's 16 KiB size limit past about 65 copies).
pub fn case(bulk: usize) -> impl Strategy<Value = Case> {
    (
        (node(), account(), profile(), (account(), 0..=bulk)),
        (any::<u32>(), secret(), pii_text()),
        secret(),
        secret(),
    )
        .prop_map(
            |(
                ((node, mut secrets), (account, s1), (profile, s2), ((bulk_one, s3), copies)),
                (id, key, note),
                boom,
                pw,
            )| {
                secrets.extend(s1.into_iter().chain(s2));
                if copies > 0 {
                    secrets.extend(s3);
                }
                secrets.push(key.clone().into_bytes());
                secrets.extend(note.1);
                secrets.push(boom.clone().into_bytes());
                secrets.push(pw.clone().into_bytes());
                Case {
                    node,
                    account,
                    profile,
                    bulk: vec![bulk_one; copies],
                    opaque: Opaque {
                        id,
                        private_key: key,
                        note: note.0,
                    },
                    boom: Exploding(boom),
                    password: pw,
                    secrets,
                }
            },
        )
}
