//! Issue 14 item 4: `.gz` inputs have a limit on their decompressed size, and loaders'
//! memory stays within a small multiple of what they return.
//!
//! The limit is process-wide, so every test here takes `LOCK` (which also keeps the
//! peak-memory figures free of other tests' allocations).

#[path = "common/tracking_alloc.rs"]
mod tracking_alloc;

use flate2::Compression;
use flate2::write::GzEncoder;
use shaped::data::{
    CsvOptions, DEFAULT_MAX_DECOMPRESSED_BYTES, load_csv, max_decompressed_bytes, read_idx_images,
    read_idx_labels, set_max_decompressed_bytes,
};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use tracking_alloc::measure_peak;

static LOCK: Mutex<()> = Mutex::new(());

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::best());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("shaped_decompression_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// `rows` lines of `cols` zeros: 2 bytes of text per value.
fn zeros_csv(rows: usize, cols: usize) -> Vec<u8> {
    let line = format!("{}0\n", "0,".repeat(cols - 1));
    line.repeat(rows).into_bytes()
}

fn idx_images(n: u32, rows: u32, cols: u32) -> Vec<u8> {
    let mut bytes = vec![0, 0, 8, 3];
    for d in [n, rows, cols] {
        bytes.extend(d.to_be_bytes());
    }
    bytes.resize(bytes.len() + (n * rows * cols) as usize, 0);
    bytes
}

#[test]
fn the_default_limit_is_one_gib() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    assert_eq!(DEFAULT_MAX_DECOMPRESSED_BYTES, 1 << 30);
    assert!(max_decompressed_bytes() >= 1);
}

#[test]
fn a_csv_gz_bomb_stops_at_the_limit_with_bounded_memory() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let text = zeros_csv(10_000, 500); // 10 MB of text
    let gz = gzip(&text);
    assert!(gz.len() < 100_000, "{} compressed bytes", gz.len());
    let path = temp_file("bomb.csv.gz", &gz);
    drop(text);
    let old = max_decompressed_bytes();
    set_max_decompressed_bytes(1 << 20);
    let (r, peak) = measure_peak(|| load_csv::<f32>(&path, &CsvOptions::new()));
    set_max_decompressed_bytes(old);
    let err = r.unwrap_err().to_string();
    assert!(
        err.contains("1048576") && err.contains("set_max_decompressed_bytes"),
        "{err}"
    );
    assert!(err.contains("bomb.csv.gz"), "{err}");
    // The compressed file, the text buffer while it doubles past the limit (old and new
    // block: 3x the limit), and the decoder's own tables.
    assert!(
        peak < gz.len() + 3 * (1 << 20) + (256 << 10),
        "peak {peak} bytes"
    );
}

#[test]
fn an_idx_gz_bomb_is_refused_from_its_header() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let bytes = idx_images(1000, 100, 100); // 10 MB of zero pixels
    let path = temp_file("bomb-idx3-ubyte.gz", &gzip(&bytes));
    let old = max_decompressed_bytes();
    set_max_decompressed_bytes(1 << 20);
    let (r, peak) = measure_peak(|| read_idx_images::<f32>(&path));
    let labels = temp_file(
        "bomb-idx1-ubyte.gz",
        &gzip(&[&[0, 0, 8, 1, 0x00, 0x20, 0, 0][..], &[0; 2 << 20]].concat()),
    );
    let r2 = read_idx_labels(&labels);
    set_max_decompressed_bytes(old);
    assert!(r.unwrap_err().to_string().contains("1048576"));
    assert!(r2.is_err());
    // Nothing is read beyond the header: no 1 MiB up-front reserve either.
    assert!(peak < 256 << 10, "peak {peak} bytes");
}

#[test]
fn loading_a_large_csv_gz_needs_a_small_multiple_of_its_tensor() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let (rows, cols) = (4_000, 250);
    let path = temp_file("zeros.csv.gz", &gzip(&zeros_csv(rows, cols)));
    let (t, peak) = measure_peak(|| load_csv::<f32>(&path, &CsvOptions::new()).unwrap());
    assert_eq!(t.dims().as_slice(), &[rows, cols]);
    let output = rows * cols * 4;
    eprintln!("csv.gz: peak {peak} bytes for a {output}-byte tensor");
    // Text (half the tensor's bytes here) grown by doubling, and the values reserved once.
    assert!(
        peak <= 3 * output,
        "peak {peak} bytes for a {output}-byte tensor"
    );
}

#[test]
fn loading_a_large_idx_gz_needs_a_small_multiple_of_its_tensor() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let path = temp_file("zeros-idx3-ubyte.gz", &gzip(&idx_images(200, 50, 50)));
    let (t, peak) = measure_peak(|| read_idx_images::<f32>(&path).unwrap());
    assert_eq!(t.dims().as_slice(), &[200, 50, 50]);
    let output = 200 * 50 * 50 * 4;
    eprintln!("idx.gz: peak {peak} bytes for a {output}-byte tensor");
    assert!(
        peak <= 2 * output,
        "peak {peak} bytes for a {output}-byte tensor"
    );
}

#[test]
fn idx_sizes_whose_shape_cannot_exist_are_refused() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // 0 images of 2^32-1 x 2^32-1 pixels: 0 bytes of data, but no such tensor shape.
    let bytes = [
        0, 0, 8, 3, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255,
    ];
    assert!(shaped::data::parse_idx_images::<f32>(&bytes, "inline").is_err());
}
