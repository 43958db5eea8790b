//! The store's reader on arbitrary bytes: a file of any kind, framed or
//! not, checked and decoded as a call record, a value and the types replay
//! asks for; then the same bytes as a record file in a store, loaded the
//! way tests load captures. Nothing may panic, hang or allocate without
//! bound; anything that is not a valid capture is a typed error.
//!
//! `cargo +nightly fuzz run loader` (see docs/format.md).

#![no_main]

use std::path::Path;

use capture_runtime::__private::Value;
use capture_runtime::codec::{frame, unframe, Codec, FileKind};
use capture_runtime::record::CallRecord;
use capture_runtime::CaptureLoader;
use libfuzzer_sys::fuzz_target;

const KINDS: [FileKind; 4] = [FileKind::Object, FileKind::Call, FileKind::Cache, FileKind::Checkpoint];

fn decode_all(codec: Codec, body: &[u8]) {
    let _ = codec.decode::<CallRecord>(body);
    let _ = codec.decode::<Value>(body);
    let _ = codec.decode::<Vec<String>>(body);
    let _ = codec.decode::<(u64, String, Option<f64>)>(body);
}

fuzz_target!(|data: &[u8]| {
    // As a whole file.
    for kind in KINDS {
        if let Ok(un) = unframe(Path::new("fuzz"), data, kind) {
            decode_all(un.codec, un.body);
        }
    }
    // As a body behind a valid header (the hash is right, the content hostile).
    for codec in [Codec::MsgPack, Codec::Json] {
        decode_all(codec, data);
        let framed = frame(codec, FileKind::Call, data);
        let un = unframe(Path::new("fuzz"), &framed, FileKind::Call).expect("a frame reads back");
        assert_eq!(un.body, data);
    }
    // As a call record in a store, loaded as a test would.
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("calls/fz/f");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("00000000000000001000-0000000007-000000000001-0000000000000001.call"), data).unwrap();
    let framed = frame(Codec::MsgPack, FileKind::Call, data);
    std::fs::write(folder.join("00000000000000002000-0000000007-000000000002-0000000000000001.call"), framed).unwrap();
    if let Ok(loaded) = CaptureLoader::new(dir.path()).load_checked("fz::f") {
        for call in loaded.calls {
            for name in call.arg_names() {
                let _ = call.value(name);
            }
            let _ = call.ret::<Value>();
        }
    }
});
