//! Bounded fuzzing of every loader (issue 14): valid files mutated with a fixed seed (bit
//! flips, byte overwrites with boundary values, truncations, deletions, splices), each fed
//! to the loader under `catch_unwind`. A case passes when the loader returns (`Ok` or
//! `Err`) without panicking and its peak of live heap bytes stays within a stated multiple
//! of the input's size.
//!
//! CI runs `SHAPED_FUZZ_CASES` cases per loader (default 600, about 3,000 over the five
//! tests); raise it for a longer run, e.g. `SHAPED_FUZZ_CASES=100000 cargo test --release
//! --test fuzz_loaders`. A failure prints the seed and case number to replay.

#[path = "common/tracking_alloc.rs"]
mod tracking_alloc;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use shaped::data::{self, CsvOptions};
use shaped::nn::{BatchNorm1d, Linear, ReLU};
use shaped::optim::{Adam, Optimizer};
use shaped::prelude::*;
use shaped::serialize::{self, Checkpoint, LoadMode};
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Mutex;
use tracking_alloc::measure_peak;

/// One test at a time: the peak-memory figures are process-wide, and the gz tests lower the
/// process-wide decompression limit.
static LOCK: Mutex<()> = Mutex::new(());

/// Memory bound for plain inputs: values decode to at most 8 bytes (f64) per input byte,
/// plus bookkeeping; so 16 bytes per input byte and 256 KiB of slack.
const PLAIN_MULTIPLE: usize = 16;
const SLACK: usize = 256 << 10;
/// The decompression limit during the gz runs, and their bound: decompressed text or pixels
/// grown by doubling (3x the limit while old and new blocks coexist) and decoded to values
/// (up to 8x the limit for f64... but tests decode f32: 4x).
const GZ_LIMIT: u64 = 256 << 10;
const GZ_BOUND: usize = 8 * GZ_LIMIT as usize;

type Model = (Linear<4, 3>, ReLU, BatchNorm1d<3>, Linear<3, 2>);

fn cases() -> usize {
    std::env::var("SHAPED_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600)
}

fn model(seed: u64) -> Model {
    let mut rng = StdRng::seed_from_u64(seed);
    (
        Linear::new(&mut rng),
        ReLU,
        BatchNorm1d::new(),
        Linear::new(&mut rng),
    )
}

/// A valid input changed in one to three places.
fn mutate(valid: &[u8], rng: &mut StdRng) -> Vec<u8> {
    let mut b = valid.to_vec();
    for _ in 0..rng.random_range(1..=3) {
        if b.is_empty() {
            break;
        }
        let len = b.len();
        match rng.random_range(0..6) {
            0 => {
                for _ in 0..rng.random_range(1..=8) {
                    let i = rng.random_range(0..len);
                    b[i] ^= 1 << rng.random_range(0..8);
                }
            }
            1 => {
                let i = rng.random_range(0..len);
                b[i] = [0x00, 0xff, 0x7f, 0x80, b'9', b'-', b'"', b'\n'][rng.random_range(0..8)];
            }
            2 => b.truncate(rng.random_range(0..len)),
            3 => {
                let i = rng.random_range(0..len);
                let j = rng.random_range(i..=len.min(i + 64));
                b.drain(i..j);
            }
            4 => {
                // Splice: a copy of one range inserted elsewhere.
                let i = rng.random_range(0..len);
                let j = rng.random_range(i..=len.min(i + 64));
                let chunk = b[i..j].to_vec();
                let at = rng.random_range(0..=len);
                b.splice(at..at, chunk);
            }
            _ => {
                // A size field replaced by a huge little- or big-endian number.
                if len >= 8 {
                    let i = rng.random_range(0..=len - 8);
                    let v: u64 =
                        [u64::MAX, 1 << 40, u32::MAX as u64, 1 << 31][rng.random_range(0..4)];
                    let bytes = if rng.random() {
                        v.to_le_bytes()
                    } else {
                        v.to_be_bytes()
                    };
                    b[i..i + 8].copy_from_slice(&bytes);
                }
            }
        }
    }
    b
}

/// Runs `load` on `cases()` mutations of `valid`, checking for panics and the peak memory.
/// Callers hold [`LOCK`] for their whole body (setup allocates too).
fn fuzz(name: &str, seed: u64, valid: &[u8], bound: impl Fn(usize) -> usize, load: impl Fn(&[u8])) {
    let mut rng = StdRng::seed_from_u64(seed);
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut failures = Vec::new();
    for case in 0..cases() {
        let input = mutate(valid, &mut rng);
        let (r, peak) = measure_peak(|| catch_unwind(AssertUnwindSafe(|| load(&input))));
        if let Err(e) = r {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(format!("case {case}: panicked: {msg}"));
        } else if peak > bound(input.len()) {
            failures.push(format!(
                "case {case}: peak {peak} bytes for a {}-byte input",
                input.len()
            ));
        }
    }
    std::panic::set_hook(hook);
    assert!(
        failures.is_empty(),
        "{name} (seed {seed}): {} failures, first: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
}

fn plain(len: usize) -> usize {
    PLAIN_MULTIPLE * len + SLACK
}

fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("shaped_fuzz_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn fuzz_safetensors() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let valid = serialize::to_safetensors(&model(1)).unwrap();
    fuzz("safetensors", 0x5afe, &valid, plain, |b| {
        let mut m = model(2);
        let _ = serialize::from_safetensors(&mut m, b, LoadMode::Strict, "fuzz");
        let _ = serialize::from_safetensors(&mut m, b, LoadMode::NonStrict, "fuzz");
        let _ = serialize::tensors_from_safetensors::<f32>(b, "fuzz");
        let _ = serialize::tensors_from_safetensors::<f64>(b, "fuzz");
    });
}

#[test]
fn fuzz_checkpoint_restore() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut m = model(3);
    let mut opt = Adam::new(1e-2);
    let x = Tensor::<Rank2<5, 4>>::ones();
    let loss = m.forward_train(x.clone().trace_constant()).square().mean();
    opt.step(&mut m, &loss.backward());
    let valid = Checkpoint::new(&m)
        .with_optimizer(&opt)
        .with_rng(&rand::rngs::ChaCha12Rng::seed_from_u64(0))
        .to_bytes()
        .unwrap();
    // Half the cases get a recomputed length and checksum, so that mutations reach the
    // payload's decoding and validation instead of stopping at the checksum.
    let fix_header = |b: &mut Vec<u8>| {
        if b.len() >= 32 {
            let n = (b.len() - 32) as u64;
            b[16..24].copy_from_slice(&n.to_le_bytes());
            let mut crc = serialize::Crc32::new();
            crc.update(&b[..24]);
            crc.update(&b[32..]);
            b[24..28].copy_from_slice(&crc.finish().to_le_bytes());
        }
    };
    let toggle = std::cell::Cell::new(false);
    fuzz("checkpoint", 0xc4e0, &valid, plain, |b| {
        let mut b = b.to_vec();
        toggle.set(!toggle.get());
        if toggle.get() {
            fix_header(&mut b);
        }
        let Ok(c) = Checkpoint::<f32>::from_bytes(&b) else {
            return;
        };
        let mut m = model(4);
        let mut opt = Adam::new(1e-2);
        if c.restore_model(&mut m).is_ok() && c.restore_optimizer(&mut opt).is_ok() {
            // A restored state must train without panicking.
            let loss = m.forward_train(x.clone().trace_constant()).square().mean();
            opt.step(&mut m, &loss.backward());
        }
        let _ = c.restore_rng();
    });
}

#[test]
fn fuzz_csv() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let valid = b"a,b,c,label\n0.5,1e-3,-2,1\n\n3,nan,4.25,0\n7,8,9,2\n".to_vec();
    fuzz("csv", 0xc5f, &valid, plain, |b| {
        let Ok(text) = std::str::from_utf8(b) else {
            return;
        };
        for header in [false, true] {
            let options = CsvOptions::new().header(header);
            if let Ok(mut t) = data::parse_csv::<f32>(text, &options, "fuzz") {
                let cols = t.cols();
                let _ = t.take_labels(cols.saturating_sub(1));
                let _ = t.into_tensor();
            }
            let _ = data::parse_csv::<f64>(text, &CsvOptions::new().whitespace(), "fuzz");
        }
    });
}

fn idx(rank: u8, dims: &[u32], fill: u8) -> Vec<u8> {
    let mut b = vec![0, 0, 8, rank];
    for d in dims {
        b.extend(d.to_be_bytes());
    }
    let n: u32 = dims.iter().product();
    b.extend((0..n).map(|i| fill.wrapping_add(i as u8)));
    b
}

#[test]
fn fuzz_idx() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let images = idx(3, &[3, 4, 5], 7);
    let labels = idx(1, &[9], 0);
    let valid = [images.clone(), labels.clone()].concat();
    let split = images.len();
    fuzz("idx", 0x1d3, &valid, plain, |b| {
        // Mutations land in either file (or move bytes between them).
        let (i, l) = b.split_at(split.min(b.len()));
        let _ = data::parse_idx_images::<f32>(i, "fuzz");
        let _ = data::parse_idx_labels(l, "fuzz");
        let _ = data::parse_idx_labels(i, "fuzz");
        let _ = data::parse_idx_images::<f64>(b, "fuzz");
    });
}

#[test]
fn fuzz_gz_inputs() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // Mutated gzip streams of a CSV and an IDX file, read through their paths.
    let csv = gzip(&b"1,2,3\n4,5,6\n".repeat(50));
    let images = gzip(&idx(3, &[10, 8, 8], 0));
    let valid = [csv.clone(), images.clone()].concat();
    let split = csv.len();
    let old = data::max_decompressed_bytes();
    data::set_max_decompressed_bytes(GZ_LIMIT);
    let (csv_path, idx_path) = (temp_path("f.csv.gz"), temp_path("f-idx3-ubyte.gz"));
    fuzz(
        "gz",
        0x62,
        &valid,
        |len| GZ_BOUND + plain(len),
        |b| {
            let (c, i) = b.split_at(split.min(b.len()));
            std::fs::write(&csv_path, c).unwrap();
            std::fs::write(&idx_path, i).unwrap();
            let _ = data::load_csv::<f32>(&csv_path, &CsvOptions::new());
            let _ = data::read_idx_images::<f32>(&idx_path);
        },
    );
    data::set_max_decompressed_bytes(old);
}
