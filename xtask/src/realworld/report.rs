//! The report: one block per crate (what did not compile and why, suite
//! counts, replay counts and skip reasons, timings, missed targets) and
//! the summary table.

use std::fmt::Write as _;
use std::time::Duration;

use super::pipeline::{FnResult, Outcome};
use super::spec::{FnSpec, ReplayEntry};
use super::suite::Suite;
use super::workdir::realworld_root;

/// Capture on may cost at most this factor over capture off.
const MAX_SLOWDOWN: f64 = 1.5;

fn secs(d: Option<Duration>) -> String {
    d.map_or("-".into(), |d| format!("{:.3}s", d.as_secs_f64()))
}

fn ratio(o: &Outcome) -> Option<f64> {
    match (o.times[1], o.times[2]) {
        (Some(off), Some(on)) if off.as_nanos() > 0 => Some(on.as_secs_f64() / off.as_secs_f64()),
        _ => None,
    }
}

/// What was missed, for the summary.
pub(super) fn misses(o: &Outcome) -> Vec<String> {
    let mut m = Vec::new();
    if let Some(f) = &o.fatal {
        m.push(format!("did not run to the end: {}", f.lines().next().unwrap_or("")));
    }
    let nc = o.fns.iter().filter(|f| !f.compiled).count();
    if nc > 0 {
        m.push(format!("{nc} fn(s) do not compile"));
    }
    let nr = o.fns.iter().filter(|f| f.compiled && !f.replay_compiled).count();
    if nr > 0 {
        m.push(format!("{nr} replay entr(y/ies) do not compile"));
    }
    if let Some(p) = &o.pristine {
        for (what, s) in [("off", &o.off), ("on", &o.on)] {
            if let Some(s) = s {
                if s.counts != p.counts || !s.ok {
                    m.push(format!(
                        "suite with capture {what} differs ({} vs {})",
                        s.counts, p.counts
                    ));
                }
            }
        }
    }
    let (_, failed, _) = o.replay.totals();
    if failed > 0 {
        m.push(format!("{failed} replay failure(s)"));
    }
    if let Some(r) = ratio(o) {
        if r > MAX_SLOWDOWN {
            m.push(format!("capture on {r:.2}x off"));
        }
    }
    m
}

/// One crate's block of the report.
pub(super) fn report(o: &Outcome) -> String {
    let mut s = String::new();
    let sp = &o.spec;
    let _ = writeln!(s, "== {} {} ({})", sp.name, sp.version, sp.kind);
    let n = sp.fns.len();
    let compiled = o.fns.iter().filter(|f| f.compiled).count();
    let with_entry = |f: &FnSpec, r: &FnResult| r.compiled && f.entry().is_some();
    let listed = sp.fns.iter().zip(&o.fns).filter(|(f, r)| with_entry(f, r)).count();
    let rcomp = sp
        .fns
        .iter()
        .zip(&o.fns)
        .filter(|(f, r)| with_entry(f, r) && r.replay_compiled)
        .count();
    let none = sp.fns.iter().filter(|f| f.entry().is_none()).count();
    let _ = writeln!(
        s,
        "functions annotated / compiled: {n} / {compiled}   replay entries compiled: {rcomp} / {listed}{}",
        if none > 0 {
            format!(" ({none} fn(s) without a replay entry)")
        } else {
            String::new()
        }
    );
    for (f, r) in sp.fns.iter().zip(&o.fns) {
        if r.compiled && r.replay_compiled {
            continue;
        }
        let what = if !r.compiled {
            "attribute does not compile"
        } else {
            "replay entry does not compile"
        };
        let _ = writeln!(s, "  x {} [{}:{}]: {what}", f.label(), f.file, f.name);
        for e in &r.errors {
            let _ = writeln!(s, "      {}", e.short());
        }
        if let Some(k) = &f.known {
            let _ = writeln!(s, "      (known: {k})");
        }
    }
    for f in sp
        .fns
        .iter()
        .zip(&o.fns)
        .filter(|(f, r)| r.compiled && r.replay_compiled && f.known.is_some())
    {
        let _ = writeln!(
            s,
            "  + {} compiles now (spec marks it known: {})",
            f.0.label(),
            f.0.known.as_deref().unwrap_or("")
        );
    }
    for (f, r) in sp.fns.iter().zip(&o.fns).filter(|(_, r)| r.compiled) {
        let ReplayEntry::None(reason) = &f.replay else { continue };
        let calls = match r.stored_calls {
            Some(0) => "no calls stored: the suite did not call it".to_owned(),
            Some(c) => format!("{c} calls stored"),
            None => "calls not counted".to_owned(),
        };
        let _ = writeln!(
            s,
            "  - {} [{}:{}]: captured, not replayable: {reason} ({calls})",
            f.label(),
            f.file,
            f.name
        );
    }
    for e in &o.unblamed {
        let _ = writeln!(s, "  x (not attributable to one function) {}", e.short());
    }
    if let Some(f) = &o.fatal {
        let _ = writeln!(s, "STOPPED: {f}");
    }
    let suite = |x: &Option<Suite>| {
        x.as_ref().map_or("-".to_owned(), |x| {
            format!("{}{}", x.counts, if x.ok { "" } else { " (FAILED)" })
        })
    };
    let _ = writeln!(
        s,
        "suite passed/failed/ignored: pristine {} | capture off {} | capture on {}   {}",
        suite(&o.pristine),
        suite(&o.off),
        suite(&o.on),
        match (&o.pristine, &o.off, &o.on) {
            (Some(p), Some(a), Some(b)) if a.counts == p.counts && b.counts == p.counts && a.ok && b.ok =>
                format!("equal ({} test runs incl. doc tests)", p.counts.runs),
            (Some(_), Some(_), Some(_)) => "DIFFERENT".to_owned(),
            _ => String::new(),
        }
    );
    for (what, x) in [("pristine", &o.pristine), ("off", &o.off), ("on", &o.on)] {
        if let Some(x) = x {
            if !x.note.is_empty() {
                let _ = writeln!(s, "  {what}: {}", x.note.replace('\n', "\n    "));
            }
        }
    }
    if o.replay.ran {
        let (p, f, k) = o.replay.totals();
        let _ = writeln!(
            s,
            "replay: {} captures ({} calls, {:.1} MB in the store): {p} passed, {f} failed, {k} skipped; {} fn(s) without captures",
            p + f + k,
            o.store_calls,
            o.store_bytes as f64 / 1e6,
            o.replay.no_captures.len()
        );
        for (label, (p, f, k)) in &o.replay.per_fn {
            if o.replay.no_captures.contains(label) {
                continue;
            }
            let _ = writeln!(s, "    {label}: {p} passed, {f} failed, {k} skipped");
        }
        if !o.replay.no_captures.is_empty() {
            let _ = writeln!(s, "  no captures: {}", o.replay.no_captures.join(", "));
        }
        if !o.replay.skip_reasons.is_empty() {
            let _ = writeln!(s, "  skip reasons:");
            for ((label, reason), c) in &o.replay.skip_reasons {
                let _ = writeln!(s, "    {label} (x{c}): {reason}");
            }
        }
        for (name, msg) in o.replay.failures.iter().take(12) {
            let _ = writeln!(s, "  FAILED {name}: {}", clip(msg, 400));
        }
        if o.replay.failures.len() > 12 {
            let _ = writeln!(s, "  ... {} more failures", o.replay.failures.len() - 12);
        }
        if !o.replay.note.is_empty() {
            let _ = writeln!(s, "  {}", o.replay.note.replace('\n', "\n    "));
        }
    }
    if o.timed_runs > 0 {
        let _ = writeln!(
            s,
            "suite time (test binaries, doc tests excluded; median of {}): pristine {} | off {} | on {}{} | on/off {}{} (target <= {MAX_SLOWDOWN}x)",
            o.timed_runs,
            secs(o.times[0]),
            secs(o.times[1]),
            if o.on_stopped.is_some() { ">= " } else { "" },
            secs(o.times[2]),
            if o.on_stopped.is_some() { ">= " } else { "" },
            ratio(o).map_or("-".into(), |r| format!("{r:.2}x")),
        );
    }
    let m = misses(o);
    let _ = writeln!(
        s,
        "targets: {}",
        if m.is_empty() {
            "all met".to_owned()
        } else {
            format!("MISSED: {}", m.join("; "))
        }
    );
    s
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        s.chars().take(n).collect::<String>() + "…"
    }
}

/// The whole report: each crate's block, then the summary table; and
/// whether every target was met.
pub(super) fn summary(outcomes: &[Outcome], quick: bool, took: Duration) -> (String, bool) {
    let mut out = String::new();
    for o in outcomes {
        out.push_str(&report(o));
        out.push('\n');
    }
    let _ = writeln!(out, "| crate | fns annotated / compiled | suite pristine = off = on | replay passed / failed / skipped | time off / on | targets |");
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    let mut all_met = true;
    for o in outcomes {
        let m = misses(o);
        all_met &= m.is_empty();
        let (p, f, k) = o.replay.totals();
        let eq = match (&o.pristine, &o.off, &o.on) {
            (Some(a), Some(b), Some(c)) => format!(
                "{} {} {} {} {}",
                a.counts,
                if a.counts == b.counts { "=" } else { "≠" },
                b.counts,
                if a.counts == c.counts { "=" } else { "≠" },
                c.counts
            ),
            _ => "-".into(),
        };
        let _ = writeln!(
            out,
            "| {} {} | {} / {} | {eq} | {p} / {f} / {k} | {} / {} ({}) | {} |",
            o.spec.name,
            o.spec.version,
            o.fns.len(),
            o.fns.iter().filter(|f| f.compiled).count(),
            secs(o.times[1]),
            secs(o.times[2]),
            ratio(o).map_or("-".into(), |r| format!("{r:.2}x")),
            if m.is_empty() {
                "met".to_owned()
            } else {
                "MISSED".to_owned()
            }
        );
    }
    let _ = writeln!(
        out,
        "\n{} in {:.0}s{}; work dirs, compile errors and replay logs in {}",
        if all_met { "all targets met" } else { "targets missed" },
        took.as_secs_f64(),
        if quick { " (--quick: 1 timing run)" } else { "" },
        realworld_root().display()
    );
    (out, all_met)
}
