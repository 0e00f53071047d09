//! Shape ops beyond the PyTorch goldens: run-time errors (each naming the dimensions
//! involved), values of the variants the goldens do not reach, and gradients checked
//! against finite differences.

use shaped::gradcheck::{GradcheckOptions, gradcheck_vjp, gradcheck2_vjp};
use shaped::ops::compare::where_;
use shaped::prelude::*;
use shaped::shape::Axes5;

type T64<S> = Tensor<S, f64>;

fn opts() -> GradcheckOptions {
    GradcheckOptions::default()
}

/// `0, 1, 2, ...` in a tensor of shape `S`, in f64.
fn iota<S: ConstShape>() -> T64<S> {
    Tensor::from_vec((0..S::NUMEL).map(|i| i as f64).collect()).unwrap()
}

// ---- run-time errors ----

#[test]
fn try_reshape_wrong_element_count_names_both_shapes() {
    let x = Tensor::<(usize, usize)>::zeros_with_shape((2, 3));
    let err = x.try_reshape_dyn((4usize, 2usize)).unwrap_err().to_string();
    assert!(err.contains("[2, 3]") && err.contains("[4, 2]"), "{err}");
    assert!(
        err.contains("6 elements") && err.contains("8 elements"),
        "{err}"
    );
}

#[test]
fn gather_index_out_of_range_names_index_and_axis() {
    let x = Tensor::<Rank2<3, 5>>::zeros();
    let idx = Indices::<Rank2<3, 2>>::from_array2([[0, 1], [4, 5], [2, 2]]);
    let err = x.clone().try_gather::<1, _>(&idx).unwrap_err().to_string();
    assert!(
        err.contains("index 5") && err.contains("axis 1 of size 5") && err.contains("[3, 5]"),
        "{err}"
    );

    // Indices larger than the input off the gather axis.
    let idx = Indices::<Rank2<4, 1>>::from_vec(vec![0; 4]).unwrap();
    let err = x.try_gather::<1, _>(&idx).unwrap_err().to_string();
    assert!(
        err.contains("[4, 1]") && err.contains("[3, 5]") && err.contains("axis 0"),
        "{err}"
    );
}

#[test]
#[should_panic(expected = "index 9 at position 1 is out of range for axis 0 of size 3")]
fn gather_panics_with_a_clear_message() {
    let x = Tensor::<Rank1<3>>::zeros();
    let _ = x.gather::<0, _>(&Indices::<Rank1<2>>::from_array([0, 9]));
}

#[test]
fn index_select_out_of_range_names_index_and_axis() {
    let x = Tensor::<Rank2<2, 3>>::zeros();
    let err = x
        .try_index_select::<0, _>(&Indices::<Rank1<2>>::from_array([1, 2]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("index 2") && err.contains("axis 0 of size 2") && err.contains("[2, 3]"),
        "{err}"
    );
}

#[test]
fn dynamic_concat_mismatch_names_both_shapes() {
    let a = Tensor::<(usize, usize)>::zeros_with_shape((2, 3));
    let b = Tensor::<(usize, usize)>::zeros_with_shape((4, 5));
    let err = a.try_concat::<0, _, _>(b).unwrap_err().to_string();
    assert!(
        err.contains("[2, 3]") && err.contains("[4, 5]") && err.contains("dimension 1"),
        "{err}"
    );

    // A static axis against a run-time one is checked at run time too.
    let a = Tensor::<Rank2<2, 3>>::zeros();
    let b = Tensor::<(usize, usize)>::zeros_with_shape((1, 4));
    assert!(a.try_concat::<0, _, _>(b).is_err());
}

#[test]
fn dynamic_stack_mismatch_names_both_shapes() {
    let a = Tensor::<(usize, Const<2>)>::zeros_with_shape((3, Const));
    let b = Tensor::<(usize, Const<2>)>::zeros_with_shape((4, Const));
    let err = Tensor::try_stack::<0, _>([a, b]).unwrap_err().to_string();
    assert!(err.contains("[3, 2]") && err.contains("[4, 2]"), "{err}");
}

#[test]
fn narrow_select_slice_squeeze_errors() {
    let x = Tensor::<(usize, Const<4>)>::zeros_with_shape((3, Const));
    let err = x.clone().try_narrow_dyn::<0>(2, 2).unwrap_err().to_string();
    assert!(
        err.contains("axis 0 of size 3") && err.contains("[3, 4]"),
        "{err}"
    );
    assert!(x.clone().try_select::<1>(4).is_err());
    assert!(x.clone().try_slice_step::<1>(0, 4, 0).is_err());
    let err = x.try_squeeze::<0>().unwrap_err().to_string();
    assert!(err.contains("axis 0") && err.contains("size 3"), "{err}");
}

#[test]
#[should_panic(expected = "out of range for axis 0 of size 3")]
fn static_narrow_of_a_dynamic_axis_panics() {
    let x = Tensor::<(usize,)>::zeros_with_shape((3,));
    let _ = x.narrow::<0, 2, 2>();
}

#[test]
fn where_and_compare_broadcast_errors() {
    let a = Tensor::<(usize,)>::zeros_with_shape((3,));
    let b = Tensor::<(usize,)>::zeros_with_shape((4,));
    assert!(a.try_lt(&b).is_err());
    assert!(Tensor::try_where_cond(&a, a.clone(), b).is_err());
}

// ---- values ----

#[test]
fn reshape_flatten_unsqueeze_squeeze_share_the_buffer() {
    let x = iota::<Rank3<2, 3, 4>>();
    let flat: T64<Rank2<2, 12>> = x.clone().flatten().realize();
    assert_eq!(flat.as_slice(), x.as_slice());
    assert!(std::ptr::eq(
        flat.as_slice().as_ptr(),
        x.as_slice().as_ptr()
    ));
    let all: T64<Rank1<24>> = x.clone().flatten_all().realize();
    assert_eq!(all.as_slice(), x.as_slice());
    let u: T64<Rank4<2, 3, 1, 4>> = x.clone().unsqueeze::<2>();
    let s: T64<Rank3<2, 3, 4>> = u.squeeze::<2>();
    assert_eq!(s.as_slice(), x.as_slice());
    let end: T64<Rank4<2, 3, 4, 1>> = x.clone().unsqueeze::<3>();
    assert_eq!(end.numel(), 24);
    let scalar = Tensor::<Rank0>::full(3.0).flatten_all();
    assert_eq!(scalar.dims().as_slice(), &[1]);
}

#[test]
fn transpose_and_permute_agree() {
    let x = iota::<Rank3<2, 3, 4>>();
    let t: T64<Rank3<4, 3, 2>> = x.clone().transpose::<0, 2>();
    let p: T64<Rank3<4, 3, 2>> = x.clone().permute::<2, 1, 0>();
    assert_eq!(t.to_vec(), p.to_vec());
    assert_eq!(t.at(&[3, 1, 0]).unwrap(), x.at(&[0, 1, 3]).unwrap());
    let same: T64<Rank3<2, 3, 4>> = x.clone().transpose::<1, 1>();
    assert_eq!(same.to_vec(), x.to_vec());

    let m = iota::<Rank2<2, 3>>();
    assert_eq!(m.t().to_vec(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
}

#[test]
fn permute_rank5_moves_every_axis() {
    let x = iota::<Rank5<1, 2, 3, 4, 5>>();
    let y: T64<Rank5<5, 1, 2, 3, 4>> = x.clone().permute::<4, 0, 1, 2, 3>();
    for (a, b, c, d, e) in [(0, 1, 2, 3, 4), (0, 0, 1, 2, 3), (0, 1, 0, 0, 2)] {
        assert_eq!(
            y.at(&[e, a, b, c, d]).unwrap(),
            x.at(&[a, b, c, d, e]).unwrap()
        );
    }
    let z: T64<Rank5<5, 1, 2, 3, 4>> = x.permute_axes::<Axes5<4, 0, 1, 2, 3>>();
    assert_eq!(z.to_vec(), y.to_vec());
}

#[test]
fn slices_and_picks() {
    let x = iota::<Rank2<3, 7>>();
    // Python clamps the end: x[:, 4:100:2].
    let s = x.clone().slice_step::<1>(4, 100, 2);
    assert_eq!(s.to_vec(), vec![4.0, 6.0, 11.0, 13.0, 18.0, 20.0]);
    assert_eq!(x.clone().slice_step::<1>(9, 12, 1).numel(), 0);
    let rows: T64<(Const<2>, Const<7>)> = x.clone().narrow::<0, 1, 2>();
    assert_eq!(rows.to_vec(), (7..21).map(|v| v as f64).collect::<Vec<_>>());
    let col: T64<Rank1<3>> = x.clone().select::<1>(6);
    assert_eq!(col.to_vec(), vec![6.0, 13.0, 20.0]);
    let picked: T64<Rank2<2, 7>> = x
        .clone()
        .index_select::<0, _>(&Indices::<Rank1<2>>::from_array([2, 0]));
    assert_eq!(picked.at(&[0, 0]).unwrap(), 14.0);
    assert_eq!(picked.at(&[1, 6]).unwrap(), 6.0);
    // gather along axis 0: y[i][j] = x[idx[i][j]][j].
    let g = x.gather::<0, _>(&Indices::<Rank2<1, 3>>::from_array2([[2, 0, 1]]));
    assert_eq!(g.to_vec(), vec![14.0, 1.0, 9.0]);
}

#[test]
fn stack_along_every_axis() {
    let a = iota::<Rank2<2, 3>>();
    let b = iota::<Rank2<2, 3>>() + 10.0;
    let s0: T64<Rank3<2, 2, 3>> = Tensor::stack::<0, _>([a.clone(), b.clone()]);
    assert_eq!(s0.to_vec(), [a.to_vec(), b.to_vec()].concat());
    let s2: T64<Rank3<2, 3, 2>> = Tensor::stack::<2, _>([a.clone(), b.clone()]);
    assert_eq!(s2.at(&[1, 2, 0]).unwrap(), 5.0);
    assert_eq!(s2.at(&[1, 2, 1]).unwrap(), 15.0);
    let one: T64<Rank3<1, 2, 3>> = Tensor::stack::<0, _>([a.clone()]);
    assert_eq!(one.to_vec(), a.to_vec());
}

#[test]
fn comparisons_broadcast_and_scalar() {
    let a = Tensor::<Rank2<2, 1>>::from_array([[1.0], [2.0]]);
    let b = Tensor::<Rank1<3>>::from_array([0.0, 2.0, 3.0]);
    assert_eq!(a.eq(&b).to_vec(), vec![0.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    assert_eq!(a.ne(&b).to_vec(), vec![1.0, 1.0, 1.0, 1.0, 0.0, 1.0]);
    assert_eq!(a.lt(&b).to_vec(), vec![0.0, 1.0, 1.0, 0.0, 0.0, 1.0]);
    assert_eq!(a.le(&b).to_vec(), vec![0.0, 1.0, 1.0, 0.0, 1.0, 1.0]);
    assert_eq!(a.gt(&b).to_vec(), vec![1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
    assert_eq!(a.ge(&b).to_vec(), vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0]);
    assert_eq!(b.ne_scalar(2.0).to_vec(), vec![1.0, 0.0, 1.0]);
    assert_eq!(b.lt_scalar(2.0).to_vec(), vec![1.0, 0.0, 0.0]);
    assert_eq!(b.ge_scalar(2.0).to_vec(), vec![0.0, 1.0, 1.0]);

    // A comparison borrows a traced tensor without touching its tape.
    let x = Tensor::<Rank1<3>, f64>::from_array([1.0, -2.0, 3.0]);
    let xt = x.clone().trace();
    let mask = xt.gt_scalar(0.0);
    let grads = (xt * mask).sum().backward();
    assert_eq!(grads.get(&x).unwrap().to_vec(), vec![1.0, 0.0, 1.0]);
}

// ---- gradients against finite differences ----

#[test]
fn view_ops_gradients() {
    let x = iota::<Rank3<2, 3, 4>>();
    gradcheck_vjp(&x, |x| x.reshape::<Rank2<4, 6>>().square(), opts()).unwrap();
    gradcheck_vjp(&x, |x| x.flatten().square(), opts()).unwrap();
    gradcheck_vjp(&x, |x| x.flatten_all().square(), opts()).unwrap();
    gradcheck_vjp(&x, |x| x.unsqueeze::<0>().square().squeeze::<0>(), opts()).unwrap();
    gradcheck_vjp(
        &x,
        |x| x.try_reshape_dyn((3usize, 8usize)).unwrap().square(),
        opts(),
    )
    .unwrap();
}

#[test]
fn reordering_gradients() {
    let x = iota::<Rank4<2, 3, 1, 2>>();
    gradcheck_vjp(&x, |x| x.transpose::<3, 0>().square(), opts()).unwrap();
    gradcheck_vjp(&x, |x| x.permute::<3, 1, 0, 2>().square(), opts()).unwrap();
}

#[test]
fn picking_gradients() {
    let x = iota::<Rank2<3, 5>>();
    gradcheck_vjp(&x, |x| x.select::<0>(1).square(), opts()).unwrap();
    gradcheck_vjp(&x, |x| x.slice_step::<1>(0, 5, 3).square(), opts()).unwrap();
    let idx = Indices::<Rank1<4>>::from_array([2, 2, 0, 1]);
    gradcheck_vjp(&x, |x| x.index_select::<0, _>(&idx).square(), opts()).unwrap();
    let idx = Indices::<Rank2<2, 5>>::from_array2([[2, 2, 0, 1, 0], [0, 0, 0, 2, 1]]);
    gradcheck_vjp(&x, |x| x.gather::<0, _>(&idx).square(), opts()).unwrap();
}

#[test]
fn joining_gradients() {
    let a = iota::<Rank3<2, 1, 3>>();
    let b = iota::<Rank3<2, 2, 3>>();
    gradcheck2_vjp(&a, &b, |a, b| a.concat::<1, _, _>(b).square(), opts()).unwrap();
    let c = iota::<Rank3<2, 1, 3>>() * 0.5;
    gradcheck2_vjp(
        &a,
        &c,
        |a, c| Tensor::stack::<3, _>([a.clone(), c, a]).square(),
        opts(),
    )
    .unwrap();
}

#[test]
fn where_gradients_are_masked_and_summed_over_broadcasts() {
    let cond = Tensor::<Rank2<2, 3>, f64>::from_array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]]);
    let a = Tensor::<Rank2<2, 1>, f64>::from_array([[1.0], [2.0]]);
    let b = Tensor::<Rank1<3>, f64>::from_array([3.0, 4.0, 5.0]);
    let y = where_(&cond, a.clone().trace(), b.clone().trace());
    assert_eq!(y.to_vec(), vec![1.0, 4.0, 1.0, 3.0, 4.0, 2.0]);
    let grads = y.sum().backward();
    assert_eq!(grads.get(&a).unwrap().to_vec(), vec![2.0, 1.0]);
    assert_eq!(grads.get(&b).unwrap().to_vec(), vec![1.0, 2.0, 0.0]);
    gradcheck2_vjp(
        &a,
        &b,
        |a, b| Tensor::where_cond(&cond, a, b).square(),
        opts(),
    )
    .unwrap();
}
