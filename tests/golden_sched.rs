//! PyTorch reference learning rates for the schedules (tests/golden/sched_*): `lrs[k]` is
//! the rate SGD used at step k, the scheduler stepping after each optimizer step, driven
//! here by `LrScheduler` exactly as a plain training loop would.

mod common;
use common::{Golden, check_close};
use shaped::optim::{
    Adam, CosineAnnealingLr, CosineAnnealingWarmRestarts, CyclicLr, CyclicMode, ExponentialLr,
    LinearLr, LrSchedule, LrScheduler, MultiStepLr, OneCycleLr, Optimizer, ParamGroup, PlateauMode,
    ReduceLrOnPlateau, ScaleMode, SequentialLr, Sgd, StepLr, ThresholdMode,
};
use std::collections::HashMap;

/// The `args` metadata: a flat JSON object whose values are numbers, strings or lists of
/// numbers, each kept as its JSON text.
fn args(g: &Golden) -> HashMap<String, String> {
    let text = g.hp_str("args");
    let body = text.trim().trim_start_matches('{').trim_end_matches('}');
    let mut out = HashMap::new();
    let (mut depth, mut start) = (0, 0);
    let bytes = body.as_bytes();
    for i in 0..=bytes.len() {
        let c = bytes.get(i).copied().unwrap_or(b',');
        match c {
            b'[' => depth += 1,
            b']' => depth -= 1,
            b',' if depth == 0 => {
                let item = &body[start..i];
                let (k, v) = item.split_once(':').expect("key: value");
                out.insert(k.trim().trim_matches('"').to_string(), v.trim().to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    out
}

fn num(a: &HashMap<String, String>, key: &str) -> f64 {
    a.get(key)
        .unwrap_or_else(|| panic!("no arg {key}"))
        .parse()
        .unwrap()
}

fn list(a: &HashMap<String, String>, key: &str) -> Vec<u64> {
    a[key]
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|x| x.trim().parse().unwrap())
        .collect()
}

/// Runs the case's steps through `LrScheduler` (with `metrics[k]` when given) and checks
/// every stored rate (and momentum, when stored).
fn check<S: LrSchedule>(g: &Golden, schedule: S, sgd_momentum: f64) {
    let mut opt = Sgd::<f32>::new(g.hp("lr")).momentum(sgd_momentum);
    let mut sched = LrScheduler::new(&mut opt, schedule);
    let steps = g.hp("steps") as usize;
    let metrics = g.has("metrics").then(|| g.f64("metrics"));
    let (mut lrs, mut momenta) = (Vec::new(), Vec::new());
    for k in 0..steps {
        lrs.push(opt.lr() as f32);
        momenta.push(opt.momentum as f32);
        match &metrics {
            Some(m) => sched.step_with_metric(&mut opt, m[k]),
            None => sched.step(&mut opt),
        }
    }
    g.check_forward("lrs", &lrs);
    if g.has("momentum") {
        g.check_forward("momentum", &momenta);
    }
}

#[test]
fn sched_steplr() {
    let g = Golden::load("sched_steplr");
    let a = args(&g);
    let s = StepLr {
        step_size: num(&a, "step_size") as u64,
        gamma: num(&a, "gamma"),
    };
    check(&g, s, 0.0);
}

#[test]
fn sched_multisteplr() {
    let g = Golden::load("sched_multisteplr");
    let a = args(&g);
    check(
        &g,
        MultiStepLr::new(list(&a, "milestones"), num(&a, "gamma")),
        0.0,
    );
}

#[test]
fn sched_exponential() {
    let g = Golden::load("sched_exponential");
    let a = args(&g);
    check(
        &g,
        ExponentialLr {
            gamma: num(&a, "gamma"),
        },
        0.0,
    );
}

#[test]
fn sched_cosine() {
    let g = Golden::load("sched_cosine");
    let a = args(&g);
    let s = CosineAnnealingLr {
        t_max: num(&a, "T_max") as u64,
        eta_min: num(&a, "eta_min"),
    };
    check(&g, s, 0.0);
}

#[test]
fn sched_cosine_warm_restarts() {
    let g = Golden::load("sched_cosine_warm_restarts");
    let a = args(&g);
    let s = CosineAnnealingWarmRestarts {
        t_0: num(&a, "T_0") as u64,
        t_mult: num(&a, "T_mult") as u64,
        eta_min: num(&a, "eta_min"),
    };
    check(&g, s, 0.0);
}

#[test]
fn sched_linear() {
    let g = Golden::load("sched_linear");
    let a = args(&g);
    let s = LinearLr {
        start_factor: num(&a, "start_factor"),
        end_factor: num(&a, "end_factor"),
        total_iters: num(&a, "total_iters") as u64,
    };
    check(&g, s, 0.0);
}

#[test]
fn sched_onecycle() {
    let g = Golden::load("sched_onecycle");
    let a = args(&g);
    let s = OneCycleLr::new(num(&a, "max_lr"), num(&a, "total_steps") as u64)
        .pct_start(num(&a, "pct_start"));
    check(&g, s, g.hp("momentum"));
}

#[test]
fn sched_reduce_on_plateau() {
    let g = Golden::load("sched_reduce_on_plateau");
    let a = args(&g);
    let mode = match a["mode"].as_str() {
        "\"min\"" => PlateauMode::Min,
        "\"max\"" => PlateauMode::Max,
        other => panic!("mode {other}"),
    };
    let s = ReduceLrOnPlateau::new()
        .mode(mode)
        .factor(num(&a, "factor"))
        .patience(num(&a, "patience") as u64)
        .threshold(num(&a, "threshold"));
    check(&g, s, 0.0);
}

/// Warm-up then cosine, as SequentialLR: each stage is its own schedule restarted at its
/// milestone (checked against torch 2.15's SequentialLR(LinearLR, CosineAnnealingLR) when
/// written: equal to 1e-16).
#[test]
fn sequential_lr_chains_stages_at_milestones() {
    let warm = LinearLr {
        start_factor: 0.1,
        end_factor: 1.0,
        total_iters: 5,
    };
    let cosine = CosineAnnealingLr {
        t_max: 20,
        eta_min: 0.001,
    };
    let s = SequentialLr::new(warm).then(5, cosine);
    for k in 0..30 {
        let expected = if k < 5 {
            warm.lr_at(0.1, k)
        } else {
            cosine.lr_at(0.1, k - 5)
        };
        assert_eq!(s.lr_at(0.1, k), expected, "step {k}");
    }
    // Three stages, and the rates a plain loop sees.
    let s = SequentialLr::new(ExponentialLr { gamma: 0.5 })
        .then(
            2,
            StepLr {
                step_size: 1,
                gamma: 0.1,
            },
        )
        .then(
            4,
            LinearLr {
                start_factor: 1.0,
                end_factor: 0.0,
                total_iters: 2,
            },
        );
    let mut opt = Sgd::<f64>::new(1.0);
    let mut sched = LrScheduler::new(&mut opt, s);
    let mut seen = Vec::new();
    for _ in 0..7 {
        seen.push(opt.lr() as f32);
        sched.step(&mut opt);
    }
    check_close(
        "three stages",
        &seen,
        &[1.0, 0.5, 1.0, 0.1, 1.0, 0.5, 0.0],
        1e-7,
        0.0,
    );
}

/// A plateau stage inside a sequence sees the metrics of its own steps only.
#[test]
fn sequential_lr_with_a_plateau_stage() {
    let s = SequentialLr::new(LinearLr {
        start_factor: 0.5,
        end_factor: 1.0,
        total_iters: 2,
    })
    .then(3, ReduceLrOnPlateau::new().patience(1).factor(0.5));
    let mut opt = Sgd::<f32>::new(1.0);
    let mut sched = LrScheduler::new(&mut opt, s);
    let mut seen = Vec::new();
    // Bad metrics throughout: the warm-up ignores them; the plateau stage counts from 3.
    for _ in 0..8 {
        seen.push(opt.lr() as f32);
        sched.step_with_metric(&mut opt, 1.0);
    }
    check_close(
        "plateau stage",
        &seen,
        &[0.5, 0.75, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5],
        1e-7,
        0.0,
    );
}

/// The other ReduceLROnPlateau settings, against hand-traced PyTorch semantics: max mode
/// with an absolute threshold, cooldown, min_lr, and eps skipping tiny reductions.
#[test]
fn reduce_on_plateau_modes_cooldown_and_floor() {
    let mut s = ReduceLrOnPlateau::new()
        .mode(PlateauMode::Max)
        .threshold_mode(ThresholdMode::Abs)
        .threshold(0.1)
        .patience(0)
        .cooldown(2)
        .factor(0.5)
        .min_lr(0.3);
    // 0.5 is the first best; 0.55 is not better by more than 0.1 -> reduce (1 -> 0.5);
    // two cooldown steps ignore bad values; the next bad one reduces to the floor 0.3, and
    // later reductions stay there (torch 2.15 gives the same rates).
    let mut lrs = Vec::new();
    for (k, m) in [0.5, 0.55, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
        .into_iter()
        .enumerate()
    {
        s.observe(k as u64, m);
        lrs.push(s.lr_at(1.0, 0));
    }
    assert_eq!(lrs, [1.0, 0.5, 0.5, 0.5, 0.3, 0.3, 0.3, 0.3]);
    assert_eq!(s.reductions(), 3);
    // A reduction smaller than eps is skipped.
    let mut s = ReduceLrOnPlateau::new().patience(0).eps(1e-3);
    s.observe(0, 1.0);
    s.observe(1, 1.0);
    assert_eq!(s.lr_at(1e-3, 0), 1e-3);
}

/// OneCycleLR's options: three phases, linear annealing, Adam's beta1 cycled.
#[test]
fn onecycle_three_phase_linear_cycles_adam_beta1() {
    let s = OneCycleLr::new(1.0, 20)
        .three_phase(true)
        .anneal_strategy(shaped::optim::Anneal::Linear)
        .div_factor(10.0)
        .final_div_factor(100.0)
        .momentum_range(0.8, 0.9);
    // Phase ends (PyTorch): 0.3*20-1 = 5, 2*0.3*20-2 = 10, 19.
    assert!((s.lr_at(0.0, 0) - 0.1).abs() < 1e-12);
    assert!((s.lr_at(0.0, 5) - 1.0).abs() < 1e-12);
    assert!((s.lr_at(0.0, 10) - 0.1).abs() < 1e-12);
    assert!((s.lr_at(0.0, 19) - 0.001).abs() < 1e-12);
    assert!((s.lr_at(0.0, 15) - (0.1 + (0.001 - 0.1) * 5.0 / 9.0)).abs() < 1e-12);
    assert_eq!(s.momentum_at(5), Some(0.8));
    assert!((s.momentum_at(10).unwrap() - 0.9).abs() < 1e-12);
    let mut adam = shaped::optim::Adam::<f32>::new(1e-3);
    let mut sched = LrScheduler::new(&mut adam, s);
    assert_eq!(adam.betas.0, 0.9);
    for _ in 0..5 {
        sched.step(&mut adam);
    }
    assert!((adam.betas.0 - 0.8).abs() < 1e-12);
    assert!((adam.lr - 1.0).abs() < 1e-12);
}

fn flist(a: &HashMap<String, String>, key: &str) -> Vec<f64> {
    a[key]
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|x| x.trim().parse().unwrap())
        .collect()
}

/// A CyclicLR case's schedule from its `args` (the custom scale function is the script's).
fn cyclic_from(g: &Golden) -> CyclicLr {
    let a = args(g);
    let mut s = CyclicLr::new(0.0, 0.0).step_size_up(num(&a, "step_size_up") as u64);
    s = if a["base_lr"].starts_with('[') {
        s.group_base_lrs(flist(&a, "base_lr"))
            .group_max_lrs(flist(&a, "max_lr"))
    } else {
        s.group_base_lrs(vec![num(&a, "base_lr")])
            .group_max_lrs(vec![num(&a, "max_lr")])
    };
    if a.contains_key("step_size_down") {
        s = s.step_size_down(num(&a, "step_size_down") as u64);
    }
    if let Some(mode) = a.get("mode") {
        s = s.mode(match mode.as_str() {
            "\"triangular\"" => CyclicMode::Triangular,
            "\"triangular2\"" => CyclicMode::Triangular2,
            "\"exp_range\"" => CyclicMode::ExpRange,
            other => panic!("mode {other}"),
        });
    }
    if a.contains_key("gamma") {
        s = s.gamma(num(&a, "gamma"));
    }
    if a.contains_key("base_momentum") {
        s = s.momentum_range(num(&a, "base_momentum"), num(&a, "max_momentum"));
    }
    if let Some(on) = a.get("cycle_momentum") {
        s = s.cycle_momentum(on == "true");
    }
    s
}

/// Runs a case through `LrScheduler` on an optimizer with the case's number of parameter
/// groups (SGD or Adam) and checks every group's rate and group 0's momentum (or beta1).
fn check_groups<S: LrSchedule>(g: &Golden, schedule: S) {
    let groups = g.hp("groups") as usize;
    let momentum = g.hp("momentum");
    let mut opt: Box<dyn Optimizer<f32>> = match g.hp_str("kind_opt").as_str() {
        "\"SGD\"" => Box::new(Sgd::<f32>::new(g.hp("lr")).momentum(momentum)),
        "\"Adam\"" => Box::new(Adam::<f32>::new(g.hp("lr")).betas(momentum, 0.999)),
        other => panic!("optimizer {other}"),
    };
    for i in 1..groups {
        opt.add_param_group(ParamGroup::prefix(format!("g{i}.")))
            .unwrap();
    }
    let mut sched = LrScheduler::try_new(&mut opt, schedule).unwrap();
    let (mut lrs, mut momenta) = (Vec::new(), Vec::new());
    for _ in 0..g.hp("steps") as usize {
        lrs.extend(opt.group_lrs().iter().map(|&l| l as f32));
        momenta.push(opt.momentum().unwrap() as f32);
        sched.step(&mut opt);
    }
    g.check_forward("lrs", &lrs);
    g.check_forward("momentum", &momenta);
}

#[test]
fn sched_cyclic_modes() {
    for case in [
        "sched_cyclic_triangular",
        "sched_cyclic_triangular2",
        "sched_cyclic_exp_range",
        "sched_cyclic_inverted",
    ] {
        let g = Golden::load(case);
        let s = cyclic_from(&g);
        check_groups(&g, s);
    }
}

#[test]
fn sched_cyclic_scale_fn() {
    let g = Golden::load("sched_cyclic_scale_fn");
    assert_eq!(g.hp_str("scale_fn"), "lambda x: 1 / (1 + x)");
    let s = cyclic_from(&g).scale_fn(|x| 1.0 / (1.0 + x), ScaleMode::Iterations);
    check_groups(&g, s);
}

#[test]
fn sched_cyclic_groups() {
    let g = Golden::load("sched_cyclic_groups");
    let s = cyclic_from(&g);
    check_groups(&g, s);
}

#[test]
fn sched_onecycle_groups() {
    let g = Golden::load("sched_onecycle_groups");
    let a = args(&g);
    let s = OneCycleLr::new(0.0, num(&a, "total_steps") as u64)
        .pct_start(num(&a, "pct_start"))
        .group_max_lrs(flist(&a, "max_lr"));
    check_groups(&g, s);
}

/// Settings PyTorch refuses (a per-group list of the wrong length) or turns into NaN rates
/// (no rising steps) are errors naming the sizes, from `LrScheduler::try_new` and from the
/// schedules' `validate`.
#[test]
fn cyclic_and_onecycle_bad_settings_are_errors() {
    let mut opt = Sgd::<f32>::new(0.1).with_param_group(ParamGroup::prefix("head."));
    let err = LrScheduler::try_new(
        &mut opt,
        CyclicLr::new(0.01, 0.1).group_max_lrs(vec![0.1, 0.2, 0.3]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("3 values for `max_lr`") && err.contains("2 parameter groups"),
        "{err}"
    );
    let err = LrScheduler::try_new(
        &mut opt,
        CyclicLr::new(0.01, 0.1).group_base_lrs(vec![0.1, 0.2, 0.3]),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("`base_lr`"), "{err}");
    let err = CyclicLr::new(0.01, 0.1)
        .step_size_up(0)
        .step_size_down(3)
        .validate(1)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("step_size_up is 0 (step_size_down 3)"),
        "{err}"
    );
    assert!(
        CyclicLr::new(0.01, 0.1)
            .group_max_lrs(vec![])
            .validate(1)
            .is_err()
    );
    // The sawtooth of `step_size_down` 0 is valid, as in PyTorch.
    let saw = CyclicLr::new(0.0, 1.0).step_size_up(2).step_size_down(0);
    assert!(saw.validate(1).is_ok());
    assert_eq!(
        (0..5).map(|k| saw.lr_at(0.0, k)).collect::<Vec<_>>(),
        [0.0, 0.5, 0.0, 0.5, 0.0]
    );
    let err = OneCycleLr::new(0.1, 10)
        .group_max_lrs(vec![0.1, 0.2, 0.3])
        .validate(2)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("OneCycleLR") && err.contains("3 values"),
        "{err}"
    );
    // A one-value list is every group's, as a scalar.
    assert!(
        OneCycleLr::new(0.1, 10)
            .group_max_lrs(vec![0.2])
            .validate(4)
            .is_ok()
    );
    // A boxed schedule is checked as well.
    let mut sgd = Sgd::<f32>::new(0.1);
    let boxed: Box<dyn LrSchedule> = Box::new(CyclicLr::new(0.0, 1.0).step_size_up(0));
    assert!(LrScheduler::try_new(&mut sgd, boxed).is_err());
}

/// The cycle through a boxed schedule and Adam: beta1 moves between max and base momentum,
/// the optimizer's rate is set to base_lr at construction.
#[test]
fn cyclic_cycles_adam_beta1_through_a_box() {
    let mut adam = Adam::<f32>::new(5.0);
    let s: Box<dyn LrSchedule> = Box::new(CyclicLr::new(0.1, 0.5).step_size_up(2));
    let mut sched = LrScheduler::new(&mut adam, s);
    assert_eq!((adam.lr, adam.betas.0), (0.1, 0.9));
    sched.step(&mut adam);
    sched.step(&mut adam);
    assert!((adam.lr - 0.5).abs() < 1e-12 && (adam.betas.0 - 0.8).abs() < 1e-12);
}
