"""PyTorch reference for CyclicLR and OneCycleLR with a `max_lr` per parameter group
(tests/golden_sched.rs). Run with PyTorch 2.15 (CPU) inside this folder; the tensors are
byte-for-byte reproducible (the metadata's key order is not).

Same conventions as the `sched_*` cases of tests/golden/README.md: `lrs[k]` is the learning
rate optimizer step k used, the scheduler stepping after each optimizer step; `momentum[k]`
the SGD momentum (or Adam's beta1, `kind_opt` "Adam") step k used; `args` the scheduler's
keyword arguments as PyTorch names them; `lr` and `momentum` the optimizer's own settings
(both overwritten by the scheduler's constructor). Cases with two parameter groups
(`groups` 2, the second group adding nothing but its own parameter) store `lrs` as
[steps, 2], group 0 first. `sched_cyclic_scale_fn` uses
`scale_fn=lambda x: 1 / (1 + x)`, `scale_mode="iterations"` (not JSON, named in `scale_fn`).
"""
import json
import torch
from safetensors.torch import save_file
from torch.optim.lr_scheduler import CyclicLR, OneCycleLR

STEPS = 30


def case(name, make_sched, args, groups=1, opt="SGD", lr=0.1, momentum=0.9, note=None):
    params = [torch.zeros(1, requires_grad=True) for _ in range(groups)]
    if opt == "SGD":
        o = torch.optim.SGD([{"params": [p]} for p in params], lr=lr, momentum=momentum)
    else:
        o = torch.optim.Adam([{"params": [p]} for p in params], lr=lr, betas=(momentum, 0.999))
    sched = make_sched(o, **args)
    lrs, moms = [], []
    for _ in range(STEPS):
        lrs.append([g["lr"] for g in o.param_groups])
        g0 = o.param_groups[0]
        moms.append(g0["momentum"] if opt == "SGD" else g0["betas"][0])
        o.step()
        sched.step()
    lrs_t = torch.tensor(lrs, dtype=torch.float64)
    if groups == 1:
        lrs_t = lrs_t[:, 0]
    hyper = {"kind": type(sched).__name__, "kind_opt": opt, "lr": lr, "momentum": momentum,
             "args": args, "steps": STEPS, "groups": groups}
    if note:
        hyper["scale_fn"] = note
    meta = {"case": name, "op": f"torch.optim.lr_scheduler.{type(sched).__name__}",
            "torch_version": torch.__version__, "group": "sched",
            "formula": f"torch.optim.lr_scheduler.{type(sched).__name__}({opt}(lr), **args); "
                       "lrs[k] = the learning rate(s) used by optimizer step k, the scheduler "
                       "stepping after each optimizer step; momentum[k] = the momentum "
                       "(or beta1) of group 0 used by step k",
            "inputs": "[]", "params": "[]", "outputs": '["lrs", "momentum"]',
            "cotangents": "{}", "grads": "[]", "loss": "none",
            "hyperparameters": json.dumps(list(hyper))}
    meta.update({k: json.dumps(v) for k, v in hyper.items() if k != "scale_fn"})
    if note:
        meta["scale_fn"] = note
    save_file({"lrs": lrs_t.float().contiguous(),
               "momentum": torch.tensor(moms, dtype=torch.float64).float()},
              f"{name}.safetensors", meta)


case("sched_cyclic_triangular", CyclicLR,
     {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4, "step_size_down": 6})
case("sched_cyclic_triangular2", CyclicLR,
     {"base_lr": 0.02, "max_lr": 0.2, "step_size_up": 3, "mode": "triangular2",
      "base_momentum": 0.85, "max_momentum": 0.95})
case("sched_cyclic_exp_range", CyclicLR,
     {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 5, "mode": "exp_range", "gamma": 0.95},
     opt="Adam")
case("sched_cyclic_inverted", CyclicLR,
     {"base_lr": 0.1, "max_lr": 0.01, "step_size_up": 2, "step_size_down": 5,
      "cycle_momentum": False})
case("sched_cyclic_scale_fn",
     lambda o, **a: CyclicLR(o, scale_fn=lambda x: 1 / (1 + x), scale_mode="iterations", **a),
     {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 3}, note="lambda x: 1 / (1 + x)")
case("sched_cyclic_groups", CyclicLR,
     {"base_lr": [0.01, 0.001], "max_lr": [0.1, 0.05], "step_size_up": 4}, groups=2)
case("sched_onecycle_groups", OneCycleLR,
     {"max_lr": [0.5, 0.05], "total_steps": 30, "pct_start": 0.3}, groups=2)
