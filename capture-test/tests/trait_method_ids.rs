//! A type with methods of the same name from two traits, and from itself:
//! each is captured under its own id (`module::<Type as Trait>::run`,
//! `module::Type::run`), replayed by its own entry, and memoized under the
//! same id rules.

mod common;

use capture_runtime::capture_args;
use capture_test::replay_outcomes;
use common::{all_passed, init};
use serde::{Deserialize, Serialize};

pub trait Fast {
    fn run(&self, n: u32) -> String;
}

pub trait Slow {
    fn run(&self, n: u32) -> String;
}

pub trait Convert<T> {
    fn convert(&self, x: T) -> u64;
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub name: String,
}

#[capture_args]
impl Job {
    #[capture_args(self, ret)]
    pub fn run(&self, n: u32) -> String {
        format!("inherent {} {n}", self.name)
    }
}

#[capture_args]
impl Fast for Job {
    #[capture_args(self, ret)]
    fn run(&self, n: u32) -> String {
        format!("fast {} {n}", self.name)
    }
}

#[capture_args]
impl Slow for Job {
    #[capture_args(self, ret)]
    fn run(&self, n: u32) -> String {
        format!("slow {} {n}", self.name)
    }
}

#[capture_args]
impl Convert<u8> for Job {
    #[capture_args(self, ret, cache)]
    fn convert(&self, x: u8) -> u64 {
        x as u64 * 2
    }
}

#[test]
fn same_named_methods_get_distinct_ids_and_replay_separately() {
    let store = init();
    let job = Job { name: "j".into() };
    assert_eq!(job.run(1), "inherent j 1");
    assert_eq!(Fast::run(&job, 2), "fast j 2");
    assert_eq!(Slow::run(&job, 3), "slow j 3");

    let loader = capture_runtime::CaptureLoader::new(store);
    let ids = loader.functions().unwrap();
    for id in [
        "trait_method_ids::Job::run",
        "trait_method_ids::<Job as Fast>::run",
        "trait_method_ids::<Job as Slow>::run",
    ] {
        assert!(ids.iter().any(|i| i == id), "{id} not in {ids:?}");
        assert_eq!(loader.load_all(id).unwrap().len(), 1, "{id}");
    }
    // A suffix naming the trait picks one; the bare name is ambiguous.
    let fast = loader.load_all("<Job as Fast>::run").unwrap();
    assert_eq!(fast[0].arg::<u32>("n").unwrap(), 2);
    assert!(loader.load_all("run").is_err());

    let outcomes = replay_outcomes!(Job::run => ret);
    assert_eq!(all_passed(&outcomes), 1);
    assert!(outcomes[0].0.starts_with("Job::run::"), "{}", outcomes[0].0);
    let outcomes = replay_outcomes!(<Job as Fast>::run => |n, out| assert_eq!((*n, out.as_str()), (2, "fast j 2")));
    assert_eq!(all_passed(&outcomes), 1);
    assert!(outcomes[0].0.starts_with("<Job as Fast>::run::"), "{}", outcomes[0].0);
    let outcomes = replay_outcomes!(<Job as Slow>::run => |n, out| assert_eq!((*n, out.as_str()), (3, "slow j 3")));
    assert_eq!(all_passed(&outcomes), 1);
}

#[test]
fn cache_sites_use_the_trait_qualified_id() {
    let store = init();
    let job = Job { name: "c".into() };
    assert_eq!(job.convert(4), 8);
    assert_eq!(job.convert(4), 8);
    let cached = std::fs::read_dir(store.join("cache/trait_method_ids"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect::<Vec<_>>();
    assert!(
        cached
            .iter()
            .any(|d| d == &capture_runtime::store::layout::escape_segment("<Job as Convert<u8>>")),
        "{cached:?}"
    );
    let loader = capture_runtime::CaptureLoader::new(store);
    assert!(loader
        .load_all("trait_method_ids::<Job as Convert<u8>>::convert")
        .is_ok());
    all_passed(&replay_outcomes!(<Job as Convert<u8>>::convert => ret));
}
