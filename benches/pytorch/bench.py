"""The workloads of issues 7 and 15 in PyTorch (eager), for a side-by-side comparison with
shaped's criterion benches (benches/train_step.rs, benches/tensor_ops.rs). Prints one JSON
object: workload -> value (GFLOP/s for W1, steps/s for W2-W4 and W8, GB/s for W5 forward, ms for
W5_bwd (forward + backward), seconds per step for W7_f64 / W7_f32).

Run: python3 benches/pytorch/bench.py [--threads N] [--only W3,W4]   (needs torch)
"""
import argparse
import json
import math
import time

import torch

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--only", default="", help="comma-separated workloads (default: all)")
ARGS = parser.parse_args()
torch.set_num_threads(ARGS.threads)
torch.manual_seed(0)


def timeit(fn, min_time=2.0, warmup=5):
    for _ in range(warmup):
        fn()
    n, start = 0, time.perf_counter()
    times = []
    while time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        n += 1
    times.sort()
    return times[len(times) // 2]  # median


def w1():
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    t = timeit(lambda: a @ b)
    return 2 * 1024**3 / t / 1e9


def train_step(model, x, y, opt=None):
    opt = opt or torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        out = model(x)
        loss = loss_fn(out.reshape(-1, out.shape[-1]), y)
        loss.backward()
        opt.step()

    return 1.0 / timeit(step)


def w2():
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)
    )
    return train_step(model, torch.randn(64, 784), torch.randint(0, 10, (64,)))


def w3():
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(800, 10),
    )
    return train_step(model, torch.randn(32, 1, 28, 28), torch.randint(0, 10, (32,)))


class LstmHead(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(64, 128, batch_first=True)
        self.head = torch.nn.Linear(128, 64)

    def forward(self, x):
        return self.head(self.lstm(x)[0])


def w4():
    return train_step(LstmHead(), torch.randn(16, 32, 64), torch.randint(0, 64, (16 * 32,)))


def w5():
    n = 4 << 20
    a, b = torch.randn(n), torch.randn(n)
    t = timeit(lambda: torch.relu(a + b))
    return 3 * 4 * n / t / 1e9


def w5_backward():
    """Milliseconds for relu(a + b).sum() forward and backward, both inputs requiring grad
    (shaped's `relu_add_4M/forward_backward`)."""
    n = 4 << 20
    a, b = torch.randn(n, requires_grad=True), torch.randn(n, requires_grad=True)

    def step():
        a.grad = b.grad = None
        torch.relu(a + b).sum().backward()

    return timeit(step) * 1e3


class TimeSeq(torch.nn.Module):
    """PyTorch's examples/time_sequence_prediction `Sequence` model."""

    def __init__(self):
        super().__init__()
        self.lstm1 = torch.nn.LSTMCell(1, 51)
        self.lstm2 = torch.nn.LSTMCell(51, 51)
        self.linear = torch.nn.Linear(51, 1)

    def forward(self, input):
        outputs = []
        n, dtype = input.size(0), input.dtype
        h_t = torch.zeros(n, 51, dtype=dtype)
        c_t = torch.zeros(n, 51, dtype=dtype)
        h_t2 = torch.zeros(n, 51, dtype=dtype)
        c_t2 = torch.zeros(n, 51, dtype=dtype)
        for input_t in input.split(1, dim=1):
            h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            outputs += [self.linear(h_t2)]
        return torch.cat(outputs, dim=1)


def w7(dtype):
    """Seconds per step: 97 sine waves of 999 steps (the shifts of benches/train_step.rs),
    MSE over every step's output, Adam (lr 0.01)."""
    shift = torch.tensor([(37 * i % 160) - 80.0 for i in range(97)], dtype=torch.float64)
    t = torch.arange(1000, dtype=torch.float64)
    data = torch.sin((t[None, :] + shift[:, None]) / 20.0).to(dtype)
    x, y = data[:, :-1], data[:, 1:]
    model = TimeSeq().to(dtype)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = torch.nn.MSELoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    return timeit(step, min_time=6.0, warmup=1)


class TransformerLm(torch.nn.Module):
    """Embedding + sinusoidal positions, 2 pre-norm encoder layers, causal, linear head."""

    def __init__(self, vocab=512, d=256, heads=4, ff=1024, seq=128):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, d)
        layer = torch.nn.TransformerEncoderLayer(d, heads, ff, dropout=0.0, batch_first=True, norm_first=True)
        self.encoder = torch.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = torch.nn.Linear(d, vocab)
        pe = torch.zeros(seq, d)
        pos = torch.arange(seq, dtype=torch.float64)[:, None]
        div = torch.exp(torch.arange(0, d, 2, dtype=torch.float64) * (-math.log(10000.0) / d))
        pe[:, 0::2] = torch.sin(pos * div).float()
        pe[:, 1::2] = torch.cos(pos * div).float()
        self.register_buffer("pe", pe)
        self.register_buffer("mask", torch.nn.Transformer.generate_square_subsequent_mask(seq))

    def forward(self, tokens):
        x = self.embed(tokens) + self.pe
        return self.head(self.encoder(x, mask=self.mask, is_causal=True))


def w8():
    model = TransformerLm()
    tokens = torch.randint(0, 512, (16, 128))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    return train_step(model, tokens, torch.randint(0, 512, (16 * 128,)), opt)


WORKLOADS = {
    "W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5, "W5_bwd": w5_backward,
    "W7_f64": lambda: w7(torch.float64), "W7_f32": lambda: w7(torch.float32), "W8": w8,
}
only = [w for w in ARGS.only.split(",") if w]
print(json.dumps({w: f() for w, f in WORKLOADS.items() if not only or w in only}))
