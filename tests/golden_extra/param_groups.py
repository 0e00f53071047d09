"""PyTorch reference for optimizer parameter groups (tests/param_groups.rs, issue 12): two
groups with their own learning rate and weight decay (decay on weights; none on biases and
the norm layer's parameters), a scheduler acting on both groups from each group's own
initial rate, and the optimizer state after the last step. What PyTorch 2.15 (CPU, float32)
computes. Run inside this folder; the output is byte-for-byte reproducible.

Same conventions as tests/golden/README.md, each case's tensors prefixed `<case>.` in one
file, `param_groups.safetensors`, and the metadata (optimizer, groups, scheduler) under the
case's name in the one metadata entry `cases` (JSON).

The model is `fc = Linear(3, 4)`, `norm = LayerNorm(4)`, `head = Linear(4, 2)`: parameters
`fc.weight` [4,3], `fc.bias` [4], `norm.weight` [4], `norm.bias` [4], `head.weight` [2,4],
`head.bias` [2]. Group 0 holds `fc.weight`, `head.weight`; group 1 the other four (names
ending in `bias` or containing `norm`). Gradients are fixed random tensors per step (the
optimizer's arithmetic is under test, not backprop), stored as `g.<k>.<param>`.

For every case: `p0.<param>` start values, `g.<k>.<param>` the gradient of step k
(k = 0..STEPS-1), `p.<k>.<param>` the values after step k+1 (optimizer step, then scheduler
step), `lrs.<k>` [2] `scheduler.get_last_lr()` after that scheduler step, `state.<param>.<buf>`
the optimizer's per-parameter state after the last step.

* `sgd`: SGD(lr=0.1, momentum=0.9, weight_decay=0.01) with group 1 {lr=0.05,
  weight_decay=0}; StepLR(step_size=2, gamma=0.5). Buffers: `momentum_buffer`.
* `adamw`: AdamW(lr=0.01, weight_decay=0.1, betas=(0.9, 0.999)) with group 1 {lr=0.003,
  weight_decay=0, betas=(0.8, 0.99)}; ExponentialLR(gamma=0.8). Buffers: `exp_avg`,
  `exp_avg_sq`.
"""
import json
import torch
from safetensors.torch import save_file

STEPS = 5
SHAPES = {"fc.weight": [4, 3], "fc.bias": [4], "norm.weight": [4], "norm.bias": [4],
          "head.weight": [2, 4], "head.bias": [2]}
t, meta = {}, {}


def no_decay(name):
    return name.endswith("bias") or "norm" in name


def run(case, make_opt, make_sched, buffers, hyper):
    torch.manual_seed(0)
    params = {n: torch.randn(*s).requires_grad_() for n, s in SHAPES.items()}
    grads = [{n: torch.randn(*s) for n, s in SHAPES.items()} for _ in range(STEPS)]
    for n, p in params.items():
        t[f"{case}.p0.{n}"] = p.detach().clone()
    decay = [p for n, p in params.items() if not no_decay(n)]
    rest = [p for n, p in params.items() if no_decay(n)]
    opt = make_opt(decay, rest)
    sched = make_sched(opt)
    for k in range(STEPS):
        for n, p in params.items():
            p.grad = grads[k][n].clone()
            t[f"{case}.g.{k}.{n}"] = grads[k][n].clone()
        opt.step()
        sched.step()
        for n, p in params.items():
            t[f"{case}.p.{k}.{n}"] = p.detach().clone()
        t[f"{case}.lrs.{k}"] = torch.tensor(sched.get_last_lr(), dtype=torch.float32)
    for n, p in params.items():
        for b in buffers:
            t[f"{case}.state.{n}.{b}"] = opt.state[p][b].detach().clone().contiguous()
    meta[case] = hyper


run("sgd",
    lambda decay, rest: torch.optim.SGD(
        [{"params": decay}, {"params": rest, "lr": 0.05, "weight_decay": 0.0}],
        lr=0.1, momentum=0.9, weight_decay=0.01),
    lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5),
    ["momentum_buffer"],
    {"optimizer": "SGD(lr=0.1, momentum=0.9, weight_decay=0.01)",
     "group1": {"lr": 0.05, "weight_decay": 0.0},
     "scheduler": "StepLR(step_size=2, gamma=0.5)", "steps": STEPS})

run("adamw",
    lambda decay, rest: torch.optim.AdamW(
        [{"params": decay},
         {"params": rest, "lr": 0.003, "weight_decay": 0.0, "betas": (0.8, 0.99)}],
        lr=0.01, weight_decay=0.1, betas=(0.9, 0.999)),
    lambda opt: torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.8),
    ["exp_avg", "exp_avg_sq"],
    {"optimizer": "AdamW(lr=0.01, weight_decay=0.1, betas=(0.9, 0.999))",
     "group1": {"lr": 0.003, "weight_decay": 0.0, "betas": [0.8, 0.99]},
     "scheduler": "ExponentialLR(gamma=0.8)", "steps": STEPS})

# One metadata key: the writer orders several keys at random, and the file is meant to be
# byte-for-byte reproducible.
metadata = {"cases": json.dumps({"torch_version": torch.__version__, **meta}, sort_keys=True)}
save_file(t, "param_groups.safetensors", metadata=metadata)
print(len(t), "tensors")
for case in ["sgd", "adamw"]:
    print(case, [t[f"{case}.lrs.{k}"].tolist() for k in range(STEPS)])
