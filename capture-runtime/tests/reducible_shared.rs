//! Shared pointers: `Rc`/`Arc` sharing survives capture and rebuild (inside
//! one value and across the arguments of one call), `Weak` back edges and
//! cycles capture without recursion blow-up and rebuild exactly.

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::sync::{Arc, OnceLock};

use capture_runtime::reduce::{RebuildCtx, RebuildError};
use capture_runtime::value::{EncodeCtx, Marker, Value};
use capture_runtime::{capture_args, CaptureLoader, Codec, Reducible};

fn to_disk_and_back(v: &Value) -> Value {
    let bytes = Codec::MsgPack.encode(v).unwrap();
    Codec::MsgPack.decode(&bytes).unwrap()
}

fn roundtrip<T: Reducible>(v: &T) -> Result<T, RebuildError> {
    let value = to_disk_and_back(&v.reduce(&mut EncodeCtx::plain()).unwrap());
    T::rebuild(&value, &mut RebuildCtx::new())
}

#[derive(Reducible, Debug)]
struct Customer {
    name: String,
}

#[derive(Reducible)]
struct Order {
    billing: Rc<Customer>,
    shipping: Rc<Customer>,
}

#[test]
fn rc_sharing_inside_one_value_is_preserved() {
    let c = Rc::new(Customer { name: "ada".into() });
    let o = Order {
        billing: c.clone(),
        shipping: c,
    };
    let v = o.reduce(&mut EncodeCtx::plain()).unwrap();
    let refs: Vec<_> = v
        .markers()
        .into_iter()
        .filter(|(_, m)| matches!(m, Marker::Ref(0)))
        .collect();
    assert_eq!(refs.len(), 1, "the second pointer is a reference: {v:?}");
    let back = roundtrip(&o).unwrap();
    assert!(Rc::ptr_eq(&back.billing, &back.shipping));
    assert_eq!(back.billing.name, "ada");

    let apart = Order {
        billing: Rc::new(Customer { name: "a".into() }),
        shipping: Rc::new(Customer { name: "a".into() }),
    };
    let back = roundtrip(&apart).unwrap();
    assert!(
        !Rc::ptr_eq(&back.billing, &back.shipping),
        "distinct pointers stay distinct"
    );
}

/// The Rust book's tree: children own, parents are weak.
#[derive(Reducible)]
struct TreeNode {
    value: i32,
    parent: RefCell<Weak<TreeNode>>,
    children: RefCell<Vec<Rc<TreeNode>>>,
}

fn node(value: i32) -> Rc<TreeNode> {
    Rc::new(TreeNode {
        value,
        parent: RefCell::new(Weak::new()),
        children: RefCell::new(vec![]),
    })
}

fn adopt(parent: &Rc<TreeNode>, child: Rc<TreeNode>) {
    *child.parent.borrow_mut() = Rc::downgrade(parent);
    parent.children.borrow_mut().push(child);
}

#[test]
fn rc_refcell_weak_cycles_rebuild_exactly() {
    let root = node(1);
    for v in 2..5 {
        let c = node(v);
        adopt(&c, node(v * 10));
        adopt(&root, c);
    }
    let back = roundtrip(&root).unwrap();
    assert_eq!(back.value, 1);
    assert!(back.parent.borrow().upgrade().is_none(), "the root has no parent");
    let kids = back.children.borrow();
    assert_eq!(kids.iter().map(|k| k.value).collect::<Vec<_>>(), [2, 3, 4]);
    for k in kids.iter() {
        let p = k.parent.borrow().upgrade().expect("the parent is alive");
        assert!(Rc::ptr_eq(&p, &back), "a child's parent is the rebuilt root itself");
        let grandchild = &k.children.borrow()[0];
        assert!(Rc::ptr_eq(&grandchild.parent.borrow().upgrade().unwrap(), k));
    }
}

#[derive(Reducible)]
struct Link {
    id: u32,
    next: Option<Rc<RefCell<Link>>>,
}

#[test]
fn a_strong_cycle_captures_without_blowup_and_says_why_it_cannot_rebuild() {
    let a = Rc::new(RefCell::new(Link { id: 1, next: None }));
    let b = Rc::new(RefCell::new(Link {
        id: 2,
        next: Some(a.clone()),
    }));
    a.borrow_mut().next = Some(b.clone());
    let v = a.reduce(&mut EncodeCtx::plain()).unwrap();
    assert!(v.markers().iter().any(|(_, m)| **m == Marker::Ref(0)), "{v:?}");

    // The error leaves `Rc::new_cyclic` by unwinding, but without running the
    // panic hook (no panic message, nothing for crash reporters): count the
    // hook's calls on this thread.
    thread_local!(static HOOK_CALLS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) });
    let previous = std::sync::Arc::new(std::panic::take_hook());
    let chained = previous.clone();
    std::panic::set_hook(Box::new(move |info| {
        HOOK_CALLS.with(|c| c.set(c.get() + 1));
        chained(info)
    }));
    let err = <Rc<RefCell<Link>>>::rebuild(&to_disk_and_back(&v), &mut RebuildCtx::new())
        .err()
        .expect("a strong cycle cannot be rebuilt");
    let _ = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| previous(info)));
    assert!(err.to_string().contains("Weak"), "{err}");
    assert_eq!(HOOK_CALLS.with(|c| c.get()), 0, "the panic hook never ran");
    a.borrow_mut().next = None; // break the cycle so the test does not leak
}

#[test]
fn a_dangling_weak_rebuilds_dangling() {
    #[derive(Reducible)]
    struct Holder {
        w: Weak<String>,
    }
    let h = Holder {
        w: Rc::downgrade(&Rc::new("gone".to_string())),
    };
    assert!(roundtrip(&h).unwrap().w.upgrade().is_none());
}

#[test]
fn arc_sharing_is_preserved() {
    #[derive(Reducible)]
    struct Pool {
        a: Arc<Vec<u8>>,
        b: Arc<Vec<u8>>,
        w: std::sync::Weak<Vec<u8>>,
    }
    let shared = Arc::new(vec![1, 2]);
    let p = Pool {
        a: shared.clone(),
        b: shared.clone(),
        w: Arc::downgrade(&shared),
    };
    let back = roundtrip(&p).unwrap();
    assert!(Arc::ptr_eq(&back.a, &back.b));
    assert!(Arc::ptr_eq(&back.w.upgrade().unwrap(), &back.a));
}

fn store() -> &'static std::path::Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        capture_runtime::configure(capture_runtime::Config {
            enabled: Some(true),
            dir: Some(d.path().to_path_buf()),
            ..Default::default()
        });
        d
    })
    .path()
}

#[capture_args]
fn ship(billing: &Rc<Customer>, shipping: Rc<Customer>) -> usize {
    billing.name.len() + shipping.name.len()
}

#[test]
fn two_arguments_pointing_to_one_value_rebuild_pointing_to_one_value() {
    let dir = store();
    let c = Rc::new(Customer { name: "grace".into() });
    assert_eq!(ship(&c, c.clone()), 10);
    capture_runtime::flush();

    let call = CaptureLoader::new(dir).latest("ship").unwrap();
    // The second argument was stored as a reference into the first.
    assert_eq!(call.value("shipping").unwrap(), Value::Marker(Marker::Ref(0)));
    // One context for the call, arguments in declaration order.
    let mut cx = RebuildCtx::new();
    let billing: Rc<Customer> = call.rebuild_arg("billing", &mut cx).unwrap();
    let shipping: Rc<Customer> = call.rebuild_arg("shipping", &mut cx).unwrap();
    assert!(Rc::ptr_eq(&billing, &shipping));
    assert_eq!(ship(&billing, shipping), 10, "replays with the same sharing");
}
