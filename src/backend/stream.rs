//! Streaming (non-temporal) stores for large new outputs.
//!
//! An ordinary store to a line that is not in cache first reads the line from memory (to own
//! it), then writes it back when evicted: a new 16 MiB output costs 32 MiB of traffic. A
//! non-temporal store writes whole lines without reading them. Where the output is too large
//! to stay in the last-level cache anyway, that is a third less traffic for an element-wise
//! op: `a + b` over 4M `f32` on one Zen 4 thread, 0.84-0.92 ms with ordinary 512-bit stores,
//! 0.60 streamed (PyTorch 0.66); `relu(a + b)` through a second buffer 2.7-2.9 -> 1.8-1.9
//! ms. Below that size the stores are slower (the output's lines, left in cache by ordinary
//! stores, are what the next op reads), so only outputs at least as large as the last-level
//! cache stream ([`min_bytes`]).

use super::simd::{Level, level};
use crate::dtype::Float;

/// How [`store16`] writes: ordinary stores, or streaming stores of 64 bytes (AVX-512) or
/// 32 (AVX).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stores {
    Plain,
    Stream512,
    Stream256,
}

/// The stores for a new output of `len` elements: streaming from [`min_bytes`] on, where
/// the CPU has them at the element loops' level (x86-64 with AVX2 or AVX-512).
#[inline]
pub(crate) fn stores_for<E: Float>(len: usize) -> Stores {
    if len.saturating_mul(size_of::<E>()) < min_bytes() {
        return Stores::Plain;
    }
    match level() {
        Level::Avx512 => Stores::Stream512,
        Level::Avx2 => Stores::Stream256,
        Level::Baseline => Stores::Plain,
    }
}

/// The smallest output that streams: the size of the last-level cache (Linux's
/// `/sys/devices/system/cpu/cpu0/cache/index3/size`; 32 MiB on the Zen 4 VM), 32 MiB where
/// that is not known. A smaller output stays in that cache for the op that reads it next:
/// `relu(a + b)` over 4M `f32` (16 MiB, relu in place) took 1.13-1.17 ms on two threads
/// with ordinary stores and 1.29-1.51 with the sum streamed. `SHAPED_STREAM_MIN_BYTES` sets
/// it (`0`: always, a huge value: never).
pub(crate) fn min_bytes() -> usize {
    static MIN: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *MIN.get_or_init(|| {
        if let Some(v) = std::env::var("SHAPED_STREAM_MIN_BYTES")
            .ok()
            .and_then(|v| v.trim().parse().ok())
        {
            return v;
        }
        last_level_cache_bytes().unwrap_or(32 << 20)
    })
}

/// The size of the last-level cache that CPU 0 sees, from sysfs (`32768K`).
fn last_level_cache_bytes() -> Option<usize> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/cpu0/cache/index3/size").ok()?;
    let text = text.trim();
    let (digits, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let n: usize = digits.parse().ok()?;
    match unit {
        "K" => n.checked_mul(1 << 10),
        "M" => n.checked_mul(1 << 20),
        _ => None,
    }
}

/// Elements before `ptr` reaches a 64-byte boundary (at most 15 `f32`, 7 `f64`): where a
/// streamed loop starts its whole chunks, since the streaming stores need aligned addresses.
#[inline(always)]
pub(crate) fn elements_to_alignment<E>(ptr: *const E) -> usize {
    // By the address (`align_offset` may answer "never"); `E`'s own alignment makes the
    // byte count a whole number of elements.
    (64 - ptr as usize % 64) % 64 / size_of::<E>()
}

/// Writes the 16 values of `v` to `dst..dst + 16` with `stores`.
///
/// # Safety
/// `dst` is valid for 16 writes; for the streaming stores it is 64-byte aligned, and the
/// CPU has the instructions of `stores` (as [`stores_for`] checked). Call [`fence`] after
/// the last streaming store, before the output is handed on.
#[inline(always)]
pub(crate) unsafe fn store16<E: Float>(dst: *mut E, v: &[E; 16], stores: Stores) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::*;
        // `E` is `f32` or `f64` (the trait is sealed): its size says which.
        // SAFETY: the caller's guarantees; the casts reinterpret `E` as the type it is.
        unsafe {
            match (stores, size_of::<E>()) {
                (Stores::Stream512, 4) => {
                    let (d, s) = (dst.cast::<f32>(), v.as_ptr().cast::<f32>());
                    _mm512_stream_ps(d, _mm512_loadu_ps(s));
                    return;
                }
                (Stores::Stream512, 8) => {
                    let (d, s) = (dst.cast::<f64>(), v.as_ptr().cast::<f64>());
                    _mm512_stream_pd(d, _mm512_loadu_pd(s));
                    _mm512_stream_pd(d.add(8), _mm512_loadu_pd(s.add(8)));
                    return;
                }
                (Stores::Stream256, 4) => {
                    let (d, s) = (dst.cast::<f32>(), v.as_ptr().cast::<f32>());
                    _mm256_stream_ps(d, _mm256_loadu_ps(s));
                    _mm256_stream_ps(d.add(8), _mm256_loadu_ps(s.add(8)));
                    return;
                }
                (Stores::Stream256, 8) => {
                    let (d, s) = (dst.cast::<f64>(), v.as_ptr().cast::<f64>());
                    for q in 0..4 {
                        _mm256_stream_pd(d.add(4 * q), _mm256_loadu_pd(s.add(4 * q)));
                    }
                    return;
                }
                _ => {}
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = stores;
    for (j, &x) in v.iter().enumerate() {
        // SAFETY: the caller's guarantee that `dst..dst + 16` is writable.
        unsafe { dst.add(j).write(x) };
    }
}

/// Orders the streaming stores before whatever follows (they are weakly ordered): called
/// once after a streamed loop, before its output is read or handed to another thread.
#[inline(always)]
pub(crate) fn fence(stores: Stores) {
    #[cfg(target_arch = "x86_64")]
    if stores != Stores::Plain {
        // SAFETY: `sfence` is part of x86-64's baseline (SSE).
        unsafe { core::arch::x86_64::_mm_sfence() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = stores;
}
