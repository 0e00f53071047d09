//! Build-time shape checks that name the op and both sizes.
//!
//! Two `Const`s that differ are trait errors (`cargo check` reports them). Where a computed
//! dimension (`ConvOut`, `PoolOut`, `Prod`, ...) meets another static one, the types unify
//! whatever their spelling ([`DimEq`], [`BroadcastDim`]) and the sizes are compared by a
//! constant: `DimCheck::<A, B, Op>::OK`, `BroadcastCheck::<L, R, Op>::OK`, ... Each is one
//! constant per (types, op), so rustc reports a failure once, and it is evaluated first in the
//! function the user called (`forward`, `add`, `matmul`, `concat`): rustc's
//! "the above error was encountered while instantiating" note then points at the user's line.
//! See `shaped::compile_errors` for what the user sees.

use super::broadcast::{BroadcastShapes, DimEq, DimUnify, first_mismatch};
use super::const_msg::ConstMsg;
use super::dim::Dim;
use super::shape::Shape;
use super::target::LossTarget;
use crate::error::{Error, Result};
use core::marker::PhantomData;

/// An op or layer as build-time shape errors name it: `PARTS[0]` lhs-size `PARTS[1]`
/// rhs-size `PARTS[2]`.
pub(crate) trait CheckMsg {
    /// Text before the parts, e.g. the layer with its sizes.
    const HEAD: ConstMsg = ConstMsg::new();
    /// Print the rhs (expected) size first.
    const EXPECTED_FIRST: bool = false;
    const PARTS: [&'static str; 3];
}

/// Declares zero-sized markers that name ops in build-time errors.
macro_rules! check_msg {
    ($($(#[$m:meta])* $name:ident: $a:literal, $b:literal, $c:literal;)*) => {$(
        $(#[$m])*
        pub(crate) struct $name;
        impl CheckMsg for $name {
            const PARTS: [&'static str; 3] = [$a, $b, $c];
        }
    )*};
}

check_msg! {
    /// matmul's inner dimensions.
    MatMulInner: "matmul: the lhs has ", " columns but the rhs has ", " rows";
    /// Any two dimensions that must be equal (the fallback inside `dim_eq`).
    AnyDim: "dimension mismatch: a computed dimension of size ", " must equal ", "";
    /// concat's and stack's other axes.
    ConcatOther: "concat: the tensors must match off the joined axis, but one has size ", " where the other has ", "";
    /// matmul's batch dimensions.
    MatMulBatch: "matmul: batch dimensions ", " and ", " differ";
    /// `LayerNorm`'s normalized size.
    LayerNormInput: "LayerNorm: the input's last dimension is ", ", but the layer normalizes ", "";
    /// `RMSNorm`'s normalized size.
    RmsNormInput: "RMSNorm: the input's last dimension is ", ", but the layer normalizes ", "";
    /// A convolution's input channels.
    ConvChannels: "convolution: the input has ", " channels, but the layer takes ", " (in_channels)";
    /// `BatchNorm`'s channels.
    BatchNormChannels: "BatchNorm: the input has ", " channels, but the layer has ", " (num_features)";
    /// `InstanceNorm`'s channels.
    InstanceNormChannels: "InstanceNorm: the input has ", " channels, but the layer has ", " (num_features)";
    /// `ChannelPReLU`'s channels.
    PReluChannels: "PReLU: the input has ", " channels, but the layer has ", " (num_parameters)";
}

/// `Linear<I, O>`'s input features.
pub(crate) struct LinearInput<I, O>(PhantomData<(I, O)>);
impl<I: Dim, O: Dim> CheckMsg for LinearInput<I, O> {
    const HEAD: ConstMsg = layer_name("Linear", I::STATIC_SIZE, O::STATIC_SIZE);
    const EXPECTED_FIRST: bool = true;
    const PARTS: [&'static str; 3] = [
        " expects ",
        " input features, but its input (the previous layer's output) has ",
        "",
    ];
}

/// `Bilinear<I1, I2, O>`'s first input's features.
pub(crate) struct BilinearInput1<I1, I2, O>(PhantomData<(I1, I2, O)>);
impl<I1: Dim, I2: Dim, O: Dim> CheckMsg for BilinearInput1<I1, I2, O> {
    const HEAD: ConstMsg = bilinear_name(I1::STATIC_SIZE, I2::STATIC_SIZE, O::STATIC_SIZE);
    const EXPECTED_FIRST: bool = true;
    const PARTS: [&'static str; 3] = [
        " expects ",
        " features in its first input (in1_features), but x1 has ",
        "",
    ];
}

/// `Bilinear<I1, I2, O>`'s second input's features.
pub(crate) struct BilinearInput2<I1, I2, O>(PhantomData<(I1, I2, O)>);
impl<I1: Dim, I2: Dim, O: Dim> CheckMsg for BilinearInput2<I1, I2, O> {
    const HEAD: ConstMsg = bilinear_name(I1::STATIC_SIZE, I2::STATIC_SIZE, O::STATIC_SIZE);
    const EXPECTED_FIRST: bool = true;
    const PARTS: [&'static str; 3] = [
        " expects ",
        " features in its second input (in2_features), but x2 has ",
        "",
    ];
}

/// `Bilinear<i1, i2, o>`, or `Bilinear` when a size is only known at run time.
const fn bilinear_name(i1: Option<usize>, i2: Option<usize>, o: Option<usize>) -> ConstMsg {
    match (i1, i2, o) {
        (Some(a), Some(b), Some(c)) => ConstMsg::new()
            .s("Bilinear<")
            .n(a)
            .s(", ")
            .n(b)
            .s(", ")
            .n(c)
            .s(">"),
        _ => ConstMsg::new().s("Bilinear"),
    }
}

/// `Name<a, b>: `, or `Name: ` when a size is only known at run time.
const fn layer_name(name: &str, a: Option<usize>, b: Option<usize>) -> ConstMsg {
    match (a, b) {
        (Some(a), Some(b)) => ConstMsg::new().s(name).s("<").n(a).s(", ").n(b).s(">"),
        _ => ConstMsg::new().s(name),
    }
}

/// `A` and `B` must be equal: fails the build naming `M` and both sizes when they are static
/// and differ.
pub(crate) struct DimCheck<A, B, M>(PhantomData<(A, B, M)>);

impl<A: DimEq<B>, B: Dim, M: CheckMsg> DimCheck<A, B, M> {
    /// The mismatch, without failing: layers return it as their
    /// [`SHAPE_MISMATCH`](crate::nn::Module::SHAPE_MISMATCH) so that a tuple model can name
    /// the layer's position.
    pub(crate) const MISMATCH: ShapeMismatch = if let Some((a, b)) = A::STATIC_MISMATCH {
        let (a, b) = if M::EXPECTED_FIRST { (b, a) } else { (a, b) };
        ShapeMismatch::new(
            M::HEAD,
            ConstMsg::new()
                .s(M::PARTS[0])
                .n(a)
                .s(M::PARTS[1])
                .n(b)
                .s(M::PARTS[2]),
        )
    } else {
        ShapeMismatch::NONE
    };
    pub(crate) const OK: () = Self::MISMATCH.check();
}

/// A layer's build-time shape mismatch, kept as a value so that a container can say where the
/// layer sits before failing the build: `layer 7 (Linear<1350, 10>) expects 1350 input
/// features, ...`. Built-in layers report theirs as
/// [`Module::SHAPE_MISMATCH`](crate::nn::Module::SHAPE_MISMATCH); tuple models, `Residual` and
/// `Frozen` pass their layers' on, with the layer's position.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Flatten, Linear, Module};
/// use shaped::shape::ShapeMismatch;
/// type X = Tensor<(usize, Const<4>, Const<5>)>;
/// // 4 x 5 = 20 features meet a layer that takes 20: no mismatch.
/// const M: ShapeMismatch = <(Flatten, Linear<20, 2>) as Module<X>>::SHAPE_MISMATCH;
/// assert!(M.is_none());
/// ```
#[derive(Clone, Copy)]
pub struct ShapeMismatch {
    found: bool,
    /// The layer's position, `7` or `3.0.1` (tuple indices and fields, as in parameter names).
    path: ConstMsg,
    /// The layer's name (`Linear<1350, 10>`), or empty when `text` names the op.
    head: ConstMsg,
    text: ConstMsg,
}

impl ShapeMismatch {
    /// No mismatch.
    pub const NONE: ShapeMismatch = ShapeMismatch {
        found: false,
        path: ConstMsg::new(),
        head: ConstMsg::new(),
        text: ConstMsg::new(),
    };

    pub(crate) const fn new(head: ConstMsg, text: ConstMsg) -> Self {
        ShapeMismatch {
            found: true,
            path: ConstMsg::new(),
            head,
            text,
        }
    }

    /// Whether the shapes fit.
    pub const fn is_none(&self) -> bool {
        !self.found
    }

    /// `self` if it is a mismatch, else `other`: the first mismatch along a model.
    pub const fn or(self, other: ShapeMismatch) -> ShapeMismatch {
        if self.found { self } else { other }
    }

    /// The mismatch, said to come from the layer at `index` of a container (a tuple's field
    /// number; nested containers give `3.0.1`).
    pub const fn at(mut self, index: usize) -> ShapeMismatch {
        if self.found {
            let path = ConstMsg::new().n(index);
            self.path = if self.path.is_empty() {
                path
            } else {
                path.s(".").m(&self.path)
            };
        }
        self
    }

    /// The mismatch, said to come from the layer in field `name` of a struct deriving
    /// `Module` (`encoder.3`).
    pub const fn at_field(mut self, name: &str) -> ShapeMismatch {
        if self.found {
            let path = ConstMsg::new().s(name);
            self.path = if self.path.is_empty() {
                path
            } else {
                path.s(".").m(&self.path)
            };
        }
        self
    }

    /// Fails the build with the message when there is a mismatch.
    pub const fn check(&self) {
        if self.found {
            let msg = if self.path.is_empty() {
                ConstMsg::new().m(&self.head).m(&self.text)
            } else if self.head.is_empty() {
                ConstMsg::new()
                    .s("layer ")
                    .m(&self.path)
                    .s(": ")
                    .m(&self.text)
            } else {
                ConstMsg::new()
                    .s("layer ")
                    .m(&self.path)
                    .s(" (")
                    .m(&self.head)
                    .s(")")
                    .m(&self.text)
            };
            msg.fail()
        }
    }
}

/// An elementwise op's name, for [`BroadcastCheck`].
pub(crate) trait OpName {
    const NAME: &'static str;
}

/// `L` and `R` must broadcast: fails the build naming op `M`, the axis and both sizes.
pub(crate) struct BroadcastCheck<L, R, M>(PhantomData<(L, R, M)>);

impl<L: BroadcastShapes<R>, R: Shape, M: OpName> BroadcastCheck<L, R, M> {
    pub(crate) const OK: () = if let Some((a, b, axis)) = L::STATIC_MISMATCH {
        let msg = ConstMsg::new()
            .s(M::NAME)
            .s(": shapes do not broadcast at axis ")
            .n(axis)
            .s(" of the result: ")
            .n(a)
            .s(" vs ")
            .n(b);
        if a == 1 || b == 1 {
            msg.s(" (the size-1 side is a computed dimension, whose type names the result, so it cannot grow: turn it into Const<1> with realize, or broadcast_to the other shape; when the other side is computed too, putting it on the left also works)")
                    .fail()
        } else {
            msg.fail()
        }
    };
}

/// Two shapes of the same rank whose dimensions are pairwise equal ([`DimUnify`]), however they
/// are spelled: `(usize, Const<64>, ConvOut<Const<16>, 3, 1, 1, 1>, ..)` and
/// `(usize, Const<64>, Const<16>, ..)`. Used where one shape must stand for the other:
/// `Residual`'s `x + f(x)`, `realize`.
///
/// ```
/// use shaped::shape::{Const, ConvOut, SameShape};
/// let a = (2usize, ConvOut::<Const<16>, 3, 1, 1, 1>::default());
/// assert!(a.same_shape(&(2usize, Const::<16>)).is_ok());
/// assert!(a.same_shape(&(3usize, Const::<16>)).is_err());
/// ```
#[diagnostic::on_unimplemented(
    message = "shapes `{Self}` and `{Rhs}` are not the same",
    label = "a static dimension differs, or the ranks differ",
    note = "both shapes need the same rank, and each pair of dimensions the same size"
)]
pub trait SameShape<Rhs: Shape>: Shape {
    /// The first pair of static sizes that differ, with its axis: `(lhs, rhs, axis)`.
    const STATIC_MISMATCH: Option<(usize, usize, usize)>;
    /// Checks run-time sizes.
    fn same_shape(&self, rhs: &Rhs) -> Result<()>;
}

macro_rules! same_shape {
    ($($A:ident $B:ident $i:tt),*) => {
        impl<$($A: Dim + DimUnify<$B>, $B: Dim),*> SameShape<($($B,)*)> for ($($A,)*) {
            const STATIC_MISMATCH: Option<(usize, usize, usize)> =
                first_mismatch(&[$(<$A as DimUnify<$B>>::UNIFY_MISMATCH,)*], 0);
            #[allow(unused_variables)]
            fn same_shape(&self, rhs: &($($B,)*)) -> Result<()> {
                if self.dims() == rhs.dims() {
                    Ok(())
                } else {
                    Err(Error::shape(
                        "shape check",
                        format!(
                            "shapes {:?} and {:?} differ",
                            self.dims().as_slice(),
                            rhs.dims().as_slice()
                        ),
                    ))
                }
            }
        }
    };
}

same_shape!();
same_shape!(A0 B0 0);
same_shape!(A0 B0 0, A1 B1 1);
same_shape!(A0 B0 0, A1 B1 1, A2 B2 2);
same_shape!(A0 B0 0, A1 B1 1, A2 B2 2, A3 B3 3);
same_shape!(A0 B0 0, A1 B1 1, A2 B2 2, A3 B3 3, A4 B4 4);
same_shape!(A0 B0 0, A1 B1 1, A2 B2 2, A3 B3 3, A4 B4 4, A5 B5 5);

/// `A` must have `B`'s shape: fails the build with `M`'s message, both sizes and the axis
/// (`PARTS[0]` a `PARTS[1]` b `PARTS[2]` axis).
pub(crate) struct SameShapeCheck<A, B, M>(PhantomData<(A, B, M)>);

impl<A: SameShape<B>, B: Shape, M: CheckMsg> SameShapeCheck<A, B, M> {
    /// The mismatch, without failing (see [`DimCheck::MISMATCH`]).
    pub(crate) const MISMATCH: ShapeMismatch = if let Some((a, b, axis)) = A::STATIC_MISMATCH {
        ShapeMismatch::new(
            M::HEAD,
            ConstMsg::new()
                .s(M::PARTS[0])
                .n(a)
                .s(M::PARTS[1])
                .n(b)
                .s(M::PARTS[2])
                .n(axis),
        )
    } else {
        ShapeMismatch::NONE
    };
    pub(crate) const OK: () = Self::MISMATCH.check();
}

/// A loss's target must have its prediction's sizes: fails the build naming the loss `M`, both
/// sizes and the axis (`PARTS[0]` prediction `PARTS[1]` target `PARTS[2]` axis).
pub(crate) struct LossTargetCheck<P, T, M>(PhantomData<(P, T, M)>);

impl<P: LossTarget<T>, T: Shape, M: CheckMsg> LossTargetCheck<P, T, M> {
    pub(crate) const OK: () = if let Some((a, b, axis)) = P::TARGET_MISMATCH {
        ConstMsg::new()
            .s(M::PARTS[0])
            .n(a)
            .s(M::PARTS[1])
            .n(b)
            .s(M::PARTS[2])
            .n(axis)
            .fail()
    };
}

check_msg! {
    /// `mse_loss` / `MSELoss`.
    MseLossShape: "mse_loss: the prediction has size ", " where the target has ", ", at dimension ";
    /// `l1_loss` / `L1Loss`.
    L1LossShape: "l1_loss: the prediction has size ", " where the target has ", ", at dimension ";
    /// `smooth_l1_loss` / `SmoothL1Loss`.
    SmoothL1LossShape: "smooth_l1_loss: the prediction has size ", " where the target has ", ", at dimension ";
    /// `huber_loss` / `HuberLoss`.
    HuberLossShape: "huber_loss: the prediction has size ", " where the target has ", ", at dimension ";
    /// `binary_cross_entropy` / `BCELoss`.
    BceLossShape: "binary_cross_entropy: the prediction has size ", " where the target has ", ", at dimension ";
    /// `binary_cross_entropy_with_logits` / `BCEWithLogitsLoss`.
    BceWithLogitsShape: "binary_cross_entropy_with_logits: the logits have size ", " where the target has ", ", at dimension ";
    /// `kl_div` / `KLDivLoss`.
    KlDivShape: "kl_div: the input has size ", " where the target has ", ", at dimension ";
    /// `cosine_embedding_loss` / `CosineEmbeddingLoss`: the two inputs.
    CosineEmbeddingInputs: "cosine_embedding_loss: input1 has size ", " where input2 has ", ", at dimension ";
    /// `cosine_embedding_loss` / `CosineEmbeddingLoss`: the target, one per pair of rows.
    CosineEmbeddingTarget: "cosine_embedding_loss: the inputs give ", " losses (their last axis reduced) where the target has ", ", at dimension ";
    /// `triplet_margin_loss` / `TripletMarginLoss`: the positive.
    TripletPositive: "triplet_margin_loss: the anchor has size ", " where the positive has ", ", at dimension ";
    /// `triplet_margin_loss` / `TripletMarginLoss`: the negative.
    TripletNegative: "triplet_margin_loss: the anchor has size ", " where the negative has ", ", at dimension ";
    /// `cross_entropy_probs` / `CrossEntropyLoss::forward_probs`.
    CrossEntropyProbsShape: "cross_entropy: the logits have size ", " where the target probabilities have ", ", at dimension ";
    /// `hinge_embedding_loss` / `HingeEmbeddingLoss`.
    HingeEmbeddingLossShape: "hinge_embedding_loss: the input has size ", " where the target has ", ", at dimension ";
    /// `soft_margin_loss` / `SoftMarginLoss`.
    SoftMarginLossShape: "soft_margin_loss: the input has size ", " where the target has ", ", at dimension ";
    /// `multilabel_soft_margin_loss` / `MultiLabelSoftMarginLoss`.
    MultiLabelSoftMarginLossShape: "multilabel_soft_margin_loss: the input has size ", " where the target has ", ", at dimension ";
    /// `multilabel_margin_loss` / `MultiLabelMarginLoss`.
    MultiLabelMarginLossShape: "multilabel_margin_loss: the input has size ", " where the target has ", ", at dimension ";
    /// `triplet_margin_with_distance_loss` / `TripletMarginWithDistanceLoss`: the positive.
    TripletDistancePositive: "triplet_margin_with_distance_loss: the anchor has size ", " where the positive has ", ", at dimension ";
    /// `triplet_margin_with_distance_loss` / `TripletMarginWithDistanceLoss`: the negative.
    TripletDistanceNegative: "triplet_margin_with_distance_loss: the anchor has size ", " where the negative has ", ", at dimension ";
    /// `margin_ranking_loss` / `MarginRankingLoss`: the two inputs.
    MarginRankingInputsShape: "margin_ranking_loss: input1 has size ", " where input2 has ", ", at dimension ";
    /// `margin_ranking_loss` / `MarginRankingLoss`: the inputs and the target.
    MarginRankingTargetShape: "margin_ranking_loss: input1 has size ", " where the target has ", ", at dimension ";
    /// `poisson_nll_loss` / `PoissonNLLLoss`.
    PoissonNllLossShape: "poisson_nll_loss: the input has size ", " where the target has ", ", at dimension ";
    /// `gaussian_nll_loss` / `GaussianNLLLoss`.
    GaussianNllLossShape: "gaussian_nll_loss: the input has size ", " where the target has ", ", at dimension ";
}

check_msg! {
    /// `Residual`'s `x + f(x)`.
    ResidualShape: "Residual: f(x) has size ", " where x has ", " (x + f(x) needs f(x) to keep x's shape), at dimension ";
    /// `realize`'s source and target shapes.
    RealizeShape: "realize: the tensor has size ", " where the target shape has ", ", at dimension ";
}

#[cfg(test)]
mod tests {
    use super::{ConstMsg, ShapeMismatch};

    fn message(m: ShapeMismatch) -> String {
        let e = std::panic::catch_unwind(|| m.check()).unwrap_err();
        e.downcast_ref::<String>().cloned().unwrap()
    }

    #[test]
    fn mismatch_messages_name_the_layer_path() {
        let linear = ShapeMismatch::new(
            ConstMsg::new().s("Linear<1350, 10>"),
            ConstMsg::new().s(" expects 1350, has ").n(2704),
        );
        assert_eq!(message(linear), "Linear<1350, 10> expects 1350, has 2704");
        assert_eq!(
            message(linear.at(7)),
            "layer 7 (Linear<1350, 10>) expects 1350, has 2704"
        );
        assert_eq!(
            message(linear.at(0).at(3).at_field("head")),
            "layer head.3.0 (Linear<1350, 10>) expects 1350, has 2704"
        );
        let headless = ShapeMismatch::new(ConstMsg::new(), ConstMsg::new().s("Residual: 4 vs 8"));
        assert_eq!(message(headless.at(2)), "layer 2: Residual: 4 vs 8");
        // The first mismatch along a model wins; no mismatch passes.
        let none = ShapeMismatch::NONE;
        assert!(none.at(1).is_none());
        none.check();
        assert_eq!(
            message(none.or(headless.at(1)).or(linear.at(2))),
            "layer 1: Residual: 4 vs 8"
        );
    }
}
