//! The crate's `unsafe` code paths at small sizes, for `.ci/run` to run under valgrind
//! memcheck (`--error-exitcode=1`): the gemm kernels (threaded and serial, f32 and f64, all
//! layouts through the backward pass; under valgrind the AVX2 micro-kernels, the best its
//! CPU has, and with `SHAPED_GEMM=portable` matrixmultiply), the
//! parallel element loops that write uninitialised buffers (`collect_blocks`), the thread
//! pool, convolution, max pooling, the whole-sequence LSTM (its hidden weight packed once
//! for the products of every step, `gemm::PackedB`) the `LSTMCell` step, `LayerNorm` and
//! `Linear` (outputs, activations, statistics and first gradients written without being
//! zero-filled first; bias rows copied over the threads), and the layout copies and scans
//! (permutations, joins, padding, resampling, running sums, sums along an axis, sorts,
//! narrowed runs, single-element picks and gathers) and
//! the depthwise convolution kernels, `GroupNorm` (output and first input gradient),
//! the Winograd convolution (outputs written band by band into new memory), padded
//! convolutions in the wide layout (the batch padded plane by plane into new memory),
//! `BatchNorm` over short runs (per-column sums and maps, `backend::norm_short_runs`),
//! `logsumexp` and the hand-vectorised `f32` functions (exp, tanh, sigmoid, SiLU, GELU and
//! their gradients, softmax rows, the constant power; `backend::vector_math`, AVX2 under
//! valgrind) written the same way, and the first input gradients written whole into new memory (a sum's spread,
//! a join's parts, `where_`'s masked parts, logsumexp's, a running sum's, a batch-shared
//! product side).
//! Sizes are just above the thresholds that switch on
//! threads and parallel blocks, so the whole file stays within seconds natively and within
//! a minute or two under valgrind. It also runs as an ordinary test.

use rand::SeedableRng;
use shaped::dtype::Float;
use shaped::nn::{
    BatchNorm1d, Conv2d, DepthwiseConv2d, GroupNorm, LSTM, LSTMCell, LayerNorm, Linear, MaxPool2d,
    Module, ReLU, Upsample,
};
use shaped::ops::interpolate::ScaleFactor;
use shaped::ops::pad::PadMode;
use shaped::prelude::*;

fn rng() -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(14)
}

/// Naive row-major product, to check the kernels' numbers as well as their memory use.
fn naive(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for p in 0..k {
            for j in 0..n {
                c[i * n + j] += a[i * k + p] * b[p * n + j];
            }
        }
    }
    c
}

#[test]
fn matmul_forward_and_backward() {
    let mut r = rng();
    // 2 * 96 * 128 * 96 flops: above the threaded-gemm threshold (2^21).
    for (m, k, n) in [(96, 128, 96), (5, 40, 7), (3, 0, 4)] {
        let a = Tensor::<(usize, usize)>::randn_with_shape((m, k), &mut r);
        let b = Tensor::<(usize, usize)>::randn_with_shape((k, n), &mut r);
        let want = naive(
            &a.to_dtype::<f64>().to_vec(),
            &b.to_dtype::<f64>().to_vec(),
            m,
            k,
            n,
        );
        let y = a.clone().trace().matmul(b.clone());
        for (got, want) in y.as_slice().iter().zip(&want) {
            assert!((*got as f64 - want).abs() < 1e-3 * (1.0 + want.abs()));
        }
        let grads = y.sum().backward();
        let ga = grads.get(&a).unwrap();
        assert_eq!(ga.dims().as_slice(), &[m, k]);
        let a64 = a.to_dtype::<f64>();
        let b64 = b.to_dtype::<f64>();
        let y64 = a64.matmul(b64);
        assert_eq!(y64.dims().as_slice(), &[m, n]);
    }
}

/// Batched products write their output without a zero fill: every batch's block is the
/// naive product, for a shared and a batched right side.
#[test]
fn batched_matmul_outputs_in_new_memory() {
    let mut r = rng();
    let a = Tensor::<Rank3<3, 20, 30>>::randn(&mut r);
    let shared = Tensor::<Rank2<30, 40>>::randn(&mut r);
    let batched = Tensor::<Rank3<3, 30, 40>>::randn(&mut r);
    let a64 = a.to_dtype::<f64>().to_vec();
    let (s64, b64) = (
        shared.to_dtype::<f64>().to_vec(),
        batched.to_dtype::<f64>().to_vec(),
    );
    let y_shared = a.clone().matmul(shared).to_vec();
    let y_batched = a.matmul(batched).to_vec();
    for i in 0..3 {
        let ai = &a64[i * 600..][..600];
        for (y, b) in [
            (&y_shared, &s64[..]),
            (&y_batched, &b64[i * 1200..][..1200]),
        ] {
            let want = naive(ai, b, 20, 30, 40);
            for (got, want) in y[i * 800..][..800].iter().zip(&want) {
                assert!((*got as f64 - want).abs() < 1e-3 * (1.0 + want.abs()));
            }
        }
    }
}

/// Both element types through the forward product and its backward (`gy b^T`, `a^T gy`:
/// transposed operands), threaded and serial, with odd sizes (ragged micro-panels), W7's
/// LSTM product (97 x 51 by 51 x 204), a product whose `B` is packed (not read in place), and
/// one and two rows streaming a row-major `B` (`small_rows`: groups of eight rows of `B`
/// and a remainder, blocks of 8192 columns).
fn check_product<E: Float>(m: usize, k: usize, n: usize, tol: f64) {
    let mut r = rng();
    let a = Tensor::<(usize, usize), E>::randn_with_shape((m, k), &mut r);
    let b = Tensor::<(usize, usize), E>::randn_with_shape((k, n), &mut r);
    let (a64, b64) = (a.to_dtype::<f64>().to_vec(), b.to_dtype::<f64>().to_vec());
    let want = naive(&a64, &b64, m, k, n);
    let y = a.clone().trace().matmul(b.clone());
    for (got, want) in y.as_slice().iter().zip(&want) {
        assert!(
            (got.to_f64() - want).abs() < tol * (1.0 + want.abs()),
            "{m}x{k}x{n}"
        );
    }
    let grads = y.sum().backward();
    // d sum(a b) / d a[i, p] = sum_j b[p, j].
    let ga = grads.get(&a).unwrap().to_dtype::<f64>().to_vec();
    for i in 0..m {
        for p in 0..k {
            let want: f64 = b64[p * n..(p + 1) * n].iter().sum();
            let got = ga[i * k + p];
            assert!((got - want).abs() < tol * (1.0 + want.abs()) * (n as f64).sqrt());
        }
    }
}

#[test]
fn matmul_every_kernel_f32_and_f64() {
    for (m, k, n) in [
        (97, 51, 204),
        (37, 29, 13),
        (130, 70, 300),
        (1, 1, 1),
        (1, 37, 9000),
        (2, 19, 300),
    ] {
        check_product::<f32>(m, k, n, 1e-3);
        check_product::<f64>(m, k, n, 1e-10);
    }
}

#[test]
fn parallel_elementwise_forward_and_backward() {
    let mut r = rng();
    // 2^17 elements: split over the pool (PARALLEL_ELEMS is 2^16).
    let n = 1 << 17;
    let a = Tensor::<(usize,)>::randn_with_shape((n,), &mut r);
    let b = Tensor::<(usize,)>::randn_with_shape((n,), &mut r);
    let y = (a.clone().trace() * b.clone()).relu().tanh();
    let grads = y.sum().backward();
    let ga = grads.get(&a).unwrap();
    assert!(ga.as_slice().iter().all(|v| v.is_finite()));
    let s = (a.clone() + b.clone()).sigmoid();
    assert!(s.as_slice().iter().all(|&v| (0.0..=1.0).contains(&v)));
}

#[test]
fn convolution_and_pooling_forward_and_backward() {
    let mut r = rng();
    let mut model = (Conv2d::<2, 4, 3>::new(&mut r), ReLU, MaxPool2d::<2>);
    let x = Tensor::<(usize, Const<2>, Const<10>, Const<10>)>::randn_with_shape(
        (3, Const, Const, Const),
        &mut r,
    );
    let y = model.forward_train(x.clone().trace());
    assert_eq!(y.dims().as_slice(), &[3, 4, 4, 4]);
    let grads = y.sum().backward();
    assert_eq!(grads.get(&x).unwrap().numel(), x.numel());
    assert!(grads.get(&model.0.weight).is_some());
}

#[test]
fn threads_share_a_model() {
    let mut r = rng();
    let model = Conv2d::<1, 2, 3>::new(&mut r);
    let x = Tensor::<Rank4<2, 1, 8, 8>>::randn(&mut r);
    let want = model.forward(x.clone()).to_vec();
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| assert_eq!(model.forward(x.clone()).to_vec(), want));
        }
    });
}

#[test]
fn cnn_layers_above_the_thread_thresholds() {
    // The issue-15 CNN's layers at batch 8: convolutions split over samples (the wide
    // layout, its weight gradient read from the input in place), 2x2 max pooling split by
    // planes (the AVX-512 kernel where the CPU has it), outputs and the pooling's input
    // gradient written into uninitialised buffers by the threads.
    let mut r = rng();
    let mut model = (
        Conv2d::<1, 16, 3>::new(&mut r),
        ReLU,
        MaxPool2d::<2>,
        Conv2d::<16, 32, 3>::new(&mut r),
        ReLU,
        MaxPool2d::<2>,
    );
    let x = Tensor::<Rank4<8, 1, 28, 28>>::randn(&mut r);
    let y = model.forward_train(x.clone().trace());
    assert_eq!(y.dims().as_slice(), &[8, 32, 5, 5]);
    // The batch's first sample alone (no threads) gives the same outputs.
    let x0 = Tensor::<Rank4<1, 1, 28, 28>>::from_vec(x.as_slice()[..28 * 28].to_vec()).unwrap();
    let y0 = model.forward(x0);
    for (a, b) in y.as_slice()[..32 * 25].iter().zip(y0.as_slice()) {
        assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{a} vs {b}");
    }
    let grads = y.sum().backward();
    let gx = grads.get(&x).unwrap();
    assert!(gx.as_slice().iter().all(|v| v.is_finite()));
    assert!(gx.as_slice().iter().any(|&v| v != 0.0));
    let gw1 = grads.get(&model.0.weight).unwrap().to_vec();
    let gw2 = grads.get(&model.3.weight).unwrap().to_vec();
    for gw in [gw1, gw2] {
        assert!(gw.iter().all(|v| v.is_finite()) && gw.iter().any(|&v| v != 0.0));
    }
}

#[test]
fn lstm_sequence_with_packed_weights() {
    // Batch 5 over 8 steps at H = 128: the batch rows split over two threads, each step's
    // products reading W_hh^T (forward) and W_hh (backward) from their packed panels. The
    // same model on the first row alone (one block, no threads) gives the same outputs.
    let mut r = rng();
    let mut lstm = LSTM::<6, 128>::new(&mut r);
    let x = Tensor::<Rank3<5, 8, 6>>::randn(&mut r);
    let (y, _) = lstm.forward_train(x.clone().trace());
    let grads = y.clone().sum().backward();
    let gx = grads.get(&x).unwrap();
    assert!(gx.as_slice().iter().all(|v| v.is_finite()));
    assert!(grads.get(&lstm.first.weight_hh).is_some());
    let x0 = Tensor::<Rank3<1, 8, 6>>::from_vec(x.as_slice()[..8 * 6].to_vec()).unwrap();
    let (y0, _) = lstm.forward(x0);
    for (a, b) in y.as_slice()[..8 * 128].iter().zip(y0.as_slice()) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
}

#[test]
fn lstm_cell_steps_write_every_output() {
    // Batch 48, H = 64: each step's rows split over two threads, every step's h', c' and
    // activations written into uninitialised memory, and in the backward pass the input
    // gradients of x, h and c (`StepGrads`). Three traced f64 steps, backward, and
    // the first row alone (one block) must give the same h' and input gradient.
    let mut r = rng();
    let cell = LSTMCell::<8, 64, f64>::new(&mut r);
    let x = Tensor::<Rank2<48, 8>, f64>::randn(&mut r);
    let x0 = Tensor::<Rank2<1, 8>, f64>::from_vec(x.as_slice()[..8].to_vec()).unwrap();
    let xt = x.clone().trace();
    let (h, c) = cell.forward(xt.clone());
    let (h, c) = cell.forward((xt.clone(), (h, c)));
    let (h, _) = cell.forward((xt.clone(), (h, c)));
    let grads = h.clone().sum().backward();
    let gx = grads.get(&xt).unwrap();
    let xt0 = x0.trace();
    let (h0, c0) = cell.forward(xt0.clone());
    let (h0, c0) = cell.forward((xt0.clone(), (h0, c0)));
    let (h0, _) = cell.forward((xt0.clone(), (h0, c0)));
    let grads0 = h0.clone().sum().backward();
    let gx0 = grads0.get(&xt0).unwrap();
    for (a, b) in h.as_slice()[..64].iter().zip(h0.as_slice()) {
        assert!((a - b).abs() < 1e-12, "h': {a} vs {b}");
    }
    for (a, b) in gx.as_slice()[..8].iter().zip(gx0.as_slice()) {
        assert!((a - b).abs() < 1e-12, "dx: {a} vs {b}");
    }
    assert!(h.as_slice().iter().all(|v| v.is_finite() && v.abs() < 1.0));
}

#[test]
fn group_norm_writes_every_output_and_first_gradient() {
    // 12 samples of 6 channels of 31 x 31 in 3 groups: blocks of groups over the threads.
    // The first sample alone must give the same output and input gradient (written into new
    // memory in both: the input's first gradient).
    let mut r = rng();
    let mut gn = GroupNorm::<3, 6, f64>::new();
    gn.weight = Tensor::randn(&mut r);
    gn.bias = Tensor::randn(&mut r);
    let x = Tensor::<Rank4<12, 6, 31, 31>, f64>::randn(&mut r);
    let xt = x.clone().trace();
    let y = gn.forward(xt.clone());
    let gx = (y.clone() * y.clone())
        .sum()
        .backward()
        .get(&xt)
        .unwrap()
        .clone();
    let x0 =
        Tensor::<Rank4<1, 6, 31, 31>, f64>::from_vec(x.as_slice()[..6 * 961].to_vec()).unwrap();
    let x0t = x0.trace();
    let y0 = gn.forward(x0t.clone());
    let gx0 = (y0.clone() * y0.clone())
        .sum()
        .backward()
        .get(&x0t)
        .unwrap()
        .clone();
    for (a, b) in y.as_slice()[..6 * 961].iter().zip(y0.as_slice()) {
        assert!((a - b).abs() < 1e-12, "y: {a} vs {b}");
    }
    for (a, b) in gx.as_slice()[..6 * 961].iter().zip(gx0.as_slice()) {
        assert!((a - b).abs() < 1e-12, "dx: {a} vs {b}");
    }
    let total: f64 = gx.as_slice().iter().map(|g| g.abs()).sum();
    assert!(total > 0.0 && total.is_finite());
}

#[test]
fn winograd_convolution_writes_every_output() {
    // 3 samples of 32 channels of 15 x 14 (odd: the last tile row is cut), split over the
    // threads by samples; each sample alone must give the same output and input gradient.
    let mut r = rng();
    let conv = Conv2d::<32, 32, 3, 1, 1>::new(&mut r);
    let x = Tensor::<Rank4<3, 32, 15, 14>>::randn(&mut r);
    let xt = x.clone().trace();
    let y = conv.forward(xt.clone());
    let g = (y.clone() * y.clone()).sum().backward();
    let Some(gx) = g.get(&xt) else {
        panic!("no input gradient")
    };
    let per_in = 32 * 15 * 14;
    let per_out = 32 * 15 * 14;
    for s in 0..3 {
        let xs =
            Tensor::<Rank4<1, 32, 15, 14>>::from_vec(x.as_slice()[s * per_in..][..per_in].to_vec())
                .unwrap();
        let xst = xs.trace();
        let ys = conv.forward(xst.clone());
        let gs = (ys.clone() * ys.clone()).sum().backward();
        let Some(gxs) = gs.get(&xst) else {
            panic!("no input gradient")
        };
        for (a, b) in y.as_slice()[s * per_out..][..per_out]
            .iter()
            .zip(ys.as_slice())
        {
            assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "y: {a} vs {b}");
        }
        for (a, b) in gx.as_slice()[s * per_in..][..per_in]
            .iter()
            .zip(gxs.as_slice())
        {
            assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "gx: {a} vs {b}");
        }
    }
}

#[test]
fn winograd_single_sample_splits_channels_over_threads() {
    // One sample: its 64 output channels are split over the threads (each block written
    // into new memory by its own thread); the same sample twice in a batch goes by samples.
    let mut r = rng();
    let conv = Conv2d::<64, 64, 3, 1, 1>::new(&mut r);
    let x = Tensor::<Rank4<1, 64, 32, 32>>::randn(&mut r);
    let y = conv.forward(x.clone());
    let twice: Vec<f32> = [x.as_slice(), x.as_slice()].concat();
    let Ok(x2) = Tensor::<Rank4<2, 64, 32, 32>>::from_vec(twice) else {
        panic!("two samples")
    };
    let y2 = conv.forward(x2);
    for (a, b) in y.as_slice().iter().zip(&y2.as_slice()[64 * 32 * 32..]) {
        assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "y: {a} vs {b}");
    }
}

#[test]
fn convolution_in_row_blocks_writes_every_output() {
    // An unfolding past the cache budget (16 x 9 rows by 64 x 64 positions, dilated, so
    // unfolded by rows) goes in blocks of output rows; one sample splits its 32 output
    // channels over the threads (each block of `y` written into new memory by its own
    // thread), two go by samples.
    let mut r = rng();
    let conv = Conv2d::<16, 32, 3, 1, 2, 2>::new(&mut r);
    let x = Tensor::<Rank4<1, 16, 64, 64>>::randn(&mut r);
    let y = conv.forward(x.clone());
    let twice: Vec<f32> = [x.as_slice(), x.as_slice()].concat();
    let Ok(x2) = Tensor::<Rank4<2, 16, 64, 64>>::from_vec(twice) else {
        panic!("two samples")
    };
    let y2 = conv.forward(x2);
    for (a, b) in y.as_slice().iter().zip(&y2.as_slice()[32 * 64 * 64..]) {
        assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "y: {a} vs {b}");
    }
}

#[test]
fn padded_convolution_writes_every_output_and_input_gradient() {
    // A padded 3x3 convolution in the wide layout: each sample padded into its phase plane,
    // unfolded in wide rows and narrowed into new memory, its input gradient merged back
    // from the padded plane's; values checked against direct sums at the corners, edges
    // and middle.
    let mut r = rng();
    let conv = Conv2d::<16, 16, 3, 1, 1>::new(&mut r);
    let x = Tensor::<Rank4<8, 16, 24, 24>>::randn(&mut r);
    let xt = x.clone().trace();
    let y = conv.forward(xt.clone());
    let (xs, ws, bs) = (
        x.as_slice(),
        conv.weight.as_slice(),
        conv.bias.as_ref().map(|b| b.as_slice()),
    );
    let at = |b: usize, c: usize, i: isize, j: isize| -> f64 {
        if (0..24).contains(&i) && (0..24).contains(&j) {
            xs[((b * 16 + c) * 24 + i as usize) * 24 + j as usize] as f64
        } else {
            0.0
        }
    };
    for (b, o, i, j) in [
        (0, 0, 0, 0),
        (7, 15, 23, 23),
        (3, 5, 0, 11),
        (4, 9, 12, 23),
        (5, 2, 10, 7),
    ] {
        let mut want = bs.map_or(0.0, |bias| bias[o] as f64);
        for c in 0..16 {
            for di in 0..3 {
                for dj in 0..3 {
                    let w = ws[((o * 16 + c) * 3 + di) * 3 + dj] as f64;
                    want += w * at(b, c, i + di as isize - 1, j + dj as isize - 1);
                }
            }
        }
        let got = y.as_slice()[((b * 16 + o) * 24 + i as usize) * 24 + j as usize] as f64;
        assert!(
            (got - want).abs() < 1e-4 * (1.0 + want.abs()),
            "y[{b}, {o}, {i}, {j}]: {got} vs {want}"
        );
    }
    let grads = y.sum().backward();
    let Some(gx) = grads.get(&xt) else {
        panic!("no input gradient")
    };
    // d sum(y) / dx[b, c, i, j]: the weights of every output tap that reads it.
    for (b, c, i, j) in [(0, 0, 0, 0), (7, 15, 23, 23), (2, 8, 0, 12), (6, 3, 11, 11)] {
        let mut want = 0.0;
        for o in 0..16 {
            for di in 0..3usize {
                for dj in 0..3usize {
                    let (oi, oj) = (i as isize + 1 - di as isize, j as isize + 1 - dj as isize);
                    if (0..24).contains(&oi) && (0..24).contains(&oj) {
                        want += ws[((o * 16 + c) * 3 + di) * 3 + dj] as f64;
                    }
                }
            }
        }
        let got = gx.as_slice()[((b * 16 + c) * 24 + i) * 24 + j] as f64;
        assert!(
            (got - want).abs() < 1e-4 * (1.0 + want.abs()),
            "gx[{b}, {c}, {i}, {j}]: {got} vs {want}"
        );
    }
}

#[test]
fn batch_norm_over_short_runs_writes_every_output() {
    // (N, C) and (N, C, 4): one value and four values per run, the sums split over the
    // threads by columns and the maps by rows; checked against the formula per channel.
    let mut r = rng();
    let mut bn = BatchNorm1d::<70>::new();
    let x = Tensor::<Rank2<1000, 70>>::randn(&mut r);
    let xt = x.clone().trace();
    let y = bn.forward_train(xt.clone());
    let g = (y.clone() * y.clone()).sum().backward();
    let Some(gx) = g.get(&xt) else {
        panic!("no input gradient")
    };
    let (xs, ys) = (x.as_slice(), y.as_slice());
    for ch in [0, 33, 69] {
        let col: Vec<f64> = (0..1000).map(|n| xs[n * 70 + ch] as f64).collect();
        let mean = col.iter().sum::<f64>() / 1000.0;
        let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 1000.0;
        for n in [0, 499, 999] {
            let want = (col[n] - mean) / (var + 1e-5).sqrt();
            let got = ys[n * 70 + ch] as f64;
            assert!((got - want).abs() < 1e-4, "y[{n}, {ch}]: {got} vs {want}");
        }
    }
    assert!(gx.as_slice().iter().all(|v| v.is_finite()));
    let mut bn3 = BatchNorm1d::<40>::new();
    let x3 = Tensor::<Rank3<500, 40, 4>>::randn(&mut r);
    let x3t = x3.clone().trace();
    let y3 = bn3.forward_train(x3t.clone());
    let g3 = (y3.clone() * x3.clone()).sum().backward();
    let Some(gx3) = g3.get(&x3t) else {
        panic!("no input gradient")
    };
    let per_channel_mean = |ch: usize| -> f64 {
        let ys = y3.as_slice();
        (0..500)
            .flat_map(|n| (0..4).map(move |i| (n, i)))
            .map(|(n, i)| ys[n * 160 + ch * 4 + i] as f64)
            .sum::<f64>()
            / 2000.0
    };
    for ch in [0, 17, 39] {
        assert!(
            per_channel_mean(ch).abs() < 1e-5,
            "channel {ch} not centred"
        );
    }
    assert!(gx3.as_slice().iter().all(|v| v.is_finite()));
}

#[test]
fn logsumexp_writes_every_output() {
    // Rows and columns (a middle axis) above the thresholds that split them over the threads,
    // against the two-pass definition.
    let x: Vec<f64> = (0..300 * 250)
        .map(|i| ((i * 37 % 101) as f64) / 17.0 - 3.0)
        .collect();
    let t = Tensor::<Rank2<300, 250>, f64>::from_vec(x.clone()).unwrap();
    let rows = t.clone().logsumexp_dim::<1>().to_vec();
    let cols = t.logsumexp_dim::<0>().to_vec();
    for r in [0, 150, 299] {
        let want = x[r * 250..][..250]
            .iter()
            .map(|v| v.exp())
            .sum::<f64>()
            .ln();
        assert!(
            (rows[r] - want).abs() < 1e-12,
            "row {r}: {} vs {want}",
            rows[r]
        );
    }
    for c in [0, 120, 249] {
        let want = (0..300).map(|r| x[r * 250 + c].exp()).sum::<f64>().ln();
        assert!(
            (cols[c] - want).abs() < 1e-12,
            "column {c}: {} vs {want}",
            cols[c]
        );
    }
}

/// Values for the hand-vectorised `f32` loops: 70,001 of them (above the threads' threshold
/// of 2^16 and not a multiple of a vector), from `-shift` in steps of `1 / scale`, as a
/// vector and as a tensor.
const VECTOR_LEN: usize = 70_001;
fn vector_inputs(scale: f32, shift: f32) -> (Vec<f32>, Tensor<(usize,), f32>) {
    let x: Vec<f32> = (0..VECTOR_LEN)
        .map(|i| ((i * 37 % 1013) as f32) / scale - shift)
        .collect();
    let t = Tensor::<(usize,), f32>::from_vec_with_shape(x.clone(), (VECTOR_LEN,)).unwrap();
    (x, t)
}

/// The gradient of `t` through `f` under a uniform output gradient (`f(t).sum()`) and a
/// buffer one (`(0.5 f(t)).sum()`).
fn input_gradients(
    t: &Tensor<(usize,), f32>,
    f: impl Fn(Tensor<(usize,), f32, OwnedTape<f32>>) -> Tensor<(usize,), f32, OwnedTape<f32>>,
) -> (Vec<f32>, Vec<f32>) {
    let run = |weighted: bool| {
        let y = f(t.clone().trace());
        let loss = if weighted {
            y.mul_scalar(0.5).sum()
        } else {
            y.sum()
        };
        loss.backward().get(t).unwrap().to_vec()
    };
    (run(false), run(true))
}

#[test]
fn vector_functions_write_every_output() {
    // f32 above the threads' threshold (2^16 values) and not a multiple of a vector, against
    // f64: forward into new memory and in place, the backward of GELU and SiLU (uniform and
    // buffer output gradients), softmax and log-softmax rows with their backward.
    let (x, t) = vector_inputs(50.0, 10.0);
    let sigmoid = |v: f64| 1.0 / (1.0 + (-v).exp());
    // A name, shaped's result and the f64 reference function.
    type Check = (&'static str, Tensor<(usize,), f32>, fn(f64) -> f64);
    let checks: [Check; 4] = [
        ("exp", t.clone().exp(), f64::exp),
        ("tanh", t.clone().tanh(), f64::tanh),
        ("sigmoid", t.clone().sigmoid(), |v| 1.0 / (1.0 + (-v).exp())),
        ("silu", t.clone().silu(), |v| v / (1.0 + (-v).exp())),
    ];
    for (name, y, f) in checks {
        for (i, (&got, &xv)) in y.as_slice().iter().zip(&x).enumerate().step_by(997) {
            let want = f(f64::from(xv));
            assert!(
                (f64::from(got) - want).abs() <= 1e-6 * want.abs().max(1.0),
                "{name}[{i}]"
            );
        }
    }
    // In place: the only owner of its buffer.
    let owned = Tensor::<(usize,), f32>::from_vec_with_shape(x.clone(), (VECTOR_LEN,))
        .unwrap()
        .exp();
    assert_eq!(owned.as_slice(), t.clone().exp().as_slice());
    let gelu = t.clone().gelu();
    assert!(gelu.as_slice().iter().all(|v| v.is_finite()));
    for act in ["silu", "gelu"] {
        let (g, g_half) =
            input_gradients(&t, |xt| if act == "silu" { xt.silu() } else { xt.gelu() });
        for i in (0..VECTOR_LEN).step_by(991) {
            let v = f64::from(x[i]);
            let want = if act == "silu" {
                let s = sigmoid(v);
                s * (1.0 + v * (1.0 - s))
            } else {
                let pdf = (-0.5 * v * v).exp() / (2.0 * std::f64::consts::PI).sqrt();
                0.5 * (1.0 + libm_erf(v / std::f64::consts::SQRT_2)) + v * pdf
            };
            assert!((f64::from(g[i]) - want).abs() < 1e-5, "{act}'[{i}]");
            assert!(
                (f64::from(g_half[i]) - 0.5 * want).abs() < 1e-5,
                "{act}'[{i}] x 0.5"
            );
        }
    }
    // Rows of 1000 (not a multiple of 16) over the threads.
    let m = Tensor::<(usize, usize), f32>::from_vec_with_shape(x[..70_000].to_vec(), (70, 1000))
        .unwrap();
    let p = m.clone().softmax::<1>().to_vec();
    let lp = m.clone().log_softmax::<1>().to_vec();
    for r in [0, 35, 69] {
        let row = &x[r * 1000..][..1000];
        let mx = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        let total: f64 = row.iter().map(|&v| f64::from(v - mx).exp()).sum();
        for k in [0, 501, 999] {
            let want = f64::from(row[k] - mx).exp() / total;
            assert!((f64::from(p[r * 1000 + k]) - want).abs() < 1e-6, "softmax");
            assert!(
                (f64::from(lp[r * 1000 + k]) - want.ln()).abs() < 1e-4,
                "log_softmax"
            );
        }
    }
    let g = m
        .clone()
        .trace()
        .log_softmax::<1>()
        .mul_scalar(-1.0)
        .sum()
        .backward();
    let g = g.get(&m).unwrap().to_vec();
    // d/dx of -sum(log_softmax) over a row of n: -1 + n p.
    for i in [0, 34_567, 69_999] {
        let want = -1.0 + 1000.0 * f64::from(p[i]);
        assert!(
            (f64::from(g[i]) - want).abs() < 1e-3,
            "log_softmax grad [{i}]"
        );
    }
}

#[test]
fn vector_powers_write_every_output() {
    // A constant power of f32 above the threads' threshold and not a multiple of a vector
    // (`backend::vector_math::pow`), into new memory and in place, and its backward with a
    // uniform and a buffer output gradient.
    let (x, t) = vector_inputs(100.0, 1.0);
    let close = |got: f32, want: f64| {
        (want.is_nan() && got.is_nan())
            || (f64::from(got) - want).abs() <= 1e-6 * want.abs().max(1.0)
    };
    for p in [2.5f32, -1.5, 3.0] {
        let y = t.clone().powf(p);
        let owned = Tensor::<(usize,), f32>::from_vec_with_shape(x.clone(), (VECTOR_LEN,))
            .unwrap()
            .powf(p);
        let bits = |t: &Tensor<(usize,), f32>| {
            t.as_slice().iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        };
        assert!(bits(&owned) == bits(&y), "^{p} in place");
        for (i, (&got, &xv)) in y.as_slice().iter().zip(&x).enumerate().step_by(997) {
            assert!(close(got, f64::from(xv).powf(f64::from(p))), "^{p}[{i}]");
        }
        let (g, g_half) = input_gradients(&t, |xt| xt.powf(p));
        for i in (0..VECTOR_LEN).step_by(991) {
            let want = f64::from(p) * f64::from(x[i]).powf(f64::from(p) - 1.0);
            assert!(close(g[i], want), "d^{p}[{i}]");
            assert!(close(g_half[i], 0.5 * want), "d^{p}[{i}] weighted");
        }
    }
}

/// erf by its Taylor series (|z| <= 3) or its continued fraction, for the GELU check.
fn libm_erf(z: f64) -> f64 {
    if z.abs() > 3.0 {
        // erfc(z) = e^-z^2 / (z sqrt(pi)) (1 - 1/(2z^2) + 3/(4z^4) - ...), 1e-7 here.
        let a = z.abs();
        let w = 1.0 / (2.0 * a * a);
        let tail = (-a * a).exp() / (a * std::f64::consts::PI.sqrt())
            * (1.0 - w + 3.0 * w * w - 15.0 * w * w * w);
        return z.signum() * (1.0 - tail);
    }
    let mut term = z;
    let mut sum = z;
    for k in 1..80 {
        term *= -z * z / k as f64;
        sum += term / (2 * k + 1) as f64;
    }
    sum * 2.0 / std::f64::consts::PI.sqrt()
}

#[test]
fn layer_norm_rows_split_over_threads() {
    // 600 x 121 values: above the threshold that cuts the rows into one block per thread,
    // with rows that are not a multiple of the kernel's eight partial sums. The first row
    // alone must give the same output and input gradient.
    let mut r = rng();
    let ln = LayerNorm::<121, f64>::new();
    let x = Tensor::<Rank2<600, 121>, f64>::randn(&mut r);
    let xt = x.clone().trace();
    let y = ln.forward(xt.clone());
    let gx = (y.clone() * y.clone())
        .sum()
        .backward()
        .get(&xt)
        .unwrap()
        .clone();
    let x0 = Tensor::<Rank2<1, 121>, f64>::from_vec(x.as_slice()[..121].to_vec()).unwrap();
    let x0t = x0.trace();
    let y0 = ln.forward(x0t.clone());
    let gx0 = (y0.clone() * y0.clone())
        .sum()
        .backward()
        .get(&x0t)
        .unwrap()
        .clone();
    for (a, b) in y.as_slice()[..121].iter().zip(y0.as_slice()) {
        assert!((a - b).abs() < 1e-12, "y: {a} vs {b}");
    }
    for (a, b) in gx.as_slice()[..121].iter().zip(gx0.as_slice()) {
        assert!((a - b).abs() < 1e-12, "dx: {a} vs {b}");
    }
}

#[test]
fn linear_outputs_and_first_gradients_in_new_memory() {
    // 130 x 300 by 300 x 190: threaded products. Without a bias the output, and with or
    // without one the first gradients of x and the weight, are written by products into
    // uninitialised memory; checked against naive products in f64.
    let mut r = rng();
    let x = Tensor::<Rank2<130, 300>, f64>::randn(&mut r);
    for layer in [
        Linear::<300, 190, f64>::new(&mut r),
        Linear::<300, 190, f64>::new_no_bias(&mut r),
    ] {
        let w = layer.weight.as_slice().to_vec();
        let wt: Vec<f64> = (0..300 * 190)
            .map(|q| w[(q % 190) * 300 + q / 190])
            .collect();
        let xv = x.as_slice().to_vec();
        let mut want = naive(&xv, &wt, 130, 300, 190);
        if let Some(b) = &layer.bias {
            for (q, v) in want.iter_mut().enumerate() {
                *v += b.as_slice()[q % 190];
            }
        }
        let xt = x.clone().trace();
        let y = layer.forward(xt.clone());
        for (got, want) in y.as_slice().iter().zip(&want) {
            assert!((got - want).abs() < 1e-10 * (1.0 + want.abs()));
        }
        let grads = y.sum().backward();
        // d sum(x W^T) / d x[i, p] = sum_o W[o, p]; / d W[o, p] = sum_i x[i, p].
        let (gx, gw) = (grads.get(&xt).unwrap(), grads.get(&layer.weight).unwrap());
        for p in 0..300 {
            let col_w: f64 = (0..190).map(|o| w[o * 300 + p]).sum();
            let col_x: f64 = (0..130).map(|i| xv[i * 300 + p]).sum();
            assert!((gx.as_slice()[7 * 300 + p] - col_w).abs() < 1e-10);
            assert!((gw.as_slice()[11 * 300 + p] - col_x).abs() < 1e-10);
        }
    }
}

#[test]
fn linear_bias_rows_copied_over_threads() {
    // 400 x 8 by 8 x 200: 80K output elements, so the bias rows that start the product are
    // copied by both threads into uninitialised memory, blocks cut inside a row.
    let mut r = rng();
    let x = Tensor::<Rank2<400, 8>, f64>::randn(&mut r);
    let layer = Linear::<8, 200, f64>::new(&mut r);
    let (xv, w) = (x.as_slice().to_vec(), layer.weight.as_slice().to_vec());
    let b = layer.bias.as_ref().unwrap().as_slice().to_vec();
    let y = layer.forward(x);
    for (q, got) in y.as_slice().iter().enumerate() {
        let (i, o) = (q / 200, q % 200);
        let want = b[o] + (0..8).map(|p| xv[i * 8 + p] * w[o * 8 + p]).sum::<f64>();
        assert!(
            (got - want).abs() < 1e-12 * (1.0 + want.abs()),
            "y[{i}, {o}]"
        );
    }
}

#[test]
fn layout_copies_and_scans_write_every_output() {
    // Each output is written without a zero fill, in blocks over both threads: permutations
    // merged into tiled transposes (whole and ragged tiles) and strided rows, joins, running
    // sums and sums along an axis, all above the thresholds that split them.
    let x: Vec<f32> = (0..2 * 48 * 40 * 20).map(|i| i as f32).collect();
    let t = Tensor::<Rank4<2, 48, 40, 20>>::from_vec(x.clone()).unwrap();
    let nhwc = t.clone().permute::<0, 2, 3, 1>().to_vec();
    let reversed = t.clone().permute::<3, 2, 1, 0>().to_vec();
    for (n, c, h, w) in [(0, 0, 0, 0), (1, 47, 39, 19), (1, 17, 3, 11)] {
        let v = x[((n * 48 + c) * 40 + h) * 20 + w];
        assert_eq!(nhwc[((n * 40 + h) * 20 + w) * 48 + c], v);
        assert_eq!(reversed[((w * 40 + h) * 48 + c) * 2 + n], v);
    }
    let m =
        Tensor::<Rank2<300, 257>>::from_vec((0..300 * 257).map(|i| i as f32).collect()).unwrap();
    let mt = m.clone().t().to_vec();
    assert!((0..300 * 257).all(|q| mt[(q % 257) * 300 + q / 257] == q as f32));
    let joined = Tensor::cat::<1, _>(vec![m.clone(), m.clone()]).to_vec();
    assert!((0..300 * 514).all(|q| joined[q] == ((q / 514) * 257 + (q % 514) % 257) as f32));
    let running = m.clone().cumsum::<1>().to_vec();
    let sums = m.clone().sum_dim::<1>().to_vec();
    for row in [0, 150, 299] {
        let base = (row * 257) as f64;
        let total: f64 = (0..257).map(|j| base + j as f64).sum();
        assert_eq!(running[row * 257 + 256], total as f32);
        assert_eq!(sums[row], total as f32);
    }
    let img =
        Tensor::<Rank4<2, 40, 30, 30>>::from_vec((0..72_000).map(|i| i as f32).collect()).unwrap();
    let up = Upsample::nearest(ScaleFactor::<2>)
        .forward(img.clone())
        .to_vec();
    let smooth = Upsample::bilinear(ScaleFactor::<2>, true)
        .forward(img.clone())
        .to_vec();
    let padded = img
        .clone()
        .pad2::<1, 2, 3, 0>(PadMode::Constant(-1.0))
        .to_vec();
    for (p, i, j) in [(0, 0, 0), (79, 29, 29), (41, 7, 13)] {
        let v = (p * 900 + i * 30 + j) as f32;
        assert_eq!(up[p * 3600 + (2 * i + 1) * 60 + 2 * j], v);
        assert_eq!(smooth[p * 3600], (p * 900) as f32);
        assert_eq!(padded[p * 33 * 33 + (i + 3) * 33 + j + 1], v);
        assert_eq!(padded[p * 33 * 33 + i * 33 + 32], -1.0);
    }
    // Rows of odd length copied as overlapping chunks, consecutive picks as whole runs,
    // single-element picks and gathers by rows over both threads.
    let swapped = t.clone().permute::<0, 2, 1, 3>().to_vec();
    let narrowed = t.clone().narrow::<3, 1, 17>().to_vec();
    let every_other = m.clone().slice_step::<1>(1, 257, 2).to_vec();
    let picks =
        Indices::<Rank2<300, 40>>::from_vec((0..12_000).map(|i| (i * 7) % 257).collect()).unwrap();
    let gathered = m.clone().gather::<1, _>(&picks).to_vec();
    let down =
        Indices::<Rank2<300, 257>>::from_vec((0..300 * 257).map(|i| (i * 13) % 300).collect())
            .unwrap();
    let gathered0 = m.clone().gather::<0, _>(&down).to_vec();
    for (n, c, h, w) in [(0, 0, 0, 0), (1, 47, 39, 16), (1, 17, 3, 11)] {
        let v = x[((n * 48 + c) * 40 + h) * 20 + w];
        assert_eq!(swapped[((n * 40 + h) * 48 + c) * 20 + w], v);
        assert_eq!(
            narrowed[((n * 48 + c) * 40 + h) * 17 + w],
            x[((n * 48 + c) * 40 + h) * 20 + w + 1]
        );
    }
    assert!((0..300 * 128).all(|q| every_other[q] == ((q / 128) * 257 + 1 + 2 * (q % 128)) as f32));
    assert!((0..12_000).all(|q| gathered[q] == ((q / 40) * 257 + (q * 7) % 257) as f32));
    assert!((0..300 * 257).all(|q| gathered0[q] == (((q * 13) % 300) * 257 + q % 257) as f32));
    let (sorted, order) = m.clone().neg().sort::<1>(false);
    let (sorted, order) = (sorted.to_vec(), order.to_vec());
    assert!((0..300 * 257).all(|q| order[q] == 256 - q % 257));
    assert!((0..300 * 257).all(|q| sorted[q] == -(((q / 257) * 257 + 256 - q % 257) as f32)));
}

#[test]
fn first_gradients_written_into_new_memory() {
    // Backward passes that write an input's first gradient whole instead of adding into
    // zeros, over both threads: a sum's spread (last and middle axes), a join's parts,
    // `where_`'s masked parts, logsumexp's, a running sum's and a batch-shared product side.
    let m = Tensor::<Rank2<300, 257>, f64>::from_vec((0..300 * 257).map(|i| i as f64).collect())
        .unwrap();
    let w = Tensor::<Rank1<257>, f64>::from_vec((0..257).map(|j| j as f64).collect()).unwrap();
    let mt = m.clone().trace();
    let g = (mt.clone().sum_dim::<1>() * Tensor::<Rank1<300>, f64>::ones())
        .sum()
        .backward();
    assert!(g.get(&mt).unwrap().as_slice().iter().all(|&v| v == 1.0));
    let g = (mt.clone().sum_dim::<0>() * w.clone()).sum().backward();
    let gm = g.get(&mt).unwrap().to_vec();
    assert!((0..300 * 257).all(|q| gm[q] == (q % 257) as f64));
    let other = m.clone().neg().trace();
    let joined = Tensor::cat::<1, _>(vec![mt.clone(), other.clone()]);
    let weights =
        Tensor::<Rank2<300, 514>, f64>::from_vec((0..300 * 514).map(|q| q as f64).collect())
            .unwrap();
    let g = (joined * weights).sum().backward();
    let (ga, gb) = (
        g.get(&mt).unwrap().to_vec(),
        g.get(&other).unwrap().to_vec(),
    );
    assert!((0..300 * 257).all(|q| ga[q] == ((q / 257) * 514 + q % 257) as f64));
    assert!((0..300 * 257).all(|q| gb[q] == ((q / 257) * 514 + 257 + q % 257) as f64));
    let mask = m.clone().gt_scalar(40000.0);
    let g = shaped::ops::compare::where_(&mask, mt.clone(), other.clone())
        .sum()
        .backward();
    let (ga, gb) = (
        g.get(&mt).unwrap().to_vec(),
        g.get(&other).unwrap().to_vec(),
    );
    assert!((0..300 * 257).all(|q| ga[q] == f64::from(q > 40000) && gb[q] + ga[q] == 1.0));
    let g = mt.clone().logsumexp_dim::<1>().sum().backward();
    let rows = g.get(&mt).unwrap().to_vec();
    for r in [0, 150, 299] {
        let total: f64 = rows[r * 257..][..257].iter().sum();
        assert!(
            (total - 1.0).abs() < 1e-9,
            "softmax row {r} sums to {total}"
        );
    }
    let g = mt.clone().cumsum::<1>().sum().backward();
    let gc = g.get(&mt).unwrap().to_vec();
    assert!((0..300 * 257).all(|q| gc[q] == (257 - q % 257) as f64));
    let batch = Tensor::<Rank3<3, 40, 30>, f64>::randn(&mut rng()).trace();
    let shared = Tensor::<Rank2<30, 20>, f64>::randn(&mut rng()).trace();
    let g = batch.clone().matmul(shared.clone()).sum().backward();
    let gs = g.get(&shared).unwrap().to_vec();
    let bv = batch.as_slice();
    for (p, j) in [(0, 0), (29, 19), (11, 7)] {
        let want: f64 = (0..3 * 40).map(|r| bv[r * 30 + p]).sum();
        assert!((gs[p * 20 + j] - want).abs() < 1e-9, "shared[{p}, {j}]");
    }
}

#[test]
fn depthwise_convolution_writes_every_output() {
    // One input channel per group: the direct kernels write each output plane (bias first)
    // over both threads, and the backward adds into its input planes.
    let mut r = rng();
    let conv = DepthwiseConv2d::<4, 4, 3, 1, 1>::new(&mut r);
    let x = Tensor::<Rank4<8, 4, 48, 48>>::randn(&mut r);
    let (xv, w) = (x.as_slice().to_vec(), conv.weight.as_slice().to_vec());
    let b = conv.bias.as_ref().unwrap().as_slice().to_vec();
    let xt = x.trace();
    let y = conv.forward(xt.clone());
    for (n, c, i, j) in [(0, 0, 0, 0), (7, 3, 47, 47), (3, 1, 20, 5)] {
        let mut want = b[c];
        for ky in 0..3 {
            for kx in 0..3 {
                let (iy, ix) = (i as isize + ky as isize - 1, j as isize + kx as isize - 1);
                if (0..48).contains(&iy) && (0..48).contains(&ix) {
                    want += w[c * 9 + ky * 3 + kx]
                        * xv[((n * 4 + c) * 48 + iy as usize) * 48 + ix as usize];
                }
            }
        }
        let got = y.as_slice()[((n * 4 + c) * 48 + i) * 48 + j];
        assert!(
            (got - want).abs() < 1e-5 * (1.0 + want.abs()),
            "y[{n}, {c}, {i}, {j}]"
        );
    }
    let grads = y.sum().backward();
    // An interior input feeds nine outputs, each through one weight.
    let gx = grads.get(&xt).unwrap();
    let total: f32 = w[9..18].iter().sum();
    assert!((gx.as_slice()[((2 * 4 + 1) * 48 + 10) * 48 + 10] - total).abs() < 1e-5);
}

#[test]
fn strided_convolution_by_phase_planes_writes_every_output() {
    // A 3x3 stride-2 convolution through phase planes: each sample split into its four
    // phase planes, unfolded in wide rows and narrowed into uninitialised output; every
    // output and every input gradient checked against direct sums.
    const N: usize = 6;
    const C: usize = 8;
    const O: usize = 12;
    const H: usize = 17;
    const OH: usize = 9;
    let mut r = rng();
    let conv = Conv2d::<C, O, 3, 2, 1>::new(&mut r);
    let x = Tensor::<Rank4<N, C, H, H>>::randn(&mut r);
    let xt = x.clone().trace();
    let y = conv.forward(xt.clone());
    let (xs, ws) = (x.as_slice(), conv.weight.as_slice());
    let bs = conv.bias.as_ref().map(|b| b.as_slice());
    let tap = |o: usize, c: usize, di: usize, dj: usize| ws[((o * C + c) * 3 + di) * 3 + dj] as f64;
    for (at, &got) in y.as_slice().iter().enumerate() {
        let (b, o, i, j) = (
            at / (O * OH * OH),
            at / (OH * OH) % O,
            at / OH % OH,
            at % OH,
        );
        let mut want = bs.map_or(0.0, |bias| bias[o] as f64);
        for c in 0..C {
            for di in 0..3 {
                for dj in 0..3 {
                    let (ii, jj) = ((2 * i + di).wrapping_sub(1), (2 * j + dj).wrapping_sub(1));
                    if ii < H && jj < H {
                        want += tap(o, c, di, dj) * xs[((b * C + c) * H + ii) * H + jj] as f64;
                    }
                }
            }
        }
        assert!(
            (got as f64 - want).abs() < 1e-4 * (1.0 + want.abs()),
            "y[{b}, {o}, {i}, {j}]: {got} vs {want}"
        );
    }
    let grads = y.sum().backward();
    let Some(gx) = grads.get(&xt) else {
        panic!("no input gradient")
    };
    for (at, &got) in gx.as_slice().iter().enumerate() {
        let (c, i, j) = (at / (H * H) % C, at / H % H, at % H);
        let mut want = 0.0;
        for o in 0..O {
            for di in 0..3 {
                for dj in 0..3 {
                    // Output (oi, oj) reads x[2 oi + di - 1, 2 oj + dj - 1].
                    let (ti, tj) = (i + 1 - di.min(i + 1), j + 1 - dj.min(j + 1));
                    let reads = i + 1 >= di && j + 1 >= dj && ti % 2 == 0 && tj % 2 == 0;
                    if reads && ti / 2 < OH && tj / 2 < OH {
                        want += tap(o, c, di, dj);
                    }
                }
            }
        }
        assert!(
            (got as f64 - want).abs() < 1e-4 * (1.0 + want.abs()),
            "gx[{at}]: {got} vs {want}"
        );
    }
}

/// GLU's kernels (`backend::glu`) write their outputs in blocks that straddle the halves:
/// forward and input gradient above the threads' threshold, f32 (the hand-vectorised
/// sigmoid) and f64 (the plain loop), a 1-D max pool's one-pass loop (outputs written
/// without a fill), all against the formulas.
#[test]
fn glu_and_max_pool1d_write_every_output() {
    const N: usize = 100_001; // odd: blocks cut mid-half
    let x: Vec<f64> = (0..2 * N)
        .map(|i| ((i * 37 % 101) as f64) / 17.0 - 3.0)
        .collect();
    let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
    let t = Tensor::<(usize, usize), f64>::from_vec_with_shape(x.clone(), (1, 2 * N)).unwrap();
    let xt = t.clone().trace();
    let y = xt.clone().glu::<1>();
    for j in [0, 1, N / 2, N - 1] {
        let want = x[j] * sig(x[N + j]);
        assert!((y.as_slice()[j] - want).abs() < 1e-12, "y[{j}]");
    }
    let grads = y.sum().backward();
    let Some(gx) = grads.get(&xt) else {
        panic!("no input gradient")
    };
    for j in [0, N - 1] {
        let s = sig(x[N + j]);
        assert!((gx.as_slice()[j] - s).abs() < 1e-12, "ga[{j}]");
        let want = x[j] * s * (1.0 - s);
        assert!((gx.as_slice()[N + j] - want).abs() < 1e-12, "gb[{j}]");
    }
    let t32 = Tensor::<(usize, usize), f32>::from_vec_with_shape(
        x.iter().map(|&v| v as f32).collect(),
        (2, N),
    )
    .unwrap();
    let y = t32.clone().glu::<0>();
    assert!((y.as_slice()[7] as f64 - x[7] * sig(x[N + 7])).abs() < 1e-5);
    let pooled = t32.max_pool1d::<3, 2, 1>();
    assert!(pooled.as_slice().iter().all(|v| v.is_finite()));
    assert_eq!(
        pooled.as_slice()[1],
        x[1..4].iter().fold(f64::MIN, |a, &b| a.max(b)) as f32
    );
}
