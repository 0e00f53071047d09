#!/usr/bin/env python3
"""Single ops and layers beside PyTorch: runs `cargo bench --bench op_sweep` (shaped) and the
same cases in PyTorch eager, at one and two threads, and prints both with the ratio
(PyTorch time / shaped time: above 1, shaped is faster).

    python3 benches/op_sweep.py [--python PY] [--threads 1,2] [name filter]

Build first (`cargo bench --bench op_sweep --no-run`). Forward columns are one call, the
backward columns forward + backward; best of several runs each. The VM's two-thread figures
drift: compare within one run.
"""
import argparse, os, subprocess, sys

TORCH_CASES = r'''
import torch, time, sys
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
torch.set_num_threads(int(sys.argv[1]))
only = sys.argv[2] if len(sys.argv) > 2 else ""
def best(f):
    f(); t0 = time.perf_counter(); b = 1e9; n = 0
    while n < 3 or (time.perf_counter() - t0 < 0.5 and n < 200):
        t = time.perf_counter(); f(); b = min(b, (time.perf_counter() - t) * 1e3); n += 1
    return b
def case(name, f, g=None):
    if only not in name: return
    print(f"{name}\t{best(f):.3f}\t{best(g) if g else 0.0:.3f}", flush=True)
def tr(x): return x.clone().requires_grad_(True)
''' + r'''
m = torch.randn(4096, 1024); big = torch.randn(2048, 2048); bias = torch.randn(1024); m2 = torch.randn(4096, 1024); col = torch.randn(4096, 1)
case("sum0 2048x2048", lambda: big.sum(0), lambda: tr(big).sum(0).sum().backward())
case("sum1 2048x2048", lambda: big.sum(1), lambda: tr(big).sum(1).sum().backward())
case("max1 4096x1024", lambda: m.max(1), lambda: tr(m).max(1).values.sum().backward())
case("mean0 4096x1024", lambda: m.mean(0), lambda: tr(m).mean(0).sum().backward())
case("softmax1 4096x1024", lambda: m.softmax(1), lambda: (tr(m).softmax(1) * m).sum().backward())
case("softmax0 4096x1024", lambda: m.softmax(0), lambda: (tr(m).softmax(0) * m).sum().backward())
case("log_softmax1 4096x1024", lambda: m.log_softmax(1), lambda: (tr(m).log_softmax(1) * m).sum().backward())
case("logsumexp1 4096x1024", lambda: m.logsumexp(1), lambda: tr(m).logsumexp(1).sum().backward())
ln = torch.nn.LayerNorm(1024)
case("layernorm 4096x1024", lambda: ln(m), lambda: (ln(tr(m)) * m).sum().backward())
case("t() 2048x2048", lambda: big.t().contiguous(), lambda: (tr(big).t() * big).sum().backward())
b2 = torch.randn(2000, 2000)
case("t() 2000x2000", lambda: b2.t().contiguous(), lambda: (tr(b2).t() * b2).sum().backward())
b3 = torch.randn(64, 256, 128)
case("transpose12 64x256x128", lambda: b3.transpose(1, 2).contiguous())
x = torch.randn(32, 64, 32, 32)
case("permute 32x64x32x32 0231", lambda: x.permute(0, 2, 3, 1).contiguous(), lambda: tr(x).permute(0, 2, 3, 1).contiguous().sum().backward())
case("add bias 4096x1024+1024", lambda: m + bias, lambda: ((tr(m) + tr(bias)) * m).sum().backward())
case("mul col 4096x1024*4096x1", lambda: m * col, lambda: (tr(m) * tr(col)).sum().backward())
xc = torch.randn(32, 64, 56, 56); wc = torch.randn(32, 64, 56, 56); sc = torch.randn(1, 64, 1, 1)
case("mul ch 32x64x56x56*(1,64,1,1)", lambda: xc * sc, lambda: ((tr(xc) * tr(sc)) * wc).sum().backward())
del xc, wc
case("gelu 4M", lambda: F.gelu(m), lambda: F.gelu(tr(m)).sum().backward())
case("tanh 4M", lambda: m.tanh(), lambda: tr(m).tanh().sum().backward())
case("sigmoid 4M", lambda: m.sigmoid(), lambda: tr(m).sigmoid().sum().backward())
case("exp 4M", lambda: m.exp(), lambda: tr(m).exp().sum().backward())
case("silu 4M", lambda: F.silu(m), lambda: F.silu(tr(m)).sum().backward())
case("sin 4M", lambda: m.sin(), lambda: (tr(m).sin() * m2).sum().backward())
case("softplus 4M", lambda: F.softplus(m), lambda: (F.softplus(tr(m)) * m2).sum().backward())
case("sqrt|x| 4M", lambda: m.abs().sqrt(), lambda: tr(m).abs().sqrt().sum().backward())
a = torch.randn(2048, 1024)
a2 = torch.randn(2048, 1024)
case("cat1 2x 2048x1024", lambda: torch.cat([a, a], 1), lambda: torch.cat([tr(a), tr(a2)], 1).sum().backward())
l = torch.randn(4096, 1000); lab = torch.tensor([(i * 7) % 1000 for i in range(4096)])
case("cross_entropy 4096x1000", lambda: F.cross_entropy(l, lab), lambda: F.cross_entropy(tr(l), lab).backward())
case("mse 4096x1024", lambda: F.mse_loss(m, m2), lambda: F.mse_loss(tr(m), m2).backward())
case("smooth_l1 4096x1024", lambda: F.smooth_l1_loss(m, m2), lambda: F.smooth_l1_loss(tr(m), m2).backward())
e = torch.nn.Embedding(32000, 512); ix = torch.tensor([(i * 7919) % 32000 for i in range(2048)]).reshape(16, 128)
def eb():
    e.weight.grad = None; e(ix).sum().backward()
case("embedding 32000x512 16x128", lambda: e(ix), eb)
img = torch.randn(32, 64, 56, 56)
case("maxpool2 32x64x56x56", lambda: F.max_pool2d(img, 2, 2), lambda: F.max_pool2d(tr(img), 2, 2).sum().backward())
case("maxpool3s2p1 32x64x56x56", lambda: F.max_pool2d(img, 3, 2, 1), lambda: F.max_pool2d(tr(img), 3, 2, 1).sum().backward())
case("avgpool2 32x64x56x56", lambda: F.avg_pool2d(img, 2, 2), lambda: F.avg_pool2d(tr(img), 2, 2).sum().backward())
bn = torch.nn.BatchNorm2d(64)
case("batchnorm2d 32x64x56x56", lambda: bn(img), lambda: (bn(tr(img)) * img).sum().backward())
case("cumsum1 4096x1024", lambda: m.cumsum(1), lambda: (tr(m).cumsum(1) * m).sum().backward())
case("sort1 4096x1024", lambda: m.sort(1))
c = m > 0
case("where 4M", lambda: torch.where(c, m, m2), lambda: torch.where(c, tr(m), tr(m2)).sum().backward())
img = torch.randn(32, 64, 56, 56)
c = nn.Conv2d(64, 64, 3, 1, 1, groups=64)
case("depthwise3x3 32x64x56x56", lambda: c(img), lambda: c(tr(img)).sum().backward())
g = nn.GroupNorm(8, 64)
case("groupnorm8 32x64x56x56", lambda: g(img), lambda: (g(tr(img)) * img).sum().backward())
case("pad2 1 32x64x56x56", lambda: F.pad(img, (1, 1, 1, 1)), lambda: F.pad(tr(img), (1, 1, 1, 1)).sum().backward())
small = torch.randn(8, 64, 56, 56)
case("upsample nearest2 8x64x56", lambda: F.interpolate(small, scale_factor=2, mode="nearest"), lambda: F.interpolate(tr(small), scale_factor=2, mode="nearest").sum().backward())
case("upsample bilinear2 8x64x56", lambda: F.interpolate(small, scale_factor=2, mode="bilinear", align_corners=False), lambda: F.interpolate(tr(small), scale_factor=2, mode="bilinear", align_corners=False).sum().backward())
ct = nn.ConvTranspose2d(64, 32, 4, 2, 1); x = torch.randn(8, 64, 28, 28)
case("convT4s2 8x64x28->32", lambda: ct(x), lambda: ct(tr(x)).sum().backward())
c1 = nn.Conv1d(64, 64, 3, 1, 1); x1 = torch.randn(16, 64, 1024)
case("conv1d3 16x64x1024", lambda: c1(x1), lambda: c1(tr(x1)).sum().backward())
m = torch.randn(4096, 1024); ix = torch.tensor([(i * 7919) % 4096 for i in range(2048)])
case("index_select0 2048 of 4096x1024", lambda: m.index_select(0, ix), lambda: tr(m).index_select(0, ix).sum().backward())
gru = nn.GRU(128, 256, batch_first=True); xs = torch.randn(32, 64, 128)
case("GRU 128->256 b32 s64", lambda: gru(xs), lambda: gru(tr(xs))[0].sum().backward())
lstm = nn.LSTM(128, 256, batch_first=True)
case("LSTM 128->256 b32 s64", lambda: lstm(xs), lambda: lstm(tr(xs))[0].sum().backward())
mha = nn.MultiheadAttention(256, 8, batch_first=True); xa = torch.randn(16, 256, 256)
case("MHA 256/8 b16 s256", lambda: mha(xa, xa, xa), lambda: mha(tr(xa), tr(xa), tr(xa))[0].sum().backward())
xg = torch.randn(32, 512, 7, 7)
bn512 = nn.BatchNorm2d(512)
case("batchnorm2d 32x512x7x7", lambda: bn512(xg), lambda: (bn512(tr(xg)) * xg).sum().backward())
case("global avgpool 32x512x7x7", lambda: xg.mean((2, 3)), lambda: tr(xg).mean((2, 3)).sum().backward())
gap = nn.AdaptiveAvgPool2d(1)
case("adaptive avgpool1 32x512x7x7", lambda: gap(xg), lambda: gap(tr(xg)).sum().backward())
x = torch.randn(8, 64, 56, 56)
c = nn.Conv2d(64, 64, 3, 1, 1)
case("conv2d3x3 8x64x56x56", lambda: c(x), lambda: c(tr(x)).sum().backward())
c = nn.Conv2d(64, 128, 3, 2, 1)
case("conv2d3x3s2 8x64x56x56->128", lambda: c(x), lambda: c(tr(x)).sum().backward())
x = torch.randn(32, 16, 32, 32); c = nn.Conv2d(16, 16, 3, 1, 1)
case("conv2d3x3p1 32x16x32x32", lambda: c(x), lambda: c(tr(x)).sum().backward())
x = torch.randn(32, 16, 14, 14); c = nn.Conv2d(16, 32, 3, 1, 1)
case("conv2d3x3p1 32x16x14x14->32", lambda: c(x), lambda: c(tr(x)).sum().backward())
x = torch.randn(8, 256, 28, 28); c = nn.Conv2d(256, 64, 1)
case("conv2d1x1 8x256x28x28->64", lambda: c(x), lambda: c(tr(x)).sum().backward())
m = torch.randn(4096, 1024)
case("relu 4M", lambda: m.relu(), lambda: tr(m).relu().sum().backward())
d = nn.Dropout(0.5).train()
case("dropout0.5 4M", lambda: d(m), lambda: d(tr(m)).sum().backward())
bn1 = nn.BatchNorm1d(1024)
case("batchnorm1d 4096x1024", lambda: bn1(m), lambda: (bn1(tr(m)) * m).sum().backward())
case("argmax1 4096x1024", lambda: m.argmax(1))
def act(name, f):
    case(name, lambda: f(m), lambda: (f(tr(m)) * m2).sum().backward())
act("elu 4M", F.elu)
act("hardswish 4M", F.hardswish)
act("mish 4M", F.mish)
act("logsigmoid 4M", F.logsigmoid)
act("hardshrink 4M", F.hardshrink)
xp = torch.randn(32, 64, 28, 28); wp = torch.randn(32, 64, 28, 28)
prelu = nn.PReLU(64); inorm = nn.InstanceNorm2d(64, affine=True)
case("prelu ch 32x64x28x28", lambda: prelu(xp), lambda: (prelu(tr(xp)) * wp).sum().backward())
case("instancenorm2d 32x64x28x28", lambda: inorm(xp), lambda: (inorm(tr(xp)) * wp).sum().backward())
rms = nn.RMSNorm(1024)
case("rmsnorm 4096x1024", lambda: rms(m), lambda: (rms(tr(m)) * m2).sum().backward())
seq = torch.randn(16, 64, 1024); mp1 = nn.MaxPool1d(3, 2, 1)
case("maxpool1d3s2p1 16x64x1024", lambda: mp1(seq), lambda: mp1(tr(seq)).sum().backward())
lin = nn.Linear(2048, 2048); lin(torch.randn(8, 2048)).sum().backward()
opt = torch.optim.Adam(lin.parameters(), 1e-3)
case("adam step 4M params", lambda: opt.step())
'''


def shaped_rows(threads, only):
    env = dict(os.environ, SHAPED_NUM_THREADS=str(threads))
    cmd = ["cargo", "bench", "-q", "--bench", "op_sweep", "--"] + ([only] if only else [])
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    rows = {}
    for line in out.splitlines():
        parts = line.rsplit(None, 2)
        if len(parts) == 3:
            rows[parts[0].strip()] = (float(parts[1]), float(parts[2]))
    return rows


def torch_rows(python, threads, only):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    cmd = [python, "-c", TORCH_CASES, str(threads), only]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if res.returncode != 0:
        print(f"PyTorch part failed: {res.stderr.strip()[-300:]}", file=sys.stderr)
        return {}
    rows = {}
    for line in res.stdout.splitlines():
        name, f, b = line.split("\t")
        rows[name] = (float(f), float(b))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("only", nargs="?", default="")
    a = ap.parse_args()
    for t in [int(x) for x in a.threads.split(",")]:
        s, p = shaped_rows(t, a.only), torch_rows(a.python, t, a.only)
        print(f"\n{t} thread(s), ms: shaped fwd / fwd+bwd | PyTorch fwd / fwd+bwd | ratio fwd / fwd+bwd")
        for name, (sf, sb) in s.items():
            pf, pb = p.get(name, (0.0, 0.0))
            rf = f"{pf / sf:.2f}" if pf and sf else "-"
            rb = f"{pb / sb:.2f}" if pb and sb else "-"
            print(f"{name:<34} {sf:>8.3f} {sb:>8.3f} | {pf:>8.3f} {pb:>8.3f} | {rf:>5} {rb:>5}")


if __name__ == "__main__":
    main()
