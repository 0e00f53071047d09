//! Element loops of one shape: maps, their derivatives, fills (broadcasting ones are in
//! [`super::broadcast`]).

use super::parallel::{collect_blocks, for_blocks};
use super::stream::{Stores, elements_to_alignment, fence, store16, stores_for};
use crate::dtype::Float;
use core::mem::MaybeUninit;

/// A new vector of `n` copies of `value`, written in parallel for long vectors (the
/// gradient of a full sum: one pass instead of a zero fill and an accumulation).
pub(crate) fn filled<E: Float>(n: usize, value: E) -> Vec<E> {
    // SAFETY: the loop writes every slot of its block.
    unsafe {
        collect_blocks(
            n,
            #[inline(always)]
            |_, block| {
                for slot in block.iter_mut() {
                    slot.write(value);
                }
            },
        )
    }
}

/// A point the optimiser must assume reads and writes any memory that other code can see
/// (an empty `asm!` block): values computed before it into a local array stay in registers,
/// while the loads before it cannot be matched with the stores after it. The 16-element
/// staging loops below put it between computing and storing:
///
/// * stores of values just loaded are not dropped (LLVM would otherwise turn `x = select(c,
///   x, 0)` into masked stores of the changed lanes, slow on AMD without AVX-512);
/// * the loop over the 16-element chunks is not vectorised itself (a loop with an `asm!`
///   block is left alone), so the 16 unrolled element computations are packed into full
///   vectors instead: with AVX-512 LLVM otherwise vectorised the chunk loop with 16-strided
///   gathers (traced f64 relu, 1 thread: 1.2 ns per element forward and backward).
///
/// `black_box` on the array did both too, but through a store and reload of it: with 64-byte
/// vectors on Zen 4 the reload waits for every earlier store to reach the cache (an in-place
/// relu over 16 MiB took 2.1 ms that way, 0.5 ms as a plain loop).
#[inline(always)]
pub(super) fn opaque_to_memory() {
    // SAFETY: an empty instruction sequence; it touches no register, flag or stack.
    #[cfg(all(
        any(target_arch = "x86_64", target_arch = "x86", target_arch = "aarch64"),
        not(miri)
    ))]
    unsafe {
        core::arch::asm!("", options(nostack, preserves_flags))
    }
}

/// Writes `f([x[i] for x in inputs])` into every slot, sixteen at a time through a local
/// array and past an [`opaque_to_memory`] point (see there why). Written straight into the
/// slots, loops with selects and integer steps stayed scalar (traced softplus: 29 ns per f32
/// element, 3.5 in place; LeakyReLU's backward 0.65 ns, 0.25 staged). Not everywhere: the
/// packing of the unrolled copies fails on chained selects (`if .. else if ..`) that the
/// loop vectoriser handles, so kernels keep their selects independent (`AbsKernel`), and the
/// binary ops' backward (`maximum`'s tie rule) is not staged. `stores` (from
/// [`stores_for`] of the whole output's length) streams the chunks of a large output (see
/// [`super::stream`]).
///
/// # Panics
/// When an input is shorter than `slots` (every slot is written otherwise).
#[inline(always)]
pub(super) fn write_staged<E: Float, const N: usize>(
    slots: &mut [MaybeUninit<E>],
    inputs: [&[E]; N],
    stores: Stores,
    f: impl Fn([E; N]) -> E,
) {
    let n = slots.len();
    let inputs = inputs.map(|x| &x[..n]);
    // Streaming stores write aligned chunks: the elements before the first 64-byte boundary
    // go one by one.
    let head = match stores {
        Stores::Plain => 0,
        _ => elements_to_alignment(slots.as_ptr().cast::<E>()).min(n),
    };
    let (head_slots, slots) = slots.split_at_mut(head);
    for (j, slot) in head_slots.iter_mut().enumerate() {
        slot.write(f(inputs.map(|x| x[j])));
    }
    let inputs = inputs.map(|x| &x[head..]);
    let n = n - head;
    let chunks = n / 16;
    let down = stores == Stores::Plain
        && runs_descending(slots.as_ptr().cast(), inputs.map(|x| x.as_ptr().cast()));
    let out_ptr = slots.as_mut_ptr();
    for step in 0..chunks {
        // One loop body for both orders (a second would compile every kernel twice).
        let first = 16 * if down { chunks - 1 - step } else { step };
        // Arrays, not slices: their length is in the type, so no element is bounds-checked
        // (checked slices kept the staged loop scalar). Through pointers: the index depends
        // on the order, and the checks of slicing by it cost 5% of `a + b` over 4M f32.
        // SAFETY: `first + 16 <= chunks * 16 <= n`, and every input holds `n` elements.
        let values: [&[E; 16]; N] = inputs.map(|x| unsafe { &*x.as_ptr().add(first).cast() });
        let mut out = [E::ZERO; 16];
        for (j, o) in out.iter_mut().enumerate() {
            *o = f(values.map(|x| x[j]));
        }
        opaque_to_memory();
        if stores != Stores::Plain {
            // SAFETY: inside `slots` as below, 64-byte aligned (the chunks start at the
            // boundary after the head), with the instructions `stores_for` found.
            unsafe { store16(out_ptr.add(first).cast::<E>(), &out, stores) };
            continue;
        }
        // SAFETY: as above, inside `slots`, which nothing else borrows meanwhile.
        let chunk: &mut [MaybeUninit<E>; 16] = unsafe { &mut *out_ptr.add(first).cast() };
        for (slot, &o) in chunk.iter_mut().zip(&out) {
            slot.write(o);
        }
    }
    let done = chunks * 16;
    for (j, slot) in slots[done..].iter_mut().enumerate() {
        slot.write(f(inputs.map(|x| x[done + j])));
    }
    fence(stores);
}

/// Whether a loop that writes `out` while it reads `inputs` (all element by element, in
/// step) should run from the end backwards. A load whose address matches a store still in
/// flight in its low 12 bits waits for that store (4 KiB aliasing): running forwards, that
/// happens when an input lies a little behind the output modulo 4 KiB (the load of element
/// `i + d` meets the store of element `i`), running backwards when it lies a little
/// ahead. Where the allocator put the buffers decides it: `x / y` over 512K f32 on one Zen 4
/// thread took 66 us with the output 3.8 KiB past `x` modulo 4 KiB and 84 us with it 224
/// bytes past (a plain loop: 68 us at most offsets, 76-86 us from 128 to 448 bytes past,
/// and backwards the mirror image).
#[inline(always)]
pub(super) fn runs_descending<const N: usize>(out: *const u8, inputs: [*const u8; N]) -> bool {
    // Distances (modulo 4 KiB) within which a loop ran 5% slower or more.
    const NEAR: core::ops::Range<usize> = 64..768;
    let (mut forwards, mut backwards) = (0, 0);
    for input in inputs {
        let behind = (out as usize).wrapping_sub(input as usize) % 4096;
        forwards += usize::from(NEAR.contains(&behind));
        backwards += usize::from(NEAR.contains(&(4096 - behind)));
    }
    backwards < forwards
}

/// `x[i] = f(x[i])` in place (split over threads for long slices).
#[inline]
pub(crate) fn map_inplace<E: Float>(x: &mut [E], f: impl Fn(E) -> E + Sync) {
    for_blocks(
        x,
        #[inline(always)]
        |_, block| block.iter_mut().for_each(|v| *v = f(*v)),
    );
}

/// [`map_inplace`] for an `f` that returns its input on some values (relu, clamp, leaky
/// relu on positives): sixteen elements at a time through a local array, stored back
/// whole past an [`opaque_to_memory`] point. Written element by element, LLVM drops the
/// stores of values just loaded and stores the other lanes with masked stores, which are
/// slow on AMD without AVX-512: W5's relu pass ran at half of memory speed on a Zen 4 with
/// AVX2 (relu(a + b) forward, 4M f32, one thread: 5.2-5.6 -> 2.7 ms). The same staging as
/// [`write_staged`], in place (one slice read and written, so not through that helper).
#[inline]
pub(crate) fn map_inplace_unmasked<E: Float>(x: &mut [E], f: impl Fn(E) -> E + Sync) {
    for_blocks(
        x,
        #[inline(always)]
        |_, block| {
            let mut chunks = block.chunks_exact_mut(16);
            for chunk in &mut chunks {
                let mut out = [E::ZERO; 16];
                for (o, &v) in out.iter_mut().zip(chunk.iter()) {
                    *o = f(v);
                }
                opaque_to_memory();
                chunk.copy_from_slice(&out);
            }
            chunks.into_remainder().iter_mut().for_each(|v| *v = f(*v));
        },
    );
}

/// `f(x[i])` for every element, as a new vector (split over threads for long slices).
#[inline]
pub(crate) fn map<E: Float>(x: &[E], f: impl Fn(E) -> E + Sync) -> Vec<E> {
    let stores = stores_for::<E>(x.len());
    // SAFETY: the input is sliced to exactly the block's length, so every slot is written.
    unsafe {
        collect_blocks(
            x.len(),
            #[inline(always)]
            |off, block| {
                write_staged(
                    block,
                    [&x[off..]],
                    stores,
                    #[inline(always)]
                    |[v]| f(v),
                );
            },
        )
    }
}

/// `g[i] *= d(a[i], b[i])` in place: the backward of an elementwise op without
/// broadcasting, turning the output's gradient buffer into an input's. `staged` runs it
/// sixteen elements at a time through a local array, as [`map_inplace_unmasked`] (the
/// unary ops' backward: Softplus's derivative, a select of a sigmoid, stayed a scalar loop
/// otherwise, 7.5 ns per f32 element); the binary ops' is not staged unless their kernel
/// asks (see [`write_staged`], `maximum`'s tie rule).
#[inline]
pub(crate) fn mul_by_derivative<E: Float>(
    g: &mut [E],
    a: &[E],
    b: &[E],
    staged: bool,
    d: impl Fn(E, E) -> E + Sync,
) {
    for_blocks(
        g,
        #[inline(always)]
        |off, block| {
            let n = block.len();
            let (a, b) = (&a[off..][..n], &b[off..][..n]);
            if staged {
                let mut chunks = block.chunks_exact_mut(16);
                for (q, chunk) in (&mut chunks).enumerate() {
                    // Arrays, as in `write_staged` (no bounds checks in the loop).
                    // SAFETY: chunk `q` is whole, so `16 * q + 16 <= n`, the inputs' length.
                    let (a, b): (&[E; 16], &[E; 16]) = unsafe {
                        (
                            &*a.as_ptr().add(16 * q).cast(),
                            &*b.as_ptr().add(16 * q).cast(),
                        )
                    };
                    let mut out = [E::ZERO; 16];
                    for (j, (o, &gv)) in out.iter_mut().zip(chunk.iter()).enumerate() {
                        *o = gv * d(a[j], b[j]);
                    }
                    opaque_to_memory();
                    chunk.copy_from_slice(&out);
                }
                let done = n / 16 * 16;
                for (j, gv) in chunks.into_remainder().iter_mut().enumerate() {
                    *gv *= d(a[done + j], b[done + j]);
                }
                return;
            }
            for (gv, (&x, &y)) in block.iter_mut().zip(a.iter().zip(b)) {
                *gv *= d(x, y);
            }
        },
    );
}

/// `g[i] *= d(y[i])` in place: [`mul_by_derivative`] for a derivative read from the output
/// `y` alone.
#[inline]
pub(crate) fn mul_by_derivative_of<E: Float>(g: &mut [E], y: &[E], d: impl Fn(E) -> E + Sync) {
    for_blocks(
        g,
        #[inline(always)]
        |off, block| {
            for (gv, &yv) in block.iter_mut().zip(&y[off..]) {
                *gv *= d(yv);
            }
        },
    );
}

/// `c * d(a[i], b[i])` for every element, as a new vector: the input gradient of an
/// element-wise op whose output gradient is `c` everywhere (a whole-tensor sum's or
/// mean's), without a buffer of copies of `c`. `staged` writes through [`write_staged`]
/// (the unary ops' backward, and the binary ops' whose kernels ask for it); the other
/// binary ops' is not staged (see there, `maximum`'s tie rule).
#[inline]
pub(crate) fn scaled_derivative<E: Float>(
    c: E,
    a: &[E],
    b: &[E],
    staged: bool,
    d: impl Fn(E, E) -> E + Sync,
) -> Vec<E> {
    let stores = stores_for::<E>(a.len());
    // SAFETY: the inputs are sliced to exactly the block's length (a short one panics), so
    // either loop writes every slot.
    unsafe {
        collect_blocks(
            a.len(),
            #[inline(always)]
            |off, block| {
                if staged {
                    write_staged(
                        block,
                        [&a[off..], &b[off..]],
                        stores,
                        #[inline(always)]
                        |[x, y]| c * d(x, y),
                    );
                } else {
                    let n = block.len();
                    let (a, b) = (&a[off..][..n], &b[off..][..n]);
                    for (slot, (&x, &y)) in block.iter_mut().zip(a.iter().zip(b)) {
                        slot.write(c * d(x, y));
                    }
                }
            },
        )
    }
}

/// `g[i] * d(a[i], b[i])` for every element, as a new vector (the gradient of an input
/// when the output's gradient buffer is still needed). `staged` writes through
/// [`write_staged`], as in [`scaled_derivative`].
#[inline]
pub(crate) fn derivative_product<E: Float>(
    g: &[E],
    a: &[E],
    b: &[E],
    staged: bool,
    d: impl Fn(E, E) -> E + Sync,
) -> Vec<E> {
    let stores = stores_for::<E>(g.len());
    // SAFETY: the inputs are sliced to exactly the block's length (a short one panics, as
    // when a gradient of the wrong length reaches here), so either loop writes every slot.
    unsafe {
        collect_blocks(
            g.len(),
            #[inline(always)]
            |off, block| {
                if staged {
                    write_staged(
                        block,
                        [&g[off..], &a[off..], &b[off..]],
                        stores,
                        #[inline(always)]
                        |[gv, x, y]| gv * d(x, y),
                    );
                    return;
                }
                // Not staged by default (see `write_staged`): the loop vectoriser handles
                // the nested selects of maximum's derivative here, and the staged copy did
                // not (0.41 -> 5.3 ns per f32 element forward and backward).
                let n = block.len();
                let (g, a, b) = (&g[off..][..n], &a[off..][..n], &b[off..][..n]);
                for (slot, (&gv, (&x, &y))) in block.iter_mut().zip(g.iter().zip(a.iter().zip(b))) {
                    slot.write(gv * d(x, y));
                }
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inputs a little behind the output (modulo 4 KiB) turn the loop around, a little ahead
    /// keep it forwards, and a tie keeps it forwards.
    #[test]
    fn loop_order_follows_where_the_buffers_lie() {
        let at = |a: usize| a as *const u8;
        let out = 0x10_0000 + 1000;
        assert!(!runs_descending(at(out), [at(out)]));
        assert!(runs_descending(at(out), [at(out - 256)]));
        assert!(runs_descending(at(out), [at(out - 256 + 3 * 4096)]));
        assert!(!runs_descending(at(out), [at(out + 256)]));
        assert!(!runs_descending(at(out), [at(out - 2048)]));
        assert!(!runs_descending(at(out), [at(out - 256), at(out + 128)]));
        assert!(runs_descending(
            at(out),
            [at(out - 256), at(out - 100), at(out + 128)]
        ));
    }

    /// Both loop orders of the staged loop write every element once, with the right value,
    /// for lengths around the chunk size.
    #[test]
    fn staged_loop_writes_the_same_in_either_order() {
        for n in [0, 1, 15, 16, 17, 47, 48, 100, 1000] {
            let x: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let want: Vec<f32> = x.iter().map(|v| v * 2.0 + 1.0).collect();
            let mut buf = vec![MaybeUninit::<f32>::uninit(); n + 2048];
            let mut orders = [false; 2];
            for start in 0..1024 {
                let slots = &mut buf[start..start + n];
                let down = runs_descending(slots.as_ptr().cast(), [x.as_ptr().cast()]);
                if n == 0 || orders[usize::from(down)] {
                    continue;
                }
                orders[usize::from(down)] = true;
                write_staged(slots, [&x], Stores::Plain, |[v]| v * 2.0 + 1.0);
                // SAFETY: `write_staged` wrote all `n` slots.
                let got = unsafe { crate::backend::uninit::assume_init(slots) };
                assert_eq!(got, &want[..], "n = {n}, descending: {down}");
            }
            assert!(
                n == 0 || orders == [true; 2],
                "n = {n}: both orders reached"
            );
        }
    }

    /// Streamed, the staged loop writes every element once with the right value, in `f32`
    /// and `f64`, for every start of the output within a 64-byte line (the aligned chunks
    /// start after a head of 0 to 15 elements) and lengths around the chunk size; and
    /// large maps stream ([`stores_for`]) and give the same values as short ones.
    #[test]
    fn streamed_stores_write_every_element() {
        fn check<E: Float>(stores: Stores) {
            let lanes = 64 / size_of::<E>();
            for n in [0, 1, 5, 15, 16, 17, 31, 33, 100, 1000] {
                let x: Vec<E> = (0..n).map(|i| E::from_f64(i as f64 * 0.37 - 3.0)).collect();
                let want: Vec<E> = x.iter().map(|&v| v * v + E::ONE).collect();
                let mut buf = vec![MaybeUninit::<E>::uninit(); n + 2 * lanes];
                let base = elements_to_alignment(buf.as_ptr().cast::<E>());
                for start in base..base + lanes {
                    let slots = &mut buf[start..start + n];
                    write_staged(slots, [&x], stores, |[v]| v * v + E::ONE);
                    // SAFETY: `write_staged` wrote all `n` slots.
                    let got = unsafe { crate::backend::uninit::assume_init(slots) };
                    assert_eq!(
                        got,
                        &want[..],
                        "{stores:?} {}, n = {n}, start = {start}",
                        E::DTYPE
                    );
                }
            }
        }
        crate::backend::init();
        let available = stores_for::<f32>(usize::MAX / 8);
        for stores in [Stores::Stream512, Stores::Stream256] {
            let runs = matches!(
                (available, stores),
                (Stores::Stream512, _) | (Stores::Stream256, Stores::Stream256)
            );
            if runs {
                check::<f32>(stores);
                check::<f64>(stores);
            }
        }
        let n = super::super::stream::min_bytes() / 4 + 37;
        let x: Vec<f32> = (0..n).map(|i| (i % 1000) as f32 - 500.0).collect();
        let y = map(&x, |v| v.max(0.0));
        assert!(
            y.iter().zip(&x).all(|(&y, &x)| y == x.max(0.0)),
            "a streamed map"
        );
    }

    /// The staged loops write every element, in the 16-element chunks and in the remainder,
    /// for every length around the chunk size and across the thread split.
    #[test]
    fn staged_loops_match_element_by_element() {
        for n in (0..70).chain([4095, 4096, 65_537]) {
            let x: Vec<f64> = (0..n).map(|i| (i as f64 * 0.731).sin() * 3.0).collect();
            let y: Vec<f64> = (0..n).map(|i| (i as f64 * 0.377).cos()).collect();
            let f = |v: f64| if v > 0.5 { v * v } else { -v };
            let want: Vec<f64> = x.iter().map(|&v| f(v)).collect();
            assert_eq!(map(&x, f), want, "map, n = {n}");
            let mut inplace = x.clone();
            map_inplace_unmasked(&mut inplace, f);
            assert_eq!(inplace, want, "map_inplace_unmasked, n = {n}");
            let d = |a: f64, b: f64| if a > b { a - b } else { 2.0 * b };
            let want: Vec<f64> = x.iter().zip(&y).map(|(&a, &b)| 0.5 * d(a, b)).collect();
            for staged in [true, false] {
                assert_eq!(
                    scaled_derivative(0.5, &x, &y, staged, d),
                    want,
                    "scaled_derivative (staged: {staged}), n = {n}"
                );
            }
            let g: Vec<f64> = (0..n).map(|i| (i as f64 * 0.19).sin()).collect();
            let want: Vec<f64> = (0..n).map(|i| g[i] * d(x[i], y[i])).collect();
            for staged in [true, false] {
                assert_eq!(
                    derivative_product(&g, &x, &y, staged, d),
                    want,
                    "derivative_product (staged: {staged}), n = {n}"
                );
                let mut in_place = g.clone();
                mul_by_derivative(&mut in_place, &x, &y, staged, d);
                assert_eq!(
                    in_place, want,
                    "mul_by_derivative (staged: {staged}), n = {n}"
                );
            }
        }
    }
}
