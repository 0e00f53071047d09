"""The five issue-7 workloads in PyTorch (eager, 2 threads), for a side-by-side comparison
with shaped's criterion benches. Prints one JSON object: workload -> value (GFLOP/s for W1,
steps/s for W2-W4, GB/s for W5).

Run: python3 benches/pytorch/bench.py   (needs `pip install torch`)
"""
import json
import time

import torch

torch.set_num_threads(2)
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


def train_step(model, x, y):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
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


print(json.dumps({"W1": w1(), "W2": w2(), "W3": w3(), "W4": w4(), "W5": w5()}))
