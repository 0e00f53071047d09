//! Run-time errors of the second set's ops: each `try_` variant returns an `Err` naming what
//! is wrong (the offending tensor's index, the sizes involved), and the plain op panics
//! with the same message.

use shaped::ops::pad::PadMode;
use shaped::prelude::*;

type Rows = Tensor<(usize, Const<3>)>;

fn rows(n: usize) -> Rows {
    Tensor::zeros_with_shape((n, Const))
}

fn message<T>(r: Result<T>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn cat_of_an_empty_list() {
    let empty: Vec<Rows> = Vec::new();
    let err = message(Tensor::try_cat::<0, _>(&empty));
    assert!(err.contains("cat") && err.contains("empty"), "{err}");
    let err = message(Tensor::try_stack::<0, _>(empty));
    assert!(err.contains("stack") && err.contains("empty"), "{err}");
}

#[test]
fn cat_names_the_offending_tensor_and_sizes() {
    let list: Vec<Tensor<(usize, usize)>> = vec![
        Tensor::zeros_with_shape((2, 3)),
        Tensor::zeros_with_shape((1, 3)),
        Tensor::zeros_with_shape((2, 5)),
    ];
    let err = message(Tensor::try_cat::<0, _>(&list));
    assert!(err.contains("tensor 2"), "{err}");
    assert!(err.contains("[2, 5]") && err.contains("[2, 3]"), "{err}");
    assert!(err.contains("axis 1") && err.contains("(5 vs 3)"), "{err}");
    // Along axis 1 the same list fails at tensor 1, whose rows differ.
    let err = message(Tensor::try_cat::<1, _>(&list));
    assert!(
        err.contains("tensor 1") && err.contains("(1 vs 2)"),
        "{err}"
    );
    // Sizes differing only along the axis are fine.
    assert_eq!(
        Tensor::try_cat::<0, _>(&list[..2])
            .unwrap()
            .dims()
            .as_slice(),
        &[3, 3]
    );
}

#[test]
fn stack_names_the_offending_tensor_and_sizes() {
    let list = vec![rows(2), rows(2), rows(2), rows(4)];
    let err = message(Tensor::try_stack::<1, _>(&list));
    assert!(
        err.contains("tensor 3") && err.contains("(4 vs 2)"),
        "{err}"
    );
    assert!(err.contains("[4, 3]") && err.contains("[2, 3]"), "{err}");
}

#[test]
#[should_panic(expected = "tensor 1 has shape [4, 3]")]
fn plain_cat_panics_with_the_same_message() {
    let _ = Tensor::cat::<1, _>(vec![rows(2), rows(4)]);
}

#[test]
#[should_panic(expected = "the list is empty")]
fn plain_stack_panics_on_an_empty_list() {
    let _ = Tensor::stack::<0, _>(Vec::<Rows>::new());
}

#[test]
fn split_sizes_that_do_not_cover_the_axis() {
    let x = rows(5);
    let err = message(x.clone().try_split::<0>([2, 2]));
    assert!(
        err.contains("[2, 2]") && err.contains("axis size 5"),
        "{err}"
    );
    let err = message(x.clone().try_split::<0>(vec![4, 4]));
    assert!(err.contains("[4, 4]"), "{err}");
    let err = message(x.clone().try_split::<0>(0));
    assert!(err.contains("size 0"), "{err}");
    let err = message(x.clone().try_chunk::<1>(0));
    assert!(err.contains("at least 1"), "{err}");
    let err = message(x.clone().try_split_static::<0, (Const<2>, Const<2>)>());
    assert!(err.contains("[2, 2]") && err.contains("size 5"), "{err}");
    let err = message(x.try_chunk_static::<0, 2>());
    assert!(
        err.contains("2 equal chunks") && err.contains("size 5"),
        "{err}"
    );
}

#[test]
#[should_panic(expected = "do not add up to the axis size 5")]
fn plain_split_panics_with_the_same_message() {
    let _ = rows(5).split::<0>([1, 1]);
}

#[test]
fn edge_cases_of_split_and_chunk_follow_pytorch() {
    // torch.chunk(7 rows, 3) gives 3, 3, 1; torch.chunk(4 rows, 3) gives 2, 2 (fewer pieces).
    let len = |v: Vec<Tensor<(usize, Const<3>)>>| v.iter().map(|t| t.dims()[0]).collect::<Vec<_>>();
    assert_eq!(len(rows(7).chunk::<0>(3)), vec![3, 3, 1]);
    assert_eq!(len(rows(4).chunk::<0>(3)), vec![2, 2]);
    assert_eq!(len(rows(5).split::<0>(2)), vec![2, 2, 1]);
    assert_eq!(len(rows(5).split::<0>([0, 5, 0])), vec![0, 5, 0]);
    // An empty axis: `chunks` empty pieces, and one empty piece for split(0).
    assert_eq!(len(rows(0).chunk::<0>(3)), vec![0, 0, 0]);
    assert_eq!(len(rows(0).split::<0>(0)), vec![0]);
    assert_eq!(len(rows(0).split::<0>(2)), vec![0]);
}

#[test]
fn topk_larger_than_the_axis() {
    let err = message(rows(2).try_topk::<0, 3>(true));
    assert!(err.contains("k = 3") && err.contains("size 2"), "{err}");
    let err = message(rows(2).try_topk_n::<1>(4, false));
    assert!(err.contains("k = 4") && err.contains("size 3"), "{err}");
}

#[test]
fn pad_that_the_mode_cannot_fill() {
    let x = Tensor::<(usize, usize)>::zeros_with_shape((2, 3));
    let err = message(x.clone().try_pad::<3, 0>(PadMode::Reflect));
    assert!(err.contains("(3, 0)") && err.contains("size 3"), "{err}");
    let err = message(x.clone().try_pad2::<0, 0, 1, 2>(PadMode::Reflect));
    assert!(err.contains("(1, 2)") && err.contains("axis 0"), "{err}");
    let empty = Tensor::<(usize, usize)>::zeros_with_shape((2, 0));
    let err = message(empty.clone().try_pad::<1, 1>(PadMode::Replicate));
    assert!(err.contains("size 0"), "{err}");
    // Constant padding fills any dimension, even an empty one.
    assert_eq!(
        empty.pad::<1, 1>(PadMode::Constant(7.0)).to_vec(),
        vec![7.0; 4]
    );
}

#[test]
#[should_panic(expected = "reflect padding (2, 2)")]
fn plain_pad_panics_with_the_same_message() {
    let _ = Tensor::<Rank1<2>>::zeros().pad::<2, 2>(PadMode::Reflect);
}
