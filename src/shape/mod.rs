//! Shapes as types.
//!
//! A tensor's shape is a tuple of dimensions. Each dimension is either static
//! ([`Const<N>`], checked by the compiler), dynamic (`usize`, checked at run time), or
//! computed from others ([`Prod`], [`Sum`], convolution output sizes), whose size is an
//! associated constant checked when the code is built.
//!
//! The traits here ([`DimEq`], [`BroadcastShapes`], [`HasAxis`], [`MatMulShape`]) are the
//! rules ops use to decide their output shapes; a shape that breaks a rule is a compile error
//! naming the dimensions involved.

mod axis;
mod broadcast;
pub(crate) mod check;
mod chunk;
mod concat;
pub(crate) mod const_msg;
mod conv;
mod dim;
mod flatten;
mod group;
mod last;
mod matmul;
mod named;
mod pad;
mod permute;
mod scaled;
mod select;
#[allow(clippy::module_inception)]
mod shape;
mod squeeze;
mod target;

pub use axis::{HasAxis, KeepDimTwo, ReducedTwo};
pub(crate) use broadcast::broadcast_for;
pub use broadcast::{
    BroadcastDim, BroadcastShapes, DimBroadcast, DimEq, DimUnify, MAX_BROADCAST_ONE, NotOne,
};
pub use check::{SameShape, ShapeMismatch};
pub use chunk::{ChunkDim, Quot};
pub use concat::ConcatShape;
pub use conv::{ConvOut, ConvTransposeOut, PoolOut};
pub(crate) use conv::{conv_out as conv_out_size, conv_transpose_out as conv_transpose_out_size};
pub use dim::{Const, ConstDim, Dim, DimExpr, Prod, Sum};
pub use flatten::{Flatten, FlattenAll};
pub use group::PerGroup;
pub use last::LastDim;
pub use matmul::MatMulShape;
pub use named::{Batch, DimTag, Dyn, RenameDim, RenameShape, Seq, Src, Tgt};
pub use pad::{PadDim, PadLast, PadLast2, PadLast3, Padded};
pub use permute::{Axes2, Axes3, Axes4, Axes5, Axes6, PermuteShape, TransposeShape};
pub use scaled::Scaled;
pub use select::{ReplaceAxis, SameRank, SplitAxis};
pub use shape::{
    ConstShape, Dims, DynShape, MAX_RANK, Rank0, Rank1, Rank2, Rank3, Rank4, Rank5, Rank6,
    ScalarShape, Shape,
};
pub use squeeze::{InsertAxis, SqueezeShape, UnitDim};
pub(crate) use target::check_target_dims;
pub use target::{LossTarget, LossTargetDim};
