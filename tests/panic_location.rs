//! Run-time shape panics point at the user's line and name the layer's position in a tuple
//! model.

use shaped::nn::{Linear, LinearDyn, Module, ReLU};
use shaped::prelude::*;
use shaped::rand::{SeedableRng, rngs::StdRng};
use std::sync::{Arc, Mutex};

/// Runs `f`, expecting a panic; returns its message and `file:line` location.
fn panic_of(f: impl FnOnce() + std::panic::UnwindSafe) -> (String, String) {
    // The panic hook is process-wide: tests that swap it must not overlap.
    static HOOK: Mutex<()> = Mutex::new(());
    let _one_at_a_time = HOOK.lock().unwrap_or_else(|p| p.into_inner());
    let seen = Arc::new(Mutex::new(None));
    let sink = seen.clone();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        *sink.lock().unwrap() = Some((message, location));
    }));
    let result = std::panic::catch_unwind(f);
    std::panic::set_hook(previous);
    assert!(result.is_err(), "expected a panic");
    let seen = seen.lock().unwrap().take();
    seen.expect("the hook saw the panic")
}

#[test]
fn a_shape_panic_reports_the_callers_line_and_the_layer() {
    let mut rng = StdRng::seed_from_u64(0);
    // The third layer takes 6 features at run time, but the second gives 8.
    let model = (
        Linear::<4, 8>::new(&mut rng),
        ReLU,
        LinearDyn::new_dyn(6, 3, true, &mut rng),
    );
    let x = Tensor::<(usize, Const<4>)>::zeros_with_shape((2, Const));
    let line = line!() + 1;
    let (message, location) = panic_of(|| drop(model.forward(x.clone())));
    assert_eq!(location, format!("{}:{line}", file!()), "{message}");
    assert!(
        message.contains("layer 2 (LinearLayer<usize, usize>): "),
        "{message}"
    );
    // The `try_` variant returns the same message.
    let err = model.try_forward(x).unwrap_err().to_string();
    assert_eq!(err, message);
}

#[test]
fn training_mode_panics_point_at_the_caller_too() {
    let mut rng = StdRng::seed_from_u64(1);
    let mut model = (LinearDyn::new_dyn(5, 2, true, &mut rng),);
    let x = Tensor::<(usize, usize)>::zeros_with_shape((3, 4));
    let line = line!() + 1;
    let (message, location) = panic_of(move || drop(model.forward_train(x)));
    assert_eq!(location, format!("{}:{line}", file!()), "{message}");
    assert!(
        message.contains("layer 0 (LinearLayer<usize, usize>)"),
        "{message}"
    );
}

#[test]
fn tensor_op_panics_point_at_the_caller() {
    let a = Tensor::<(usize, usize)>::zeros_with_shape((2, 3));
    let b = Tensor::<(usize, usize)>::zeros_with_shape((4, 5));
    let line = line!() + 1;
    let (message, location) = panic_of(|| drop(a.clone().matmul(b.clone())));
    assert_eq!(location, format!("{}:{line}", file!()), "{message}");
    assert_eq!(message, a.clone().try_matmul(b).unwrap_err().to_string());

    let x = Tensor::<(usize,)>::zeros_with_shape((6,));
    let line = line!() + 1;
    let (message, location) = panic_of(|| drop(x.clone().reshape_dyn((4usize,))));
    assert_eq!(location, format!("{}:{line}", file!()), "{message}");

    let y = Tensor::<(usize,)>::zeros_with_shape((3,));
    let line = line!() + 1;
    let (message, location) = panic_of(|| drop(x.clone() + y.clone()));
    assert_eq!(location, format!("{}:{line}", file!()), "{message}");
    assert!(message.contains("add"), "{message}");
    assert_eq!(
        message.matches("shapes [6] and [3]").count(),
        1,
        "{message}"
    );
}
