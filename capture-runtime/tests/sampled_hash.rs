//! `#[capture_args(hash(arg = sampled))]`: a large numeric buffer seen before
//! is recorded as the object it was first stored as, without encoding it
//! again; a change in the sampled bytes (the middle of the buffer among them)
//! is a new object. The documented trade-off is asserted too: a change outside
//! the sampled bytes is recorded as the earlier buffer.

mod common;

use capture_runtime::hash::sampled_hash;
use capture_runtime::record::Slot;
use capture_runtime::{capture_args, ContentId};
use common::{loader, store};

#[capture_args(hash(frame = sampled), retention = 100)]
fn mean(frame: &[f64], label: &str) -> f64 {
    frame.iter().sum::<f64>() / frame.len() as f64 + label.len() as f64
}

/// `round` tells the calls apart: identical calls are written once.
#[capture_args(hash(frame = sampled), retention = 100)]
fn owned_mean(frame: Vec<f64>, round: u32) -> f64 {
    let _ = round;
    frame.iter().sum::<f64>() / frame.len() as f64
}

/// The object id and encoded length recorded for `arg` by the newest call of `function`.
fn recorded(function: &str, arg: &str) -> (ContentId, u64) {
    let calls = loader().load_all(function).unwrap();
    let newest = calls.last().expect("a capture");
    let a = newest.arg_record(arg).unwrap();
    match &a.slot {
        Slot::Stored { id, len } => (*id, *len),
        other => panic!("{arg} not stored: {other:?}"),
    }
}

/// An index whose change leaves the sampled hash as it is (outside every sampled region).
fn unsampled_index(v: &[f64]) -> usize {
    let base = sampled_hash(v);
    let mut probe = v.to_vec();
    (v.len() / 3..v.len())
        .find(|&i| {
            probe[i] += 1.0;
            let same = sampled_hash(&probe) == base;
            probe[i] -= 1.0;
            same
        })
        .expect("an unsampled element")
}

#[test]
fn repeated_buffers_reuse_their_object_and_changes_in_sampled_bytes_do_not() {
    store();
    let n = 1 << 20; // 8 MiB of f64
    let mut frame: Vec<f64> = (0..n).map(|i| i as f64).collect();
    mean(&frame, "a");
    capture_runtime::flush();
    let (first, len) = recorded("sampled_hash::mean", "frame");
    assert!(len > 8 * n as u64, "the whole buffer is stored: {len} bytes");
    let stored = capture_runtime::Store::open(store()).get_object(&first).unwrap().1;
    assert_eq!(stored.len() as u64, len);

    // The same buffer again: the same object.
    mean(&frame, "b");
    capture_runtime::flush();
    assert_eq!(recorded("sampled_hash::mean", "frame").0, first);

    // Outside the sampled bytes: recorded as the earlier buffer (the trade-off).
    let i = unsampled_index(&frame);
    frame[i] += 1.0;
    mean(&frame, "c");
    capture_runtime::flush();
    assert_eq!(
        recorded("sampled_hash::mean", "frame").0,
        first,
        "an unsampled change is not seen (documented trade-off)"
    );
    frame[i] -= 1.0;

    // A change in the middle of the buffer is seen: a new object, stored in full.
    frame[n / 2] += 1.0;
    mean(&frame, "d");
    capture_runtime::flush();
    let (middle, middle_len) = recorded("sampled_hash::mean", "frame");
    assert_ne!(middle, first, "a change in the middle is a new object");
    assert_eq!(middle_len, len);
    let call = loader().load_all("sampled_hash::mean").unwrap().pop().unwrap();
    assert_eq!(call.arg::<Vec<f64>>("frame").unwrap()[n / 2], (n / 2) as f64 + 1.0);

    // A different length is a new object too.
    mean(&frame[..n - 1], "e");
    capture_runtime::flush();
    assert_ne!(recorded("sampled_hash::mean", "frame").0, middle);
}

#[test]
fn owned_buffers_take_the_same_path_and_replay_their_content() {
    store();
    let frame: Vec<f64> = (0..5000).map(|i| i as f64 / 2.0).collect();
    owned_mean(frame.clone(), 1);
    owned_mean(frame.clone(), 2);
    capture_runtime::flush();
    let calls = loader().load_all("sampled_hash::owned_mean").unwrap();
    assert_eq!(calls.len(), 2);
    let ids: Vec<_> = calls
        .iter()
        .map(|c| c.arg_record("frame").unwrap().slot.clone())
        .collect();
    assert_eq!(ids[0], ids[1]);
    assert_eq!(calls[1].arg::<Vec<f64>>("frame").unwrap(), frame);
}

#[cfg(feature = "ndarray")]
mod arrays {
    use super::*;
    use ndarray::Array2;

    #[capture_args(hash(image = sampled))]
    fn brightness(image: &Array2<f32>) -> f32 {
        image.mean().unwrap_or(0.0)
    }

    #[test]
    fn ndarray_arguments_are_captured_replayed_and_sampled() {
        store();
        let mut image = Array2::from_shape_fn((512, 256), |(i, j)| (i ^ j) as f32);
        brightness(&image);
        brightness(&image);
        capture_runtime::flush();
        let (first, _) = recorded("sampled_hash::arrays::brightness", "image");
        let call = loader()
            .load_all("sampled_hash::arrays::brightness")
            .unwrap()
            .pop()
            .unwrap();
        assert_eq!(call.arg::<Array2<f32>>("image").unwrap(), image);
        image[[256, 128]] += 1.0; // the middle element
        brightness(&image);
        capture_runtime::flush();
        assert_ne!(recorded("sampled_hash::arrays::brightness", "image").0, first);
    }
}

#[capture_args(hash(frame = sampled), retention = 100)]
fn peak(frame: &[f64], round: u32) -> f64 {
    let _ = round; // tells the calls apart: identical calls are written once
    frame.iter().cloned().fold(f64::MIN, f64::max)
}

#[test]
fn a_reused_object_that_left_the_store_is_reported_and_stored_again() {
    store();
    let frame: Vec<f64> = (0..100_000).map(|i| (i % 977) as f64).collect();
    peak(&frame, 1);
    capture_runtime::flush();
    let (id, _) = recorded("sampled_hash::peak", "frame");
    // As `gc` would, once nothing referred to it.
    let hex = id.to_hex();
    let path = store().join("objects").join(&hex[..2]).join(&hex[2..4]).join(&hex[4..]);
    std::fs::remove_file(&path).expect("the object file");
    // A gc announces itself by raising the store's gc epoch, so writers
    // stop trusting what they remember the store holds.
    capture_runtime::Store::open(store()).backend().bump_gc_epoch().unwrap();

    peak(&frame, 2);
    capture_runtime::flush();
    let calls = loader().load_all("sampled_hash::peak").unwrap();
    let slot = &calls.last().unwrap().arg_record("frame").unwrap().slot;
    match slot {
        Slot::Failed { error } => assert!(error.contains("left the store"), "{error}"),
        other => panic!("expected a failure saying the reused object is gone, got {other:?}"),
    }

    // The next call encodes the buffer again, and the object is back.
    peak(&frame, 3);
    capture_runtime::flush();
    assert_eq!(recorded("sampled_hash::peak", "frame").0, id);
    assert!(path.exists());
}
