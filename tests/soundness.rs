//! Issue 14: shapes too large to exist, gradients of the wrong size, and error messages that
//! name the sizes. Each test failed (or crashed) before its fix.

use shaped::data::Labels;
use shaped::prelude::*;
use shaped::shape::{ConvTransposeOut, Dims};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The panic message of `f`, or `None` when it returns.
fn panic_message(f: impl FnOnce()) -> Option<String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = catch_unwind(AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    r.err().map(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}

const N: usize = 6148914691236517211; // 3 * N wraps to 17

#[test]
fn matmul_whose_product_is_too_large_is_an_error_not_a_crash() {
    // The issue's repro: this was a SIGSEGV in release.
    let a = Tensor::<(usize, usize)>::zeros_with_shape((3, 0));
    let b = Tensor::<(usize, usize)>::zeros_with_shape((0, N));
    let err = a.clone().try_matmul(b.clone()).unwrap_err().to_string();
    assert!(err.contains("matmul"), "{err}");
    assert!(err.contains(&format!("[3, {N}]")), "{err}");
    let msg = panic_message(|| drop(a.matmul(b))).expect("plain matmul panics");
    assert_eq!(msg, err);
}

#[test]
fn from_vec_with_shape_rejects_a_wrapping_shape() {
    let err = Tensor::<(usize, usize)>::from_vec_with_shape(vec![1.0; 17], (3, N)).unwrap_err();
    assert!(err.to_string().contains("too large"), "{err}");
    assert!(Indices::<(usize, usize)>::from_vec_with_shape(vec![1; 17], (3, N)).is_err());
}

#[test]
fn zeros_with_shape_of_a_wrapping_shape_panics_and_try_is_an_error() {
    let err = Tensor::<(usize, usize)>::try_zeros_with_shape((1 << 32, 1 << 32))
        .unwrap_err()
        .to_string();
    assert!(err.contains("[4294967296, 4294967296]"), "{err}");
    let msg = panic_message(|| {
        Tensor::<(usize, usize)>::zeros_with_shape((1 << 32, 1 << 32));
    })
    .expect("zeros_with_shape panics");
    assert_eq!(msg, err);
    // An empty tensor whose other sizes multiply past usize is refused too: kernels form
    // those partial products.
    assert!(Tensor::<(usize, usize, usize)>::try_zeros_with_shape((0, N, 3)).is_err());
    assert_eq!(Dims::new(&[0, 5, 7]).unwrap().checked_numel(), Some(0));
}

#[test]
fn reshape_broadcast_concat_stack_check_the_new_shape() {
    let x = Tensor::<(usize,)>::zeros_with_shape((17,));
    let err = x
        .clone()
        .try_reshape_dyn((3usize, N))
        .unwrap_err()
        .to_string();
    assert!(err.contains("reshape"), "{err}");
    let e = Tensor::<(usize, usize)>::zeros_with_shape((0, N));
    let err = e
        .clone()
        .try_broadcast_to_dyn((3usize, N))
        .unwrap_err()
        .to_string();
    assert!(err.contains("broadcast_to"), "{err}");
    let big = 1usize << 33;
    let col = Tensor::<(usize, usize)>::zeros_with_shape((big, 0)).try_reshape_dyn((big, 1usize));
    assert!(col.is_err()); // 0 elements vs big: a plain mismatch
    let a = Tensor::<(usize, usize)>::zeros_with_shape((0, isize::MAX as usize));
    let b = Tensor::<(usize, usize)>::zeros_with_shape((0, isize::MAX as usize));
    let err = a.try_concat::<1, _, _>(b).unwrap_err().to_string();
    assert!(err.contains("concat"), "{err}");
    let s = Tensor::<(usize, usize)>::zeros_with_shape((0, isize::MAX as usize));
    let err = Tensor::try_stack::<0, _>([s.clone(), s]).unwrap_err();
    assert!(err.to_string().contains("stack"), "{err}");
}

#[test]
fn broadcast_to_a_shape_too_large_is_an_error() {
    let big = 1usize << 33;
    let a = Tensor::<(usize, usize)>::zeros_with_shape((big, 0));
    let b = Tensor::<(usize, usize)>::zeros_with_shape((0, big));
    // Neither broadcasts against the other: both shapes and the op are named.
    let err = a.try_add(b).unwrap_err().to_string();
    assert!(err.contains("add"), "{err}");
    assert!(err.contains(&format!("[{big}, 0]")) && err.contains(&format!("[0, {big}]")));
}

#[test]
fn broadcast_errors_name_the_op_and_both_shapes() {
    let a = Tensor::<(usize, usize)>::zeros_with_shape((2, 3));
    let b = Tensor::<(usize,)>::zeros_with_shape((2,));
    let err = a.clone().try_mul(b.clone()).unwrap_err().to_string();
    assert!(err.contains("mul"), "{err}");
    assert!(err.contains("[2, 3]") && err.contains("[2]"), "{err}");
    let err = a.try_lt(&b).unwrap_err().to_string();
    assert!(
        err.contains("lt") && err.contains("[2, 3]") && err.contains("[2]"),
        "{err}"
    );
}

#[test]
fn try_realize_names_the_target_in_sizes() {
    let t = Tensor::<(usize, usize)>::zeros_with_shape((2, 3));
    let err = t
        .try_realize::<(usize, Const<4>)>()
        .unwrap_err()
        .to_string();
    assert!(err.contains("[2, 3]") && err.contains("[_, 4]"), "{err}");
    assert!(!err.contains("Const"), "{err}");
}

#[test]
fn transposed_convolution_sizes_do_not_wrap() {
    assert!(ConvTransposeOut::<usize, 3, 2, 0, 0, 1>::new(usize::MAX / 2 + 2).is_err());
    assert!(shaped::shape::ConvOut::<usize, 3, 1, 1, 1>::new(usize::MAX).is_err());
}

#[test]
fn labels_at_usize_max_do_not_wrap_the_class_count() {
    assert!(Labels::try_from_vec(vec![usize::MAX]).is_err());
    assert!(panic_message(|| drop(Labels::from_vec(vec![usize::MAX]))).is_some());
    assert_eq!(Labels::from_vec(vec![3, 1]).num_classes(), 4);
}

#[test]
fn gradients_set_checks_the_gradient_shape() {
    let x = Tensor::<(usize,), f64>::zeros_with_shape((3,));
    let mut g = Gradients::default();
    let err = g
        .try_set(&x, Tensor::zeros_with_shape((5,)))
        .unwrap_err()
        .to_string();
    assert!(err.contains("[5]") && err.contains("[3]"), "{err}");
    assert!(panic_message(|| g.set(&x, Tensor::zeros_with_shape((5,)))).is_some());
    assert!(g.is_empty());
    g.set(&x, Tensor::ones_with_shape((3,)));
    assert_eq!(g.get(&x).unwrap().to_vec(), vec![1.0; 3]);
}

#[test]
fn a_longer_gradient_set_in_backward_cannot_reach_a_binary_op() {
    // Before the fix a backward step could store a longer gradient for an op's output, and
    // the binary op's backward then built its input gradient from uninitialised memory.
    let x = Tensor::<(usize,), f64>::from_vec_with_shape(vec![1.0, 2.0, 3.0], (3,)).unwrap();
    let y = x.clone().trace() * x.clone();
    let y_value = y.clone().without_tape();
    let msg = panic_message(|| {
        let mut g = Gradients::default();
        g.set(&y_value, Tensor::ones_with_shape((1000,)));
    });
    assert!(msg.is_some_and(|m| m.contains("Gradients::set")));
    let grads = y.sum().backward();
    assert_eq!(grads.get(&x).unwrap().to_vec(), vec![2.0, 4.0, 6.0]);
}

#[test]
fn matmul_too_large_in_f64_is_an_error_too() {
    // f64 goes through the portable gemm, which had no extent check at all.
    let a = Tensor::<(usize, usize), f64>::zeros_with_shape((3, 0));
    let b = Tensor::<(usize, usize), f64>::zeros_with_shape((0, N));
    assert!(a.try_matmul(b).is_err());
}

#[test]
fn a_safetensors_shape_too_large_to_exist_is_an_error() {
    // No data (a zero size), but the other sizes' product overflows: no such tensor.
    let header = br#"{"x":{"dtype":"F32","shape":[0,4611686018427387904,4],"data_offsets":[0,0]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header);
    let r = std::panic::catch_unwind(|| {
        shaped::serialize::tensors_from_safetensors::<f32>(&bytes, "hostile").map(|_| ())
    });
    assert!(r.expect("no panic").is_err());
}

#[test]
fn cat_of_a_list_checks_the_joined_axis() {
    let half = isize::MAX as usize;
    let a = Tensor::<(usize, usize)>::zeros_with_shape((0, half));
    let err = Tensor::try_cat::<1, _>(vec![a.clone(), a.clone(), a])
        .unwrap_err()
        .to_string();
    assert!(err.contains("cat"), "{err}");
}
