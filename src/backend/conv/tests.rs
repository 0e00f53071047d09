//! Tests of the convolution kernels against direct loops.

use super::*;

/// Direct 7-deep loop, the definition im2col + gemm must agree with.
fn naive_conv(x: &[f64], w: &[f64], n: usize, o: usize, g: &ConvGeom) -> Vec<f64> {
    let mut y = vec![0.0; n * o * g.oh * g.ow];
    for b in 0..n {
        for oc in 0..o {
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let mut s = 0.0;
                    for c in 0..g.c {
                        for i in 0..g.kh {
                            for j in 0..g.kw {
                                let iy = (oy * g.sh + i * g.dh) as isize - g.ph as isize;
                                let ix = (ox * g.sw + j * g.dw) as isize - g.pw as isize;
                                if iy >= 0 && ix >= 0 && (iy as usize) < g.h && (ix as usize) < g.w
                                {
                                    s += x[((b * g.c + c) * g.h + iy as usize) * g.w + ix as usize]
                                        * w[((oc * g.c + c) * g.kh + i) * g.kw + j];
                                }
                            }
                        }
                    }
                    y[((b * o + oc) * g.oh + oy) * g.ow + ox] = s;
                }
            }
        }
    }
    y
}

fn geom(
    c: usize,
    h: usize,
    w: usize,
    k: (usize, usize),
    s: (usize, usize),
    p: (usize, usize),
    d: (usize, usize),
) -> ConvGeom {
    let oh = (h + 2 * p.0 - d.0 * (k.0 - 1) - 1) / s.0 + 1;
    let ow = (w + 2 * p.1 - d.1 * (k.1 - 1) - 1) / s.1 + 1;
    ConvGeom {
        c,
        h,
        w,
        kh: k.0,
        kw: k.1,
        sh: s.0,
        sw: s.1,
        ph: p.0,
        pw: p.1,
        dh: d.0,
        dw: d.1,
        oh,
        ow,
    }
}

fn pseudo(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

#[test]
fn im2col_gemm_matches_direct_loops() {
    for (i, g) in [
        geom(3, 7, 6, (3, 3), (1, 1), (0, 0), (1, 1)),
        geom(2, 8, 9, (3, 2), (2, 3), (1, 2), (1, 1)),
        geom(2, 9, 9, (3, 3), (1, 1), (2, 2), (2, 2)),
        geom(4, 5, 5, (1, 1), (1, 1), (0, 0), (1, 1)),
        geom(1, 4, 4, (5, 5), (1, 1), (2, 2), (1, 1)),
        geom(2, 1, 10, (1, 3), (1, 2), (0, 1), (1, 2)),
    ]
    .iter()
    .enumerate()
    {
        let (n, o) = (2, 3);
        let x = pseudo(n * g.c * g.h * g.w, i as u64);
        let w = pseudo(o * g.col_rows(), 100 + i as u64);
        let y = conv2d_grouped_forward(&x, &w, None, n, o, 1, g);
        let want = naive_conv(&x, &w, n, o, g);
        for (a, b) in y.iter().zip(&want) {
            assert!((a - b).abs() < 1e-12, "case {i}: {a} vs {b}");
        }
        // With a bias (added under the product, or by the wide layout's narrowing).
        let bias = pseudo(o, 200 + i as u64);
        let y = conv2d_grouped_forward(&x, &w, Some(&bias), n, o, 1, g);
        for (at, (a, b)) in y.iter().zip(&want).enumerate() {
            let plane = at / g.col_cols() % o;
            assert!(
                (a - (b + bias[plane])).abs() < 1e-12,
                "case {i} with bias at {at}"
            );
        }
    }
}

/// 1-D convolutions with unit stride ([`taps`]: one product per tap, `x` in place):
/// paddings that leave some taps no output at all, dilations, kernels longer than the
/// sequence's unpadded length, groups; forward with a bias, and every gradient, against the
/// direct loops group by group. Channels per group from `taps::MIN_CHANNELS` on (fewer take
/// the unfolding, as the other tests here).
#[test]
fn one_dimensional_taps_match_direct_loops() {
    let mut seed = 0;
    let min = taps::MIN_CHANNELS;
    for (c, w, k, p, d) in [
        (min, 10, 3, 1, 1),
        (min + 3, 7, 2, 0, 1),
        (2 * min, 9, 5, 2, 1),
        (min, 12, 3, 3, 2),
        (min, 3, 4, 3, 1),
        (2 * min, 2, 3, 2, 2),
        (min, 33, 7, 0, 2),
    ] {
        let split = c / min;
        for (groups, o) in [(1, 3), (split, 2 * split)] {
            let g = geom(c / groups, 1, w, (1, k), (1, 1), (0, p), (1, d));
            assert!(taps::applies(&g), "{g:?}");
            let (n, og, ow, kk) = (3, o / groups, g.ow, g.col_rows());
            let x = pseudo(n * c * w, seed);
            let wt = pseudo(o * kk, 50 + seed);
            let bias = pseudo(o, 90 + seed);
            let gy = pseudo(n * o * ow, 130 + seed);
            seed += 1;
            let y = conv2d_grouped_forward(&x, &wt, Some(&bias), n, o, groups, &g);
            let (mut gx, mut gw, mut gb) = (vec![0.0; x.len()], vec![0.0; wt.len()], vec![0.0; o]);
            conv2d_grouped_backward(
                &x,
                &wt,
                &gy,
                n,
                o,
                groups,
                &g,
                Some(&mut gx),
                Some(&mut gw),
                Some(&mut gb),
            );
            let mut want_gw = vec![0.0; wt.len()];
            for b in 0..n {
                for gi in 0..groups {
                    let xg = &x[(b * c + gi * g.c) * w..][..g.c * w];
                    let wg = &wt[gi * og * kk..][..og * kk];
                    let gyg = &gy[(b * o + gi * og) * ow..][..og * ow];
                    let at = format!("{g:?} groups {groups} sample {b} group {gi}");
                    let want_y = naive_conv(xg, wg, 1, og, &g);
                    let got_y = &y[(b * o + gi * og) * ow..][..og * ow];
                    for (i, (got, want)) in got_y.iter().zip(&want_y).enumerate() {
                        let want = want + bias[gi * og + i / ow];
                        assert!((got - want).abs() < 1e-12, "{at} y[{i}]: {got} vs {want}");
                    }
                    let (want_gx, gw_part) = naive_grads(xg, wg, gyg, 1, og, &g);
                    let got_gx = &gx[(b * c + gi * g.c) * w..][..g.c * w];
                    for (i, (got, want)) in got_gx.iter().zip(&want_gx).enumerate() {
                        assert!((got - want).abs() < 1e-12, "{at} gx[{i}]: {got} vs {want}");
                    }
                    for (acc, v) in want_gw[gi * og * kk..].iter_mut().zip(gw_part) {
                        *acc += v;
                    }
                }
            }
            for (i, (got, want)) in gw.iter().zip(&want_gw).enumerate() {
                assert!((got - want).abs() < 1e-12, "{g:?} gw[{i}]: {got} vs {want}");
            }
            for (oc, got) in gb.iter().enumerate() {
                let want: f64 = (0..n)
                    .map(|b| gy[(b * o + oc) * ow..][..ow].iter().sum::<f64>())
                    .sum();
                assert!(
                    (got - want).abs() < 1e-12,
                    "{g:?} gb[{oc}]: {got} vs {want}"
                );
            }
        }
    }
}

/// The wide-row path (unit stride, no padding): its gradients are the adjoints of its
/// forward in `x` and in `w`, <conv(x, w), gy> = <x, gx> = <w, gw>, over enough samples
/// to be split over threads.
/// Unfoldings past the L2 budget go in blocks of whole output rows ([`column_block`]),
/// a single sample's forward pass with its channels split over the threads: forward and
/// gradients against the direct sums, with and without a bias, a ragged last block,
/// stride 2 (the paired taps of `col2im_rows`), one and three samples.
#[test]
fn row_blocks_match_direct_loops() {
    for (i, g) in [
        geom(16, 80, 80, (3, 3), (1, 1), (2, 2), (2, 2)),
        geom(80, 64, 61, (3, 3), (2, 2), (1, 1), (1, 1)),
        geom(8, 20, 300, (3, 5), (1, 1), (1, 2), (1, 2)),
    ]
    .iter()
    .enumerate()
    {
        assert!(
            phases::Phases::of(g).is_none(),
            "case {i} is unfolded by rows"
        );
        for block in [column_block(g), backward_column_block(g)] {
            assert!(
                block < g.col_cols() && block.is_multiple_of(g.ow),
                "case {i}: {block}"
            );
        }
        for n in [1, 3] {
            check_against_direct_loops(g, n, 40, 300 + i as u64, &format!("case {i}, n {n}"));
        }
    }
}

/// Row blocks with two groups (one sample and two) and with no output channels: each
/// group as its own convolution over its channels.
#[test]
fn row_blocks_split_groups_and_take_no_channels() {
    // Dilated: unfolded in blocks of rows.
    let g = geom(16, 80, 80, (3, 3), (1, 1), (2, 2), (2, 2));
    assert!(phases::Phases::of(&g).is_none());
    assert!(column_block(&g) < g.col_cols());
    let (groups, og, plane) = (2, 8, g.c * g.h * g.w);
    for n in [1, 2] {
        let x = pseudo(n * groups * plane, 700);
        let w = pseudo(groups * og * g.col_rows(), 701);
        let y = conv2d_grouped_forward(&x, &w, None, n, groups * og, groups, &g);
        for gi in 0..groups {
            let xg: Vec<f64> = (0..n)
                .flat_map(|b| x[(b * groups + gi) * plane..][..plane].to_vec())
                .collect();
            let want = naive_conv(
                &xg,
                &w[gi * og * g.col_rows()..][..og * g.col_rows()],
                n,
                og,
                &g,
            );
            for b in 0..n {
                let got = &y[(b * groups + gi) * og * g.col_cols()..][..og * g.col_cols()];
                let want = &want[b * og * g.col_cols()..][..og * g.col_cols()];
                assert!(
                    got.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-11),
                    "n {n}, group {gi}"
                );
            }
        }
    }
    let x = pseudo(plane, 702);
    assert!(conv2d_grouped_forward(&x, &[], None, 1, 0, 1, &g).is_empty());
    let mut gx = vec![0.0; plane];
    conv2d_grouped_backward(
        &x,
        &[],
        &[],
        1,
        0,
        1,
        &g,
        Some(&mut gx),
        Some(&mut []),
        None,
    );
    assert!(gx.iter().all(|&v| v == 0.0));
}

/// The input and weight gradients of [`naive_conv`] by the same loops.
fn naive_grads(
    x: &[f64],
    w: &[f64],
    gy: &[f64],
    n: usize,
    o: usize,
    g: &ConvGeom,
) -> (Vec<f64>, Vec<f64>) {
    let (mut gx, mut gw) = (vec![0.0; x.len()], vec![0.0; w.len()]);
    for b in 0..n {
        for oc in 0..o {
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let d = gy[((b * o + oc) * g.oh + oy) * g.ow + ox];
                    for c in 0..g.c {
                        for i in 0..g.kh {
                            for j in 0..g.kw {
                                let iy = (oy * g.sh + i * g.dh) as isize - g.ph as isize;
                                let ix = (ox * g.sw + j * g.dw) as isize - g.pw as isize;
                                if iy < 0 || ix < 0 || iy as usize >= g.h || ix as usize >= g.w {
                                    continue;
                                }
                                let xi = ((b * g.c + c) * g.h + iy as usize) * g.w + ix as usize;
                                let wi = ((oc * g.c + c) * g.kh + i) * g.kw + j;
                                gx[xi] += d * w[wi];
                                gw[wi] += d * x[xi];
                            }
                        }
                    }
                }
            }
        }
    }
    (gx, gw)
}

/// Forward (with and without a bias) and every gradient of `n` samples into `o` channels
/// against the direct loops: the gradients added into buffers that already hold values,
/// all three at once, then `gx` alone and `gw` alone.
fn check_against_direct_loops(g: &ConvGeom, n: usize, o: usize, seed: u64, case: &str) {
    let x = pseudo(n * g.c * g.h * g.w, seed);
    let w = pseudo(o * g.col_rows(), seed + 1);
    let bias = pseudo(o, seed + 2);
    let want = naive_conv(&x, &w, n, o, g);
    let y = conv2d_grouped_forward(&x, &w, None, n, o, 1, g);
    let with_bias = conv2d_grouped_forward(&x, &w, Some(&bias), n, o, 1, g);
    assert_eq!(
        (y.len(), with_bias.len()),
        (want.len(), want.len()),
        "{case}"
    );
    for (at, b) in want.iter().enumerate() {
        let plane = at / g.col_cols() % o;
        assert!((y[at] - b).abs() < 1e-11, "{case} at {at}");
        let biased = with_bias[at] - bias[plane];
        assert!((biased - b).abs() < 1e-11, "{case} with bias at {at}");
    }
    let gy = pseudo(want.len(), seed + 3);
    let (want_gx, want_gw) = naive_grads(&x, &w, &gy, n, o, g);
    let sums: Vec<f64> = (0..o)
        .map(|c| gy.chunks(g.col_cols()).skip(c).step_by(o).flatten().sum())
        .collect();
    let start = |len: usize, at: u64| pseudo(len, seed + at);
    let close = |got: &[f64], at: u64, want: &[f64], what: &str| {
        for (i, ((a, s), b)) in got.iter().zip(start(got.len(), at)).zip(want).enumerate() {
            assert!(
                (a - s - b).abs() < 1e-10,
                "{case}: {what}[{i}] {a} vs {s} + {b}"
            );
        }
    };
    let (mut gx, mut gw, mut gb) = (start(x.len(), 4), start(w.len(), 5), start(o, 6));
    conv2d_grouped_backward(
        &x,
        &w,
        &gy,
        n,
        o,
        1,
        g,
        Some(&mut gx),
        Some(&mut gw),
        Some(&mut gb),
    );
    close(&gx, 4, &want_gx, "gx");
    close(&gw, 5, &want_gw, "gw");
    close(&gb, 6, &sums, "gb");
    let mut gx = start(x.len(), 4);
    conv2d_grouped_backward(&x, &w, &gy, n, o, 1, g, Some(&mut gx), None, None);
    close(&gx, 4, &want_gx, "gx alone");
    let mut gw = start(w.len(), 5);
    conv2d_grouped_backward(&x, &w, &gy, n, o, 1, g, None, Some(&mut gw), None);
    close(&gw, 5, &want_gw, "gw alone");
}

#[test]
fn wide_path_gradients_are_adjoints_of_its_forward() {
    for g in [
        geom(3, 9, 10, (3, 3), (1, 1), (0, 0), (1, 1)),
        geom(2, 6, 11, (2, 4), (1, 1), (0, 0), (1, 1)),
    ] {
        assert!(g.unfolds_wide());
        let (n, o) = (32, 4);
        let x = pseudo(n * g.c * g.h * g.w, 1);
        let w = pseudo(o * g.col_rows(), 2);
        let gy = pseudo(n * o * g.col_cols(), 3);
        let y = conv2d_grouped_forward(&x, &w, None, n, o, 1, &g);
        assert!(
            y.iter()
                .zip(&naive_conv(&x, &w, n, o, &g))
                .all(|(a, b)| (a - b).abs() < 1e-12)
        );
        let (mut gx, mut gw, mut gb) = (vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; o]);
        conv2d_grouped_backward(
            &x,
            &w,
            &gy,
            n,
            o,
            1,
            &g,
            Some(&mut gx),
            Some(&mut gw),
            Some(&mut gb),
        );
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(u, v)| u * v).sum::<f64>();
        let lhs = dot(&y, &gy);
        assert!((lhs - dot(&x, &gx)).abs() < 1e-9 * lhs.abs().max(1.0));
        assert!((lhs - dot(&w, &gw)).abs() < 1e-9 * lhs.abs().max(1.0));
        let sums: Vec<f64> = (0..o)
            .map(|c| gy.chunks(g.col_cols()).skip(c).step_by(o).flatten().sum())
            .collect();
        assert!(gb.iter().zip(&sums).all(|(a, b)| (a - b).abs() < 1e-9));
    }
}

#[test]
fn wide_weight_gradient_matches_direct_sums() {
    // Groups of 128 planes (read in place, one product per kernel offset) and fewer
    // (unfolded, the product transposed), with two groups so that the group offsets
    // are exercised.
    for (g, groups) in [
        (geom(128, 5, 6, (3, 2), (1, 1), (0, 0), (1, 1)), 2),
        (geom(4, 7, 9, (3, 3), (1, 1), (0, 0), (1, 1)), 2),
        (geom(1, 8, 6, (3, 2), (1, 1), (0, 0), (1, 1)), 2),
        (geom(2, 5, 12, (2, 5), (1, 1), (0, 0), (1, 1)), 1),
    ] {
        assert!(g.unfolds_wide());
        let (n, o) = (3, 4);
        let (og, k, ghw) = (o / groups, g.col_rows(), g.c * g.h * g.w);
        let x = pseudo(n * groups * ghw, 5);
        let w = pseudo(o * k, 6);
        let gy = pseudo(n * o * g.col_cols(), 7);
        let mut gw = vec![0.0; w.len()];
        conv2d_grouped_backward(&x, &w, &gy, n, o, groups, &g, None, Some(&mut gw), None);
        for oc in 0..o {
            let gi = oc / og;
            for (c, i, j) in (0..g.c)
                .flat_map(|c| (0..g.kh).flat_map(move |i| (0..g.kw).map(move |j| (c, i, j))))
            {
                let mut want = 0.0;
                for b in 0..n {
                    for oy in 0..g.oh {
                        for ox in 0..g.ow {
                            let xi =
                                ((b * groups + gi) * g.c + c) * g.h * g.w + (oy + i) * g.w + ox + j;
                            want += gy[(b * o + oc) * g.col_cols() + oy * g.ow + ox] * x[xi];
                        }
                    }
                }
                let got = gw[oc * k + (c * g.kh + i) * g.kw + j];
                assert!((got - want).abs() < 1e-12, "{got} vs {want}");
            }
        }
    }
}

#[test]
fn col2im_is_the_adjoint_of_im2col() {
    // <im2col(x), c> == <x, col2im(c)> for any x and c. Stride 2 across the columns
    // takes the tap-pair path: even and odd kernel widths, paddings up to past the
    // kernel, widths that leave a tap out of range at either end, and dilation 2 (no
    // pairs).
    let mut geometries = vec![geom(2, 7, 8, (3, 2), (2, 1), (1, 1), (2, 1))];
    for (w, kw, pw) in [
        (8, 4, 1),
        (9, 4, 1),
        (7, 3, 0),
        (6, 5, 2),
        (5, 2, 0),
        (4, 4, 3),
        (11, 6, 2),
    ] {
        geometries.push(geom(2, 5, w, (2, kw), (1, 2), (0, pw), (1, 1)));
        geometries.push(geom(1, 6, w, (3, kw), (2, 2), (1, pw), (1, 1)));
    }
    geometries.push(geom(2, 6, 9, (3, 3), (2, 2), (1, 1), (1, 2)));
    for g in geometries {
        let x = pseudo(g.c * g.h * g.w, 7);
        let c = pseudo(g.col_rows() * g.col_cols(), 8);
        let mut cols = vec![0.0; c.len()];
        im2col(&x, &g, &mut cols);
        let mut back = vec![0.0; x.len()];
        col2im(&c, &g, &mut back);
        let lhs: f64 = cols.iter().zip(&c).map(|(a, b)| a * b).sum();
        let rhs: f64 = x.iter().zip(&back).map(|(a, b)| a * b).sum();
        assert!((lhs - rhs).abs() < 1e-10, "{g:?}: {lhs} vs {rhs}");
    }
}

#[test]
fn batched_backward_matches_per_sample() {
    let g = geom(3, 6, 5, (3, 3), (1, 2), (1, 1), (1, 1));
    let (n, o) = (4, 5);
    let chw = g.c * g.h * g.w;
    let x = pseudo(n * chw, 1);
    let w = pseudo(o * g.col_rows(), 2);
    let gy = pseudo(n * o * g.col_cols(), 3);
    let (mut gx, mut gw, mut gb) = (vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; o]);
    conv2d_grouped_backward(
        &x,
        &w,
        &gy,
        n,
        o,
        1,
        &g,
        Some(&mut gx),
        Some(&mut gw),
        Some(&mut gb),
    );
    let (mut want_x, mut want_w, mut want_b) =
        (vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; o]);
    for b in 0..n {
        let gyb = &gy[b * o * g.col_cols()..][..o * g.col_cols()];
        let gxb = &mut want_x[b * chw..][..chw];
        conv2d_grouped_backward(
            &x[b * chw..][..chw],
            &w,
            gyb,
            1,
            o,
            1,
            &g,
            Some(gxb),
            Some(&mut want_w),
            Some(&mut want_b),
        );
    }
    for (got, want) in [(&gx, &want_x), (&gw, &want_w), (&gb, &want_b)] {
        for (a, b) in got.iter().zip(want.iter()) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }
}

#[test]
fn split_samples_covers_every_sample_once() {
    // Work large enough to be split whenever the machine has more than one core.
    let (n, per) = (11, 3);
    let mut out = vec![0.0f64; n * per];
    let mut acc = vec![0.0f64; 2];
    split_samples(
        n,
        per,
        1 << 30,
        4,
        &mut out,
        &mut acc,
        |samples, block, acc, scratch| {
            assert_eq!(scratch.len(), 4);
            assert_eq!(block.len(), samples.len() * per);
            for (b, chunk) in samples.zip(block.chunks_exact_mut(per)) {
                chunk.fill(b as f64);
                acc[0] += 1.0;
                acc[1] += b as f64;
            }
        },
    );
    for (b, chunk) in out.chunks_exact(per).enumerate() {
        assert!(chunk.iter().all(|&v| v == b as f64));
    }
    assert_eq!(acc, vec![n as f64, (n * (n - 1) / 2) as f64]);
    // Without a per-sample output or an accumulator.
    let count = std::sync::atomic::AtomicUsize::new(0);
    split_samples::<f64, f64, _>(n, 0, 1 << 30, 0, &mut [], &mut [], |samples, _, _, _| {
        count.fetch_add(samples.len(), std::sync::atomic::Ordering::Relaxed);
    });
    assert_eq!(count.into_inner(), n);
}

/// Padded convolutions with unit stride in the wide layout ([`phases`]): the forward pass with
/// and without a bias, and every gradient added into buffers that already hold values,
/// against the direct loops; asymmetric paddings and kernels, paddings wider than the
/// kernel's reach, batches large enough to be split over the threads.
#[test]
fn padded_plane_matches_direct_loops() {
    let cases = [
        geom(16, 14, 14, (3, 3), (1, 1), (1, 1), (1, 1)),
        geom(3, 9, 7, (3, 3), (1, 1), (2, 1), (1, 1)),
        geom(1, 12, 11, (5, 5), (1, 1), (2, 2), (1, 1)),
        geom(4, 6, 10, (2, 4), (1, 1), (0, 3), (1, 1)),
        geom(2, 5, 5, (3, 3), (1, 1), (4, 4), (1, 1)),
    ];
    check_phase_plane_cases(&cases, 10);
    // No output channels: nothing to compute, nothing added.
    let g = geom(16, 14, 14, (3, 3), (1, 1), (1, 1), (1, 1));
    let x = pseudo(2 * g.c * g.h * g.w, 50);
    assert!(conv2d_grouped_forward(&x, &[], None, 2, 0, 1, &g).is_empty());
    let mut gx = x.clone();
    conv2d_grouped_backward(
        &x,
        &[],
        &[],
        2,
        0,
        1,
        &g,
        Some(&mut gx),
        Some(&mut []),
        None,
    );
    assert_eq!(gx, x);
    // Not taken: a 1-D convolution, few unfolded rows, an unpadded convolution.
    assert_no_phase_planes(&[
        geom(8, 1, 40, (1, 3), (1, 1), (0, 1), (1, 1)),
        geom(1, 28, 28, (3, 3), (1, 1), (1, 1), (1, 1)),
        geom(16, 14, 14, (3, 3), (1, 1), (0, 0), (1, 1)),
    ]);
}

/// Each geometry takes the phase-plane path and matches the direct loops
/// ([`check_against_direct_loops`], 24 samples into 5 channels, seeds from `seed` on).
fn check_phase_plane_cases(cases: &[ConvGeom], seed: u64) {
    for (i, g) in cases.iter().enumerate() {
        assert!(
            phases::Phases::of(g).is_some(),
            "case {i} takes phase planes"
        );
        check_against_direct_loops(g, 24, 5, seed + i as u64, &format!("case {i}"));
    }
}

/// None of the geometries takes the phase-plane path.
fn assert_no_phase_planes(cases: &[ConvGeom]) {
    for g in cases {
        assert!(phases::Phases::of(g).is_none(), "{g:?}");
    }
}

/// Strided convolutions through phase planes ([`phases`]): odd and even sizes, the 7x7
/// stem, strides along one axis, row blocks, groups, against the direct loops.
#[test]
fn phase_planes_match_direct_loops() {
    let cases = [
        geom(16, 14, 14, (3, 3), (2, 2), (1, 1), (1, 1)),
        geom(3, 15, 13, (3, 3), (2, 2), (1, 1), (1, 1)),
        // The 7x7 stem: padding 3, odd.
        geom(3, 17, 16, (7, 7), (2, 2), (3, 3), (1, 1)),
        geom(2, 11, 12, (3, 2), (3, 2), (0, 1), (1, 1)),
        // One strided axis: the column phases of a unit column stride.
        geom(4, 9, 10, (2, 3), (2, 1), (1, 0), (1, 1)),
        geom(2, 10, 9, (3, 4), (1, 2), (2, 2), (1, 1)),
        geom(2, 6, 6, (4, 4), (2, 2), (0, 0), (1, 1)),
        // Padding past the kernel's reach, and a single output.
        geom(1, 5, 5, (3, 3), (2, 2), (2, 2), (1, 1)),
        geom(3, 4, 4, (3, 3), (2, 2), (0, 0), (1, 1)),
    ];
    check_phase_plane_cases(&cases, 70);
    // Enough unfolded rows for blocks of output rows, forward and backward.
    let g = geom(128, 64, 14, (3, 3), (2, 2), (1, 1), (1, 1));
    check_against_direct_loops(&g, 2, 3, 80, "row blocks");
    // Grouped: each group's block against a plain convolution of that group alone.
    let (n, groups, og) = (3, 2, 3);
    let g = geom(4, 9, 8, (3, 3), (2, 2), (1, 1), (1, 1));
    let (ghw, k, p) = (g.c * g.h * g.w, g.col_rows(), g.col_cols());
    let x = pseudo(n * groups * ghw, 90);
    let w = pseudo(groups * og * k, 91);
    let gy = pseudo(n * groups * og * p, 92);
    let y = conv2d_grouped_forward(&x, &w, None, n, groups * og, groups, &g);
    let (mut gx, mut gw) = (vec![0.0; x.len()], vec![0.0; w.len()]);
    conv2d_grouped_backward(
        &x,
        &w,
        &gy,
        n,
        groups * og,
        groups,
        &g,
        Some(&mut gx),
        Some(&mut gw),
        None,
    );
    for gi in 0..groups {
        let block = |v: &[f64], per: usize| -> Vec<f64> {
            (0..n)
                .flat_map(|b| v[(b * groups + gi) * per..][..per].to_vec())
                .collect()
        };
        let (xg, gyg) = (block(&x, ghw), block(&gy, og * p));
        let wg = &w[gi * og * k..][..og * k];
        let want = naive_conv(&xg, wg, n, og, &g);
        let (want_gx, want_gw) = naive_grads(&xg, wg, &gyg, n, og, &g);
        let close = |got: Vec<f64>, want: &[f64], what: &str| {
            for (at, (a, b)) in got.iter().zip(want).enumerate() {
                assert!((a - b).abs() < 1e-10, "group {gi} {what}[{at}]: {a} vs {b}");
            }
        };
        close(block(&y, og * p), &want, "y");
        close(block(&gx, ghw), &want_gx, "gx");
        close(gw[gi * og * k..][..og * k].to_vec(), &want_gw, "gw");
    }
    // Not taken: a kernel smaller than its stride, dilation, unit stride without padding,
    // planes too large.
    assert_no_phase_planes(&[
        geom(64, 56, 56, (1, 1), (2, 2), (0, 0), (1, 1)),
        geom(4, 20, 20, (3, 3), (2, 2), (2, 2), (2, 2)),
        geom(4, 20, 20, (3, 3), (1, 1), (0, 0), (1, 1)),
        geom(64, 224, 224, (3, 3), (2, 2), (1, 1), (1, 1)),
    ]);
}
