//! Single ops and layers outside the workloads, forward and forward + backward, one line
//! each (`name  forward_ms  forward_backward_ms`, best of several runs), for
//! `benches/op_sweep.py` to set beside PyTorch's. Run directly:
//! `cargo bench --bench op_sweep -- [name filter]`; threads from `SHAPED_NUM_THREADS`.
//! Backward columns include the forward; 0 where the op has no backward here.

use rand::SeedableRng;
use shaped::nn::loss::{cross_entropy, mse_loss, smooth_l1_loss};
use shaped::nn::{
    AdaptiveAvgPool2d, BatchNorm1d, BatchNorm2d, ChannelPReLU, Conv1d, Conv2d, ConvTranspose2d,
    DepthwiseConv2d, Dropout, Embedding, GRU, GroupNorm, InstanceNorm2d, LSTM, LayerNorm, Linear,
    MaxPool1d, Module, MultiheadAttention, RMSNorm, Upsample,
};
use shaped::ops::interpolate::ScaleFactor;
use shaped::ops::pad::PadMode;
use shaped::optim::{Adam, Optimizer};
use shaped::prelude::*;
use std::hint::black_box;
use std::time::Instant;

/// Best wall time in ms of `f` over at least three runs and about half a second.
fn best(mut f: impl FnMut()) -> f64 {
    f();
    let t0 = Instant::now();
    let mut b = f64::MAX;
    let mut n = 0;
    while n < 3 || (t0.elapsed().as_secs_f64() < 0.5 && n < 200) {
        let t = Instant::now();
        f();
        b = b.min(t.elapsed().as_secs_f64() * 1e3);
        n += 1;
    }
    b
}

macro_rules! case {
    ($filter:expr, $name:expr, $f:expr, $b:expr) => {{
        if $filter.as_deref().is_none_or(|f: &str| $name.contains(f)) {
            let f = best($f);
            let b = best($b);
            println!("{:<34} {:>9.3} {:>9.3}", $name, f, b);
        }
    }};
}

fn main() {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with("--"));

    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let m = Tensor::<Rank2<4096, 1024>>::randn(&mut rng);
    let big = Tensor::<Rank2<2048, 2048>>::randn(&mut rng);
    let bias = Tensor::<Rank1<1024>>::randn(&mut rng);
    let m2 = Tensor::<Rank2<4096, 1024>>::randn(&mut rng);
    let col = Tensor::<Rank2<4096, 1>>::randn(&mut rng);
    {
        case!(
            filter,
            "sum0 2048x2048",
            || {
                black_box(big.clone().sum_dim::<0>());
            },
            || {
                black_box(big.clone().trace().sum_dim::<0>().sum().backward());
            }
        );
    }
    {
        case!(
            filter,
            "sum1 2048x2048",
            || {
                black_box(big.clone().sum_dim::<1>());
            },
            || {
                black_box(big.clone().trace().sum_dim::<1>().sum().backward());
            }
        );
    }
    {
        case!(
            filter,
            "max1 4096x1024",
            || {
                black_box(m.clone().max_dim::<1>());
            },
            || {
                black_box(m.clone().trace().max_dim::<1>().sum().backward());
            }
        );
    }
    {
        case!(
            filter,
            "mean0 4096x1024",
            || {
                black_box(m.clone().mean_dim::<0>());
            },
            || {
                black_box(m.clone().trace().mean_dim::<0>().sum().backward());
            }
        );
    }
    {
        case!(
            filter,
            "softmax1 4096x1024",
            || {
                black_box(m.clone().softmax::<1>());
            },
            || {
                black_box(
                    m.clone()
                        .trace()
                        .softmax::<1>()
                        .mul(m.clone())
                        .sum()
                        .backward(),
                );
            }
        );
    }
    {
        case!(
            filter,
            "softmax0 4096x1024",
            || {
                black_box(m.clone().softmax::<0>());
            },
            || {
                black_box(
                    m.clone()
                        .trace()
                        .softmax::<0>()
                        .mul(m.clone())
                        .sum()
                        .backward(),
                );
            }
        );
    }
    {
        case!(
            filter,
            "log_softmax1 4096x1024",
            || {
                black_box(m.clone().log_softmax::<1>());
            },
            || {
                black_box(
                    m.clone()
                        .trace()
                        .log_softmax::<1>()
                        .mul(m.clone())
                        .sum()
                        .backward(),
                );
            }
        );
    }
    {
        case!(
            filter,
            "logsumexp1 4096x1024",
            || {
                black_box(m.clone().logsumexp_dim::<1>());
            },
            || {
                black_box(m.clone().trace().logsumexp_dim::<1>().sum().backward());
            }
        );
    }
    {
        let ln = LayerNorm::<1024>::new();
        case!(
            filter,
            "layernorm 4096x1024",
            || {
                black_box(ln.forward(m.clone()));
            },
            || {
                black_box(
                    ln.forward(m.clone().trace())
                        .mul(m.clone())
                        .sum()
                        .backward(),
                );
            }
        );
    }
    {
        case!(
            filter,
            "t() 2048x2048",
            || {
                black_box(big.clone().t());
            },
            || {
                black_box(big.clone().trace().t().mul(big.clone()).sum().backward());
            }
        );
    }
    {
        let b2 = Tensor::<Rank2<2000, 2000>>::randn(&mut rng);
        case!(
            filter,
            "t() 2000x2000",
            || {
                black_box(b2.clone().t());
            },
            || {
                black_box(b2.clone().trace().t().mul(b2.clone()).sum().backward());
            }
        );
    }
    {
        let b3 = Tensor::<Rank3<64, 256, 128>>::randn(&mut rng);
        case!(
            filter,
            "transpose12 64x256x128",
            || {
                black_box(b3.clone().transpose::<1, 2>());
            },
            || {}
        );
    }
    {
        let x = Tensor::<Rank4<32, 64, 32, 32>>::randn(&mut rng);
        case!(
            filter,
            "permute 32x64x32x32 0231",
            || {
                black_box(x.clone().permute::<0, 2, 3, 1>());
            },
            || {
                black_box(x.clone().trace().permute::<0, 2, 3, 1>().sum().backward());
            }
        );
    }
    {
        case!(
            filter,
            "add bias 4096x1024+1024",
            || {
                black_box(m.clone().add(bias.clone()));
            },
            || {
                black_box(
                    m.clone()
                        .trace()
                        .add(bias.clone().trace())
                        .mul(m.clone())
                        .sum()
                        .backward(),
                );
            }
        );
    }
    {
        case!(
            filter,
            "mul col 4096x1024*4096x1",
            || {
                black_box(m.clone().mul(col.clone()));
            },
            || {
                black_box(m.clone().trace().mul(col.clone().trace()).sum().backward());
            }
        );
    }
    {
        // A per-channel scale (an SE block's, a hand-written norm's affine map): the scale's
        // gradient sums 32 * 56 * 56 values per channel.
        let x = Tensor::<Rank4<32, 64, 56, 56>>::randn(&mut rng);
        let w = Tensor::<Rank4<32, 64, 56, 56>>::randn(&mut rng);
        let s = Tensor::<Rank4<1, 64, 1, 1>>::randn(&mut rng);
        case!(
            filter,
            "mul ch 32x64x56x56*(1,64,1,1)",
            || {
                black_box(x.clone().mul(s.clone()));
            },
            || {
                black_box(
                    (x.clone().trace().mul(s.clone().trace()) * w.clone())
                        .sum()
                        .backward(),
                );
            }
        );
    }
    {
        case!(
            filter,
            "gelu 4M",
            || {
                black_box(m.clone().gelu());
            },
            || {
                black_box(m.clone().trace().gelu().sum().backward());
            }
        );
    }
    {
        case!(
            filter,
            "tanh 4M",
            || {
                black_box(m.clone().tanh());
            },
            || {
                black_box(m.clone().trace().tanh().sum().backward());
            }
        );
    }
    {
        case!(
            filter,
            "sigmoid 4M",
            || {
                black_box(m.clone().sigmoid());
            },
            || {
                black_box(m.clone().trace().sigmoid().sum().backward());
            }
        );
    }
    {
        case!(
            filter,
            "exp 4M",
            || {
                black_box(m.clone().exp());
            },
            || {
                black_box(m.clone().trace().exp().sum().backward());
            }
        );
    }
    {
        case!(
            filter,
            "silu 4M",
            || {
                black_box(m.clone().silu());
            },
            || {
                black_box(m.clone().trace().silu().sum().backward());
            }
        );
    }
    {
        case!(
            filter,
            "sin 4M",
            || {
                black_box(m.clone().sin());
            },
            || {
                black_box(m.clone().trace().sin().mul(m2.clone()).sum().backward());
            }
        );
    }
    {
        case!(
            filter,
            "softplus 4M",
            || {
                black_box(m.clone().softplus(1.0, 20.0));
            },
            || {
                black_box(
                    m.clone()
                        .trace()
                        .softplus(1.0, 20.0)
                        .mul(m2.clone())
                        .sum()
                        .backward(),
                );
            }
        );
    }
    {
        case!(
            filter,
            "sqrt|x| 4M",
            || {
                black_box(m.clone().abs().sqrt());
            },
            || {
                black_box(m.clone().trace().abs().sqrt().sum().backward());
            }
        );
    }
    {
        let a = Tensor::<Rank2<2048, 1024>>::randn(&mut rng);
        let a2 = Tensor::<Rank2<2048, 1024>>::randn(&mut rng);
        case!(
            filter,
            "cat1 2x 2048x1024",
            || {
                black_box(Tensor::cat::<1, _>(vec![a.clone(), a.clone()]));
            },
            || {
                let parts = vec![a.clone().trace(), a2.clone().trace()];
                black_box(Tensor::cat::<1, _>(parts).sum().backward());
            }
        );
    }
    {
        let l = Tensor::<Rank2<4096, 1000>>::randn(&mut rng);
        let lab =
            Indices::<Rank1<4096>>::from_vec((0..4096).map(|i| (i * 7) % 1000).collect()).unwrap();
        case!(
            filter,
            "cross_entropy 4096x1000",
            || {
                black_box(cross_entropy(l.clone(), &lab));
            },
            || {
                black_box(cross_entropy(l.clone().trace(), &lab).backward());
            }
        );
    }
    {
        case!(
            filter,
            "mse 4096x1024",
            || {
                black_box(mse_loss(m.clone(), m2.clone()));
            },
            || {
                black_box(mse_loss(m.clone().trace(), m2.clone()).backward());
            }
        );
    }
    {
        case!(
            filter,
            "smooth_l1 4096x1024",
            || {
                black_box(smooth_l1_loss(m.clone(), m2.clone(), 1.0));
            },
            || {
                black_box(smooth_l1_loss(m.clone().trace(), m2.clone(), 1.0).backward());
            }
        );
    }
    {
        let e = Embedding::<32000, 512>::new(&mut rng);
        let ix =
            Indices::<Rank2<16, 128>>::from_vec((0..2048).map(|i| (i * 7919) % 32000).collect())
                .unwrap();
        case!(
            filter,
            "embedding 32000x512 16x128",
            || {
                black_box(e.forward(ix.clone()));
            },
            || {
                black_box(e.lookup::<_, OwnedTape<f32>>(&ix).sum().backward());
            }
        );
    }
    let img = Tensor::<Rank4<32, 64, 56, 56>>::randn(&mut rng);
    {
        case!(
            filter,
            "maxpool2 32x64x56x56",
            || {
                black_box(img.clone().max_pool2d::<2, 2, 0>());
            },
            || {
                black_box(img.clone().trace().max_pool2d::<2, 2, 0>().sum().backward());
            }
        );
    }
    {
        case!(
            filter,
            "maxpool3s2p1 32x64x56x56",
            || {
                black_box(img.clone().max_pool2d::<3, 2, 1>());
            },
            || {
                black_box(img.clone().trace().max_pool2d::<3, 2, 1>().sum().backward());
            }
        );
    }
    {
        case!(
            filter,
            "avgpool2 32x64x56x56",
            || {
                black_box(img.clone().avg_pool2d::<2, 2, 0>());
            },
            || {
                black_box(img.clone().trace().avg_pool2d::<2, 2, 0>().sum().backward());
            }
        );
    }
    {
        // Training mode, as PyTorch's fresh `nn.BatchNorm2d` (a fresh shaped layer evaluates).
        let mut bn = BatchNorm2d::<64>::new();
        bn.train();
        case!(
            filter,
            "batchnorm2d 32x64x56x56",
            || {
                black_box(bn.forward(img.clone()));
            },
            || {
                black_box(
                    bn.forward(img.clone().trace())
                        .mul(img.clone())
                        .sum()
                        .backward(),
                );
            }
        );
    }
    {
        case!(
            filter,
            "cumsum1 4096x1024",
            || {
                black_box(m.clone().cumsum::<1>());
            },
            || {
                black_box(
                    m.clone()
                        .trace()
                        .cumsum::<1>()
                        .mul(m.clone())
                        .sum()
                        .backward(),
                );
            }
        );
    }
    {
        case!(
            filter,
            "sort1 4096x1024",
            || {
                black_box(m.clone().sort::<1>(false));
            },
            || {}
        );
    }
    {
        let c = m.clone().gt_scalar(0.0);
        case!(
            filter,
            "where 4M",
            || {
                black_box(shaped::ops::compare::where_(&c, m.clone(), m2.clone()));
            },
            || {
                let y = shaped::ops::compare::where_(&c, m.clone().trace(), m2.clone().trace());
                black_box(y.sum().backward());
            }
        );
    }

    let img = Tensor::<Rank4<32, 64, 56, 56>>::randn(&mut rng);
    {
        let c = DepthwiseConv2d::<64, 64, 3, 1, 1>::new(&mut rng);
        case!(
            filter,
            "depthwise3x3 32x64x56x56",
            || {
                black_box(c.forward(img.clone()));
            },
            || {
                black_box(c.forward(img.clone().trace()).sum().backward());
            }
        );
    }
    {
        let g = GroupNorm::<8, 64>::new();
        case!(
            filter,
            "groupnorm8 32x64x56x56",
            || {
                black_box(g.forward(img.clone()));
            },
            || {
                black_box(
                    g.forward(img.clone().trace())
                        .mul(img.clone())
                        .sum()
                        .backward(),
                );
            }
        );
    }
    {
        case!(
            filter,
            "pad2 1 32x64x56x56",
            || {
                black_box(img.clone().pad2::<1, 1, 1, 1>(PadMode::Constant(0.0)));
            },
            || {
                black_box(
                    img.clone()
                        .trace()
                        .pad2::<1, 1, 1, 1>(PadMode::Constant(0.0))
                        .sum()
                        .backward(),
                );
            }
        );
    }
    let small = Tensor::<Rank4<8, 64, 56, 56>>::randn(&mut rng);
    {
        let up = Upsample::nearest(ScaleFactor::<2>);
        case!(
            filter,
            "upsample nearest2 8x64x56",
            || {
                black_box(up.forward(small.clone()));
            },
            || {
                black_box(up.forward(small.clone().trace()).sum().backward());
            }
        );
    }
    {
        let up = Upsample::bilinear(ScaleFactor::<2>, false);
        case!(
            filter,
            "upsample bilinear2 8x64x56",
            || {
                black_box(up.forward(small.clone()));
            },
            || {
                black_box(up.forward(small.clone().trace()).sum().backward());
            }
        );
    }
    {
        let c = ConvTranspose2d::<64, 32, 4, 2, 1>::new(&mut rng);
        let x = Tensor::<Rank4<8, 64, 28, 28>>::randn(&mut rng);
        case!(
            filter,
            "convT4s2 8x64x28->32",
            || {
                black_box(c.forward(x.clone()));
            },
            || {
                black_box(c.forward(x.clone().trace()).sum().backward());
            }
        );
    }
    {
        let c = Conv1d::<64, 64, 3, 1, 1>::new(&mut rng);
        let x = Tensor::<Rank3<16, 64, 1024>>::randn(&mut rng);
        case!(
            filter,
            "conv1d3 16x64x1024",
            || {
                black_box(c.forward(x.clone()));
            },
            || {
                black_box(c.forward(x.clone().trace()).sum().backward());
            }
        );
    }
    {
        let m = Tensor::<Rank2<4096, 1024>>::randn(&mut rng);
        let ix = Indices::<Rank1<2048>>::from_vec((0..2048).map(|i| (i * 7919) % 4096).collect())
            .unwrap();
        case!(
            filter,
            "index_select0 2048 of 4096x1024",
            || {
                black_box(m.clone().index_select::<0, _>(&ix));
            },
            || {
                black_box(m.clone().trace().index_select::<0, _>(&ix).sum().backward());
            }
        );
    }
    {
        let g = GRU::<128, 256>::new(&mut rng);
        let x = Tensor::<Rank3<32, 64, 128>>::randn(&mut rng);
        case!(
            filter,
            "GRU 128->256 b32 s64",
            || {
                black_box(g.forward(x.clone()));
            },
            || {
                let (y, _) = g.forward(x.clone().trace());
                black_box(y.sum().backward());
            }
        );
    }
    {
        let g = LSTM::<128, 256>::new(&mut rng);
        let x = Tensor::<Rank3<32, 64, 128>>::randn(&mut rng);
        case!(
            filter,
            "LSTM 128->256 b32 s64",
            || {
                black_box(g.forward(x.clone()));
            },
            || {
                let (y, _) = g.forward(x.clone().trace());
                black_box(y.sum().backward());
            }
        );
    }
    {
        let a = MultiheadAttention::<256, 8>::new(&mut rng);
        let x = Tensor::<Rank3<16, 256, 256>>::randn(&mut rng);
        case!(
            filter,
            "MHA 256/8 b16 s256",
            || {
                black_box(a.forward(x.clone()));
            },
            || {
                let (y, _) = a.forward(x.clone().trace());
                black_box(y.sum().backward());
            }
        );
    }
    {
        let x = Tensor::<Rank4<32, 512, 7, 7>>::randn(&mut rng);
        let bn = BatchNorm2d::<512>::new();
        case!(
            filter,
            "batchnorm2d 32x512x7x7",
            || {
                black_box(bn.forward(x.clone()));
            },
            || {
                black_box(
                    bn.forward(x.clone().trace())
                        .mul(x.clone())
                        .sum()
                        .backward(),
                );
            }
        );
        case!(
            filter,
            "global avgpool 32x512x7x7",
            || {
                black_box(x.clone().mean_dims::<2, 3>());
            },
            || {
                black_box(x.clone().trace().mean_dims::<2, 3>().sum().backward());
            }
        );
        case!(
            filter,
            "adaptive avgpool1 32x512x7x7",
            || {
                black_box(AdaptiveAvgPool2d::<1>.forward(x.clone()));
            },
            || {
                black_box(
                    AdaptiveAvgPool2d::<1>
                        .forward(x.clone().trace())
                        .sum()
                        .backward(),
                );
            }
        );
    }
    {
        let x = Tensor::<Rank4<8, 64, 56, 56>>::randn(&mut rng);
        let c = Conv2d::<64, 64, 3, 1, 1>::new(&mut rng);
        case!(
            filter,
            "conv2d3x3 8x64x56x56",
            || {
                black_box(c.forward(x.clone()));
            },
            || {
                black_box(c.forward(x.clone().trace()).sum().backward());
            }
        );
        let c = Conv2d::<64, 128, 3, 2, 1>::new(&mut rng);
        case!(
            filter,
            "conv2d3x3s2 8x64x56x56->128",
            || {
                black_box(c.forward(x.clone()));
            },
            || {
                black_box(c.forward(x.clone().trace()).sum().backward());
            }
        );
    }
    {
        // Padded convolutions with few channels (CIFAR-sized ResNet stages, small CNNs):
        // below the Winograd path's sizes, padded into the wide layout.
        let x = Tensor::<Rank4<32, 16, 32, 32>>::randn(&mut rng);
        let c = Conv2d::<16, 16, 3, 1, 1>::new(&mut rng);
        case!(
            filter,
            "conv2d3x3p1 32x16x32x32",
            || {
                black_box(c.forward(x.clone()));
            },
            || {
                black_box(c.forward(x.clone().trace()).sum().backward());
            }
        );
        let x = Tensor::<Rank4<32, 16, 14, 14>>::randn(&mut rng);
        let c = Conv2d::<16, 32, 3, 1, 1>::new(&mut rng);
        case!(
            filter,
            "conv2d3x3p1 32x16x14x14->32",
            || {
                black_box(c.forward(x.clone()));
            },
            || {
                black_box(c.forward(x.clone().trace()).sum().backward());
            }
        );
    }
    {
        let x = Tensor::<Rank4<8, 256, 28, 28>>::randn(&mut rng);
        let c = Conv2d::<256, 64, 1, 1, 0>::new(&mut rng);
        case!(
            filter,
            "conv2d1x1 8x256x28x28->64",
            || {
                black_box(c.forward(x.clone()));
            },
            || {
                black_box(c.forward(x.clone().trace()).sum().backward());
            }
        );
    }
    {
        let m = Tensor::<Rank2<4096, 1024>>::randn(&mut rng);
        case!(
            filter,
            "relu 4M",
            || {
                black_box(m.clone().relu());
            },
            || {
                black_box(m.clone().trace().relu().sum().backward());
            }
        );
        let mut d = Dropout::new(0.5, &mut rng);
        let mut d2 = d.clone();
        case!(
            filter,
            "dropout0.5 4M",
            || {
                black_box(d.forward_train(m.clone()));
            },
            || {
                black_box(d2.forward_train(m.clone().trace()).sum().backward());
            }
        );
        let bn = BatchNorm1d::<1024>::new();
        case!(
            filter,
            "batchnorm1d 4096x1024",
            || {
                black_box(bn.forward(m.clone()));
            },
            || {
                black_box(
                    bn.forward(m.clone().trace())
                        .mul(m.clone())
                        .sum()
                        .backward(),
                );
            }
        );
        case!(
            filter,
            "argmax1 4096x1024",
            || {
                black_box(m.argmax::<1>());
            },
            || {}
        );
    }
    // The activations, norms and pooling of the coverage pass (README, seventeenth pass).
    macro_rules! activation_case {
        ($name:literal, |$x:ident| $body:expr) => {
            case!(
                filter,
                $name,
                || {
                    let $x = m.clone();
                    black_box($body);
                },
                || {
                    let $x = m.clone().trace();
                    black_box(($body).mul(m2.clone()).sum().backward());
                }
            );
        };
    }
    activation_case!("elu 4M", |x| x.elu(1.0));
    activation_case!("hardswish 4M", |x| x.hardswish());
    activation_case!("mish 4M", |x| x.mish());
    activation_case!("logsigmoid 4M", |x| x.logsigmoid());
    activation_case!("hardshrink 4M", |x| x.hardshrink(0.5));
    {
        let x = Tensor::<Rank4<32, 64, 28, 28>>::randn(&mut rng);
        let w = Tensor::<Rank4<32, 64, 28, 28>>::randn(&mut rng);
        let prelu = ChannelPReLU::<64>::new();
        let inorm = InstanceNorm2d::<64>::new_affine();
        case!(
            filter,
            "prelu ch 32x64x28x28",
            || {
                black_box(prelu.forward(x.clone()));
            },
            || {
                black_box(
                    (prelu.forward(x.clone().trace()) * w.clone())
                        .sum()
                        .backward(),
                );
            }
        );
        case!(
            filter,
            "instancenorm2d 32x64x28x28",
            || {
                black_box(inorm.forward(x.clone()));
            },
            || {
                black_box(
                    (inorm.forward(x.clone().trace()) * w.clone())
                        .sum()
                        .backward(),
                );
            }
        );
    }
    {
        let rms = RMSNorm::<1024>::new();
        case!(
            filter,
            "rmsnorm 4096x1024",
            || {
                black_box(rms.forward(m.clone()));
            },
            || {
                black_box(
                    (rms.forward(m.clone().trace()) * m2.clone())
                        .sum()
                        .backward(),
                );
            }
        );
        let seq = Tensor::<Rank3<16, 64, 1024>>::randn(&mut rng);
        case!(
            filter,
            "maxpool1d3s2p1 16x64x1024",
            || {
                black_box(MaxPool1d::<3, 2, 1>.forward(seq.clone()));
            },
            || {
                black_box(
                    MaxPool1d::<3, 2, 1>
                        .forward(seq.clone().trace())
                        .sum()
                        .backward(),
                );
            }
        );
    }
    {
        let mut lin = Linear::<2048, 2048>::new(&mut rng);
        let x = Tensor::<Rank2<8, 2048>>::randn(&mut rng);
        let grads = lin.forward(x.trace_constant()).sum().backward();
        let mut opt = Adam::new(1e-3);
        case!(
            filter,
            "adam step 4M params",
            || {
                opt.step(&mut lin, &grads);
            },
            || {}
        );
    }
}
