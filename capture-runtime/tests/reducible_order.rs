//! Content ids never depend on a hasher: maps whose values share `Rc`s, maps
//! whose key order disagrees with the canonical order, and `HashSet`s inside
//! serde types (through `canonical::sorted_set`; without it, the documented
//! limit).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;
use std::sync::OnceLock;

use capture_runtime::record::Slot;
use capture_runtime::value::{to_value, EncodeCtx, Value};
use capture_runtime::{capture_args, CaptureLoader, Codec, ContentId, RebuildCtx, Reducible};
use serde::{Deserialize, Serialize};

fn store() -> &'static std::path::Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        capture_runtime::configure(capture_runtime::Config {
            enabled: Some(true),
            retention: Some(100),
            dir: Some(d.path().to_path_buf()),
            ..Default::default()
        });
        d
    })
    .path()
}

fn id_of(v: &Value) -> ContentId {
    ContentId::of(&Codec::MsgPack.encode(v).unwrap())
}

#[derive(Reducible, Debug, PartialEq)]
struct Customer {
    name: String,
}

/// 32 keys over 4 shared customers (key `k{i}` -> customer `i % 4`), in a map
/// with a fresh random hasher, filled in an order that depends on `round`.
fn customers_map(people: &[Rc<Customer>], round: usize) -> HashMap<String, Rc<Customer>> {
    let mut keys: Vec<usize> = (0..32).collect();
    keys.rotate_left((round * 5) % 32);
    let mut m = HashMap::new();
    for i in keys {
        m.insert(format!("k{i:02}"), people[i % 4].clone());
    }
    m
}

fn people() -> Vec<Rc<Customer>> {
    (0..4).map(|i| Rc::new(Customer { name: format!("c{i}") })).collect()
}

#[test]
fn a_map_of_shared_pointers_has_one_id_whatever_the_hasher_and_rebuilds_its_sharing() {
    let people = people();
    let mut orders = HashSet::new();
    let mut ids = HashSet::new();
    let mut last = None;
    for round in 0..8 {
        let m = customers_map(&people, round);
        orders.insert(m.keys().cloned().collect::<Vec<_>>());
        let v = m.reduce(&mut EncodeCtx::plain()).unwrap();
        ids.insert(id_of(&v));
        last = Some(v);
    }
    assert!(orders.len() > 1, "the test needs maps that iterate differently");
    assert_eq!(ids.len(), 1, "one id whatever the iteration order");

    // Read back from bytes, as replay does; every definition precedes its references.
    let bytes = Codec::MsgPack.encode(&last.unwrap()).unwrap();
    let stored: Value = Codec::MsgPack.decode(&bytes).unwrap();
    let back = <HashMap<String, Rc<Customer>>>::rebuild(&stored, &mut RebuildCtx::new()).unwrap();
    assert_eq!(back.len(), 32);
    for i in 0..32 {
        let here = &back[&format!("k{i:02}")];
        assert_eq!(here.name, format!("c{}", i % 4));
        for j in 0..32 {
            let there = &back[&format!("k{j:02}")];
            assert_eq!(Rc::ptr_eq(here, there), i % 4 == j % 4, "k{i} / k{j}");
        }
    }
}

#[capture_args]
fn route(stops: &HashMap<String, Rc<Customer>>) -> usize {
    stops.len()
}

#[test]
fn captured_maps_of_shared_pointers_store_one_object_whatever_the_hasher() {
    let dir = store();
    let people = people();
    for round in 0..8 {
        route(&customers_map(&people, round));
    }
    capture_runtime::flush();
    let calls = CaptureLoader::new(dir).load_all("route").unwrap();
    // The background writer writes a call identical to the function's
    // previous one (same encoded arguments) once: 8 calls of maps whose
    // hashers order them differently coalesce only if they encode alike.
    assert_eq!(calls.len(), 1, "8 calls of equal maps, encoded alike");
    let ids: HashSet<ContentId> = calls
        .iter()
        .map(|c| match &c.arg_record("stops").unwrap().slot {
            Slot::Stored { id, .. } => *id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids.len(), 1, "8 captures of equal maps: one stored object");
    let back: HashMap<String, Rc<Customer>> = calls[0].rebuild_arg("stops", &mut RebuildCtx::new()).unwrap();
    assert!(Rc::ptr_eq(&back["k00"], &back["k04"]));
    assert!(!Rc::ptr_eq(&back["k00"], &back["k01"]));
}

/// A key whose `Ord` is the reverse of its encoding's canonical order.
#[derive(Serialize, Deserialize, PartialEq, Eq, Debug, Clone, Copy)]
struct Rev(u32);
impl Ord for Rev {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.0.cmp(&self.0)
    }
}
impl PartialOrd for Rev {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

#[test]
fn a_btree_map_whose_order_disagrees_with_the_canonical_one_still_rebuilds_its_sharing() {
    let shared = Rc::new(Customer { name: "ada".into() });
    let m: BTreeMap<Rev, Rc<Customer>> = (1..=3).map(|i| (Rev(i), shared.clone())).collect();
    assert_eq!(m.keys().next(), Some(&Rev(3)), "iterates 3, 2, 1");
    let v = m.reduce(&mut EncodeCtx::plain()).unwrap();
    let Value::Map(entries) = &v else { panic!("{v:?}") };
    assert_eq!(
        entries[0].0,
        Value::Newtype("Rev".into(), Box::new(Value::U64(1))),
        "written in canonical order"
    );
    let back = <BTreeMap<Rev, Rc<Customer>>>::rebuild(&v, &mut RebuildCtx::new()).unwrap();
    assert!(Rc::ptr_eq(&back[&Rev(1)], &back[&Rev(3)]));
    assert_eq!(back[&Rev(2)].name, "ada");
}

/// A serde type holding a set, written through the provided adapter.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub struct Tagged {
    id: u32,
    #[serde(with = "capture_runtime::canonical::sorted_set")]
    tags: HashSet<String>,
}

/// The same without the adapter: serde hands the set over in hash order.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub struct Unsorted {
    id: u32,
    tags: HashSet<String>,
}

fn tags() -> HashSet<String> {
    (0..48).map(|i| format!("tag-{i}")).collect()
}

#[capture_args]
fn tagged(t: &Tagged) -> usize {
    t.tags.len()
}

#[capture_args]
fn unsorted(t: &Unsorted) -> usize {
    t.tags.len()
}

fn stored_ids(function: &str) -> Vec<ContentId> {
    CaptureLoader::new(store())
        .load_all(function)
        .unwrap()
        .iter()
        .map(|c| match &c.arg_record("t").unwrap().slot {
            Slot::Stored { id, .. } => *id,
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn a_hash_set_in_a_serde_type_is_canonical_through_sorted_set() {
    store();
    let mut orders = HashSet::new();
    let mut tree_ids = HashSet::new();
    for _ in 0..8 {
        let t = Tagged { id: 7, tags: tags() };
        orders.insert(t.tags.iter().cloned().collect::<Vec<_>>());
        tree_ids.insert(id_of(&to_value(&t, &mut EncodeCtx::plain()).unwrap()));
        tagged(&t);
    }
    assert!(orders.len() > 1, "the test needs sets that iterate differently");
    assert_eq!(tree_ids.len(), 1, "the value tree is canonical");
    capture_runtime::flush();
    let ids: HashSet<ContentId> = stored_ids("tagged").into_iter().collect();
    assert_eq!(ids.len(), 1, "the stored bytes (direct MessagePack) are canonical");
    let call = CaptureLoader::new(store()).latest("tagged").unwrap();
    assert_eq!(call.arg::<Tagged>("t").unwrap(), Tagged { id: 7, tags: tags() });
}

/// The documented limit: without the adapter, a serde type's `HashSet` is
/// written in iteration order, so differently ordered sets get different ids.
#[test]
fn without_the_adapter_a_serde_hash_set_is_written_in_iteration_order() {
    store();
    let mut by_order: HashMap<Vec<String>, usize> = HashMap::new();
    for _ in 0..8 {
        let u = Unsorted { id: 7, tags: tags() };
        let n = by_order.len();
        by_order.entry(u.tags.iter().cloned().collect()).or_insert(n);
        unsorted(&u);
    }
    capture_runtime::flush();
    let ids: HashSet<ContentId> = stored_ids("unsorted").into_iter().collect();
    assert!(by_order.len() > 1, "the test needs sets that iterate differently");
    assert_eq!(
        ids.len(),
        by_order.len(),
        "one id per iteration order: use canonical::sorted_set, a BTreeSet or derive Reducible"
    );
}
