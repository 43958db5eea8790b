//! Where the caller's time goes: the value tree, the encoding, the rest.
use std::hint::black_box;
use std::time::Instant;

use capture_runtime::filter::Policy;
use capture_runtime::value::{to_msgpack, to_value, EncodeCtx};
use capture_runtime::Codec;

fn main() {
    let o = capture_bench::order(1);
    let policy = Policy::default();
    let n = 200_000u32;
    let t = Instant::now();
    for _ in 0..n {
        let mut ctx = EncodeCtx::with_policy(&policy);
        ctx.begin("order");
        black_box(to_value(black_box(&o), &mut ctx).unwrap());
    }
    println!("to_value (policy): {:?}", t.elapsed() / n);
    let t = Instant::now();
    for _ in 0..n {
        let mut ctx = EncodeCtx::plain();
        ctx.begin("order");
        black_box(to_value(black_box(&o), &mut ctx).unwrap());
    }
    println!("to_value (plain): {:?}", t.elapsed() / n);
    let mut buf = Vec::new();
    let t = Instant::now();
    for _ in 0..n {
        buf.clear();
        let mut ctx = EncodeCtx::with_policy(&policy);
        ctx.begin("order");
        to_msgpack(black_box(&o), &mut ctx, &mut buf).unwrap();
    }
    println!("to_msgpack (policy, direct): {:?}", t.elapsed() / n);
    let mut ctx = EncodeCtx::plain();
    let v = to_value(&o, &mut ctx).unwrap();
    let t = Instant::now();
    for _ in 0..n {
        buf.clear();
        Codec::MsgPack.encode_into(black_box(&v), &mut buf).unwrap();
    }
    println!("encode value tree: {:?} ({} bytes)", t.elapsed() / n, buf.len());
    let t = Instant::now();
    for _ in 0..n {
        buf.clear();
        Codec::MsgPack.encode_into(black_box(&o), &mut buf).unwrap();
    }
    println!("encode order directly: {:?}", t.elapsed() / n);
    let block = vec![7u8; 16384];
    let t = Instant::now();
    for _ in 0..20_000 {
        black_box(capture_runtime::ContentId::of(black_box(&block)));
    }
    println!(
        "sha256 16 KiB in cache: {:.0} MB/s",
        20_000.0 * 16384.0 / t.elapsed().as_secs_f64() / 1e6
    );
    let big = vec![7u8; 256 << 20];
    let t = Instant::now();
    black_box(capture_runtime::ContentId::of(black_box(&big)));
    println!("sha256 256 MiB: {:.0} MB/s", 268.435456 / t.elapsed().as_secs_f64());
    let t = Instant::now();
    let mut h = [0u8; 32];
    for c in big.chunks(16384) {
        let id = capture_runtime::ContentId::of(c);
        h[0] ^= id.0[0];
    }
    black_box(h);
    println!(
        "sha256 256 MiB in 16 KiB pieces: {:.0} MB/s",
        268.435456 / t.elapsed().as_secs_f64()
    );
}
