//! A capture site: one annotated function, its options from the attribute and
//! its settings resolved against environment and `configure()`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::codec::Codec;
use crate::config::{self, WriterMode, DEFAULT_RETENTION};
use crate::filter::Policy;
use crate::store::{Durability, LocalBackend, Retention, Store};

/// What the attribute said, as a `static` the macro emits next to the function.
#[derive(Debug)]
#[doc(hidden)]
pub struct SiteOptions {
    pub fn_name: &'static str,
    /// The trait a method implements (`Store<usize>`), from an `impl Trait
    /// for Type` block carrying `#[capture_args]`.
    pub trait_name: Option<&'static str>,
    pub module_path: &'static str,
    pub name: Option<&'static str>,
    pub crate_name: &'static str,
    pub crate_version: &'static str,
    pub manifest_dir: &'static str,
    pub path: Option<&'static str>,
    pub retention: Option<usize>,
    pub max_age_secs: Option<u64>,
    pub ignore: &'static [&'static str],
    pub redact: &'static [&'static str],
    pub allow: &'static [&'static str],
    pub sample: Option<f64>,
    /// `sample(ok = .., err = ..)`: the rate of failed calls.
    pub sample_err: Option<f64>,
    /// The return type is written `Result<..>`: the shim reports `Err` returns.
    pub fallible: bool,
    /// `sample_by = "args"` (Some(true)) or `"call"` (Some(false)).
    pub sample_by_args: Option<bool>,
    pub max_size: Option<u64>,
    pub ret: bool,
}

/// Settings of a site after resolving every layer.
#[derive(Debug)]
#[doc(hidden)]
pub struct Resolved {
    pub fn_id: String,
    pub store: Store,
    pub retention: Retention,
    pub ignore: Vec<String>,
    pub policy: Policy,
    pub sample: f64,
    /// The rate at which calls sampled out at their start are kept when
    /// they return `Err` or panic (0: they are not held at all).
    pub err_sample: f64,
    pub sample_by: config::SampleBy,
    pub ret: bool,
    pub nested: bool,
    pub writer: WriterMode,
    /// Whether finished calls are written as accepted captures.
    pub accept: config::Accept,
    /// No layer set `max_size`: the default limit applies, and arguments
    /// marked `hash(x = sampled)` (large buffers, stored on purpose) are exempt.
    pub size_defaulted: bool,
    generation: u64,
}

/// One annotated function's capture state.
#[doc(hidden)]
pub struct Site {
    /// This site's copy of whether capturing is on: read on every call
    /// from the user's crate at a fixed address (see [`config::SiteMode`]).
    mode: config::SiteMode,
    pub opts: &'static SiteOptions,
    /// The settings in force: a leaked `Arc` per configuration generation, so
    /// the hot path reads them with one atomic load and hands `&'static`
    /// references to the writer (no reference counting per call). Each
    /// `configure()` leaks one small `Resolved` per site used afterwards.
    resolved: AtomicPtr<Arc<Resolved>>,
}

impl Site {
    /// For the macro: `static SITE: Site = Site::new(&OPTS);`
    pub const fn new(opts: &'static SiteOptions) -> Site {
        Site {
            mode: config::SiteMode::new(),
            opts,
            resolved: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// Whether capturing is on for this site: [`config::enabled`], from the
    /// site's own copy (the macro's check on entry).
    #[inline(always)]
    pub fn enabled(&'static self) -> bool {
        self.mode.enabled()
    }

    /// Resolved settings (recomputed after `configure()`).
    pub fn resolved(&self, self_type: Option<&'static str>) -> Arc<Resolved> {
        self.slot(self_type).clone()
    }

    /// [`Site::resolved`] for the hot path: a reference that lives for ever.
    #[inline]
    pub(crate) fn resolved_static(&self, self_type: Option<&'static str>) -> &'static Resolved {
        self.slot(self_type)
    }

    fn slot(&self, self_type: Option<&'static str>) -> &'static Arc<Resolved> {
        let gen = config::generation();
        let current = self.resolved.load(Ordering::Acquire);
        // SAFETY: a non-null pointer was published below from `Box::leak`
        // and is never freed, so it is valid for `'static`.
        if let Some(r) = unsafe { current.as_ref() } {
            if r.generation == gen {
                return r;
            }
        }
        let fresh = Box::into_raw(Box::new(Arc::new(resolve(self.opts, self_type, gen))));
        match self
            .resolved
            .compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire)
        {
            // SAFETY: `fresh` came from `Box::into_raw` and is now published, never freed.
            Ok(_) => unsafe { &*fresh },
            Err(winner) => {
                // Another thread resolved first: use its settings, free ours
                // (never published, so nobody else holds it).
                // SAFETY: `fresh` is ours alone; `winner` is a published, leaked pointer.
                unsafe {
                    drop(Box::from_raw(fresh));
                    &*winner
                }
            }
        }
    }
}

/// `module::Type::method`, `module::<Type as Trait>::method` (a method of a
/// trait impl, so that `run` of two traits, or of a trait and the type
/// itself, never share an id), or `module::fn`; or the `name` given.
///
/// ```
/// # use capture_runtime::__private::SiteOptions;
/// # fn opts(trait_name: Option<&'static str>) -> SiteOptions { SiteOptions {
/// #     fn_name: "run", trait_name, module_path: "shop::jobs", name: None, crate_name: "shop",
/// #     crate_version: "0.1.0", manifest_dir: ".", path: None, retention: None,
/// #     max_age_secs: None, ignore: &[], redact: &[], allow: &[], sample: None,
/// #     sample_err: None, fallible: false, sample_by_args: None, max_size: None, ret: false } }
/// use capture_runtime::__private::function_id;
/// let ty = Some("shop::jobs::Worker<u8>");
/// assert_eq!(function_id(&opts(None), ty), "shop::jobs::Worker::run");
/// assert_eq!(function_id(&opts(Some("Job")), ty), "shop::jobs::<Worker as Job>::run");
/// assert_eq!(function_id(&opts(None), None), "shop::jobs::run");
/// ```
pub fn function_id(opts: &SiteOptions, self_type: Option<&str>) -> String {
    if let Some(name) = opts.name {
        return if name.contains("::") {
            name.to_owned()
        } else {
            format!("{}::{name}", opts.module_path)
        };
    }
    match (self_type, opts.trait_name) {
        (Some(t), Some(tr)) => format!(
            "{}::<{} as {tr}>::{}",
            opts.module_path,
            short_type_name(t),
            opts.fn_name
        ),
        (Some(t), None) => format!("{}::{}::{}", opts.module_path, short_type_name(t), opts.fn_name),
        (None, _) => format!("{}::{}", opts.module_path, opts.fn_name),
    }
}

/// `shop::Service<u32>` -> `Service`.
pub fn short_type_name(full: &str) -> &str {
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

fn resolve(opts: &SiteOptions, self_type: Option<&'static str>, generation: u64) -> Resolved {
    let env = config::env_config();
    let prog = config::programmatic().unwrap_or_default();
    let production = env.production.or(prog.production).unwrap_or(false);
    let preset = if production {
        config::Config::production()
    } else {
        config::Config::default()
    };
    let manifest = Path::new(opts.manifest_dir);
    let root: PathBuf = match (opts.path, &env.dir, &prog.dir) {
        (Some(p), _, _) => manifest.join(p),
        (None, Some(d), _) => manifest.join(d),
        (None, None, Some(d)) => manifest.join(d),
        (None, None, None) => manifest.join("captures"),
    };
    let codec = env.format.or(prog.format).unwrap_or_default();
    // `s3://bucket/prefix` and other URLs name an object store, not a folder.
    let url = [opts.path.map(Path::new), env.dir.as_deref(), prog.dir.as_deref()]
        .into_iter()
        .flatten()
        .next()
        .and_then(Path::to_str)
        .filter(|s| crate::store::object::is_url(s));
    let durability = prog.durability.unwrap_or_default();
    let retention = Retention {
        max_count: Some(
            opts.retention
                .or(env.retention)
                .or(prog.retention)
                .or(preset.retention)
                .unwrap_or(DEFAULT_RETENTION),
        ),
        max_age: opts
            .max_age_secs
            .map(Duration::from_secs)
            .or(env.max_age)
            .or(prog.max_age),
    };
    let mut ignore: Vec<String> = opts.ignore.iter().map(|s| s.to_string()).collect();
    ignore.extend(env.ignore_args.iter().cloned());
    ignore.extend(prog.ignore_args.iter().cloned());
    let mut policy = prog.policy.clone().unwrap_or_default();
    if let Some(d) = env.detectors.or(prog.detectors).or(preset.detectors) {
        policy = policy.detectors(d);
    }
    policy = config::without_env_filters(policy);
    for r in opts.redact {
        policy = policy.redact_name(r);
    }
    for a in opts.allow {
        policy = policy.allow_name(a);
    }
    let set_size = opts.max_size.or(env.max_size).or(prog.max_size).or(preset.max_size);
    policy = policy.max_size(Some(set_size.unwrap_or(crate::config::DEFAULT_MAX_SIZE)));
    policy = policy.max_depth(env.max_depth.or(prog.max_depth));
    let sample = opts
        .sample
        .or(env.sample_rate)
        .or(prog.sample_rate)
        .or(preset.sample_rate)
        .unwrap_or(1.0);
    Resolved {
        fn_id: function_id(opts, self_type),
        store: match url {
            Some(url) => crate::store::object::shared_url_store(url, codec),
            None => shared_store(root, codec, durability, env.quota.or(prog.quota).or(preset.quota)),
        },
        retention,
        ignore,
        policy,
        sample,
        // Failures are held only where they can be told: a function that
        // returns a `Result`, or one whose attribute names an `err` rate
        // (any function can panic, but holding every call of every sampled
        // function would encode all of them).
        // `sample = 0` alone records nothing, failures included.
        err_sample: match opts.sample_err {
            Some(rate) => rate,
            None if opts.fallible && sample > 0.0 => prog.err_sample_rate.unwrap_or(1.0),
            None => 0.0,
        },
        sample_by: match opts.sample_by_args {
            Some(true) => config::SampleBy::Args,
            Some(false) => config::SampleBy::Call,
            None => env
                .sample_by
                .or(prog.sample_by)
                .or(preset.sample_by)
                .unwrap_or_default(),
        },
        ret: opts.ret,
        nested: prog.nested.unwrap_or(true),
        writer: prog.writer.or(preset.writer).unwrap_or_default(),
        accept: env.accept.or(prog.accept).unwrap_or_default(),
        size_defaulted: set_size.is_none(),
        generation,
    }
}

/// Store handles shared by every site writing to the same folder, codec, durability and quota.
type StoreKey = (PathBuf, Codec, Durability, Option<u64>);
static STORES: Mutex<Option<HashMap<StoreKey, Store>>> = Mutex::new(None);

/// One `Store` per folder and settings, so sites writing to the same store
/// share its quota counter.
fn shared_store(root: PathBuf, codec: Codec, durability: Durability, quota: Option<u64>) -> Store {
    let mut guard = STORES.lock().unwrap_or_else(|e| e.into_inner());
    let map = guard.get_or_insert_with(HashMap::new);
    map.entry((root.clone(), codec, durability, quota))
        .or_insert_with(|| {
            let store =
                Store::with_backend(Arc::new(LocalBackend::new(root).with_durability(durability))).with_codec(codec);
            match quota {
                Some(q) => store.with_quota(q),
                None => store,
            }
        })
        .clone()
}

/// The store a capture site of the crate at `manifest_dir` writes to (the
/// same shared handle, resolved through the same layers), for callers with
/// no site of their own: checkpoints.
pub(crate) fn store_for_manifest(manifest_dir: &'static str) -> Store {
    let opts = SiteOptions {
        fn_name: "checkpoint",
        trait_name: None,
        module_path: "",
        name: None,
        crate_name: "",
        crate_version: "",
        manifest_dir,
        path: None,
        retention: None,
        max_age_secs: None,
        ignore: &[],
        redact: &[],
        allow: &[],
        sample: None,
        sample_err: None,
        fallible: false,
        sample_by_args: None,
        max_size: None,
        ret: false,
    };
    resolve(&opts, None, config::generation()).store
}
