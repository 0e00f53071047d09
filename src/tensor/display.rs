//! Printing tensors like PyTorch.
//!
//! `{}` follows `torch/_tensor_str.py` with PyTorch's default print options (precision 4,
//! threshold 1000, edgeitems 3, linewidth 80):
//!
//! * one formatter for the whole tensor, chosen from its nonzero finite values: integers
//!   only print as `1.`, otherwise 4 fixed decimals, and scientific notation (`1.0000e-05`)
//!   when the largest / smallest magnitude exceeds 1000, the largest exceeds `1e8`, or (for
//!   non-integers) the smallest is below `1e-4`;
//! * every element padded to the widest one, so columns line up;
//! * more than 1000 elements are summarized to the first and last 3 entries of every
//!   dimension, with `...` between them (the formatter then only looks at those entries);
//! * rows wrap at 80 columns and nested brackets are indented under the outer ones.
//!
//! Suffixes, as in PyTorch: `dtype=f64` for `f64` tensors (PyTorch shows non-default dtypes),
//! `size=(2, 0)` for empty tensors of rank other than 1, and `requires_grad=True` for a traced
//! tensor (one carrying an [`OwnedTape`](crate::autograd::OwnedTape)). PyTorch prints
//! `requires_grad=True` for a leaf that requires grad and `grad_fn=<MulBackward0>` for a
//! result; the tape here does not record op names, so every traced tensor uses the first.
//!
//! `{:?}` prints the same followed by `shape=[..]` and `dtype=..`. A precision, as in
//! `{:.2}`, replaces the 4 decimals (like `torch.set_printoptions(precision=2)`).

use super::Tensor;
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::shape::Shape;
use core::fmt;

/// PyTorch's default `precision`.
const PRECISION: usize = 4;
/// PyTorch's default `threshold`: more elements than this are summarized.
const THRESHOLD: usize = 1000;
/// PyTorch's default `edgeitems`: entries kept at each end of a summarized dimension.
const EDGE_ITEMS: usize = 3;
/// PyTorch's default `linewidth`.
const LINE_WIDTH: usize = 80;

/// How every element of one tensor is printed (PyTorch's `_Formatter`).
struct ElementFormat {
    int_mode: bool,
    sci_mode: bool,
    max_width: usize,
    precision: usize,
}

impl ElementFormat {
    /// Chooses the format from `values` (the summarized entries when summarizing).
    fn new(values: impl Iterator<Item = f64>, precision: usize) -> Self {
        let mut out = ElementFormat {
            int_mode: true,
            sci_mode: false,
            max_width: 1,
            precision,
        };
        let nonzero: Vec<f64> = values.filter(|v| v.is_finite() && *v != 0.0).collect();
        if nonzero.is_empty() {
            return out;
        }
        let (min, max) = nonzero.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(v.abs()), hi.max(v.abs()))
        });
        out.int_mode = nonzero.iter().all(|v| v.ceil() == *v);
        out.sci_mode = max / min > 1000.0 || max > 1.0e8 || (!out.int_mode && min < 1.0e-4);
        out.max_width = nonzero
            .iter()
            .map(|&v| {
                if out.sci_mode {
                    sci(v, precision).len()
                } else if out.int_mode {
                    format!("{v:.0}").len() + 1
                } else {
                    format!("{v:.precision$}").len()
                }
            })
            .fold(1, usize::max);
        out
    }

    /// One element, right-aligned to the common width.
    fn format(&self, v: f64) -> String {
        let s = if v.is_nan() {
            "nan".to_string()
        } else if self.sci_mode {
            sci(v, self.precision)
        } else if self.int_mode {
            if v.is_infinite() {
                format!("{v:.0}")
            } else {
                format!("{v:.0}.")
            }
        } else {
            format!("{v:.prec$}", prec = self.precision)
        };
        format!("{s:>w$}", w = self.max_width)
    }
}

/// Python's `'{:.Ne}'.format(v)`: the exponent has a sign and at least two digits.
fn sci(v: f64, precision: usize) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "nan".into()
        } else {
            format!("{v}")
        };
    }
    let s = format!("{v:.precision$e}");
    let (mantissa, exp) = s.split_once('e').expect("`{:e}` always writes an exponent");
    let exp: i32 = exp.parse().expect("`{:e}` writes an integer exponent");
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
}

/// The indices PyTorch shows along a dimension of size `n`.
fn shown(n: usize, summarize: bool) -> Vec<usize> {
    if summarize && n > 2 * EDGE_ITEMS {
        (0..EDGE_ITEMS).chain(n - EDGE_ITEMS..n).collect()
    } else {
        (0..n).collect()
    }
}

/// The values PyTorch's formatter looks at (`get_summarized_data`).
fn summarized_values<E: Float>(data: &[E], dims: &[usize], summarize: bool, out: &mut Vec<f64>) {
    match dims {
        [] => out.push(data[0].to_f64()),
        [n, rest @ ..] => {
            let stride: usize = rest.iter().product();
            for i in shown(*n, summarize) {
                summarized_values(&data[i * stride..(i + 1) * stride], rest, summarize, out);
            }
        }
    }
}

/// PyTorch's `_tensor_str_with_formatter`: nested brackets for `data` of shape `dims`.
fn tensor_str<E: Float>(
    data: &[E],
    dims: &[usize],
    indent: usize,
    summarize: bool,
    fmt: &ElementFormat,
) -> String {
    match dims {
        [] => fmt.format(data[0].to_f64()),
        [n] => {
            let element_len = fmt.max_width + 2;
            let per_line = (LINE_WIDTH.saturating_sub(indent) / element_len).max(1);
            let mut items: Vec<String> = Vec::new();
            let idx = shown(*n, summarize);
            for (k, &i) in idx.iter().enumerate() {
                if summarize && *n > 2 * EDGE_ITEMS && k == EDGE_ITEMS {
                    items.push(" ...".into());
                }
                items.push(fmt.format(data[i].to_f64()));
            }
            let lines: Vec<String> = items.chunks(per_line).map(|line| line.join(", ")).collect();
            format!(
                "[{}]",
                lines.join(&format!(",\n{}", " ".repeat(indent + 1)))
            )
        }
        [n, rest @ ..] => {
            let stride: usize = rest.iter().product();
            let mut slices: Vec<String> = Vec::new();
            let idx = shown(*n, summarize);
            for (k, &i) in idx.iter().enumerate() {
                if summarize && *n > 2 * EDGE_ITEMS && k == EDGE_ITEMS {
                    slices.push("...".into());
                }
                let sub = &data[i * stride..(i + 1) * stride];
                slices.push(tensor_str(sub, rest, indent + 1, summarize, fmt));
            }
            let sep = format!(",{}{}", "\n".repeat(dims.len() - 1), " ".repeat(indent + 1));
            format!("[{}]", slices.join(&sep))
        }
    }
}

/// PyTorch's `_add_suffixes`: `, suffix` on the last line, or on a new line past the width.
fn add_suffixes(
    f: &mut fmt::Formatter<'_>,
    body: &str,
    suffixes: &[String],
    indent: usize,
) -> fmt::Result {
    f.write_str(body)?;
    // PyTorch's own arithmetic (`len - rfind('\n') + 1`), kept so that wrapping matches.
    let mut last_line = match body.rfind('\n') {
        Some(i) => body.len() - i + 1,
        None => body.len() + 2,
    };
    for suffix in suffixes {
        if last_line + suffix.len() + 2 > LINE_WIDTH {
            write!(f, ",\n{}{suffix}", " ".repeat(indent))?;
            last_line = indent + suffix.len();
        } else {
            write!(f, ", {suffix}")?;
            last_line += suffix.len() + 2;
        }
    }
    f.write_str(")")
}

impl<S: Shape, E: Float, T: Tape<E>> Tensor<S, E, T> {
    /// `tensor(` and the nested values, without the closing parenthesis or suffixes.
    fn pytorch_body(&self, precision: usize) -> String {
        const PREFIX: &str = "tensor(";
        let dims = self.dims();
        let data = self.as_slice();
        if data.is_empty() {
            return format!("{PREFIX}[]");
        }
        let summarize = data.len() > THRESHOLD;
        let mut values = Vec::new();
        summarized_values(data, &dims, summarize, &mut values);
        let fmt = ElementFormat::new(values.into_iter(), precision);
        format!(
            "{PREFIX}{}",
            tensor_str(data, &dims, PREFIX.len(), summarize, &fmt)
        )
    }

    fn write_pytorch(&self, f: &mut fmt::Formatter<'_>, debug: bool) -> fmt::Result {
        let body = self.pytorch_body(f.precision().unwrap_or(PRECISION));
        let dims = self.dims();
        let mut suffixes = Vec::new();
        if debug {
            suffixes.push(format!("shape={:?}", dims.as_slice()));
            suffixes.push(format!("dtype={}", E::DTYPE));
        } else {
            if self.numel() == 0 && dims.rank() != 1 {
                let sizes: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
                suffixes.push(format!("size=({})", sizes.join(", ")));
            }
            if E::DTYPE != "f32" {
                suffixes.push(format!("dtype={}", E::DTYPE));
            }
        }
        if T::TRACING {
            suffixes.push("requires_grad=True".into());
        }
        add_suffixes(f, &body, &suffixes, "tensor(".len())
    }
}

/// Prints the values the way PyTorch's `print(tensor)` does.
///
/// ```
/// use shaped::prelude::*;
/// let t = Tensor::<Rank2<2, 2>>::from_array([[1.0, 2.5], [-3.0, 4.0]]);
/// assert_eq!(format!("{t}"), "tensor([[ 1.0000,  2.5000],\n        [-3.0000,  4.0000]])");
/// assert_eq!(format!("{}", Tensor::<Rank1<3>>::arange(0.0, 1.0)), "tensor([0., 1., 2.])");
/// assert_eq!(format!("{}", Tensor::<Rank0>::full(3.5)), "tensor(3.5000)");
/// assert_eq!(format!("{:.2}", Tensor::<Rank0>::full(3.5)), "tensor(3.50)");
/// let x = Tensor::<Rank1<2>>::from_array([1e-5, 1.0]).trace();
/// assert_eq!(format!("{x}"), "tensor([1.0000e-05, 1.0000e+00], requires_grad=True)");
/// ```
impl<S: Shape, E: Float, T: Tape<E>> fmt::Display for Tensor<S, E, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_pytorch(f, false)
    }
}

/// The [`Display`](fmt::Display) text followed by the shape and dtype.
///
/// ```
/// use shaped::prelude::*;
/// let t = Tensor::<Rank2<2, 2>>::ones();
/// assert_eq!(format!("{t:?}"), "tensor([[1., 1.],\n        [1., 1.]], shape=[2, 2], dtype=f32)");
/// ```
impl<S: Shape, E: Float, T: Tape<E>> fmt::Debug for Tensor<S, E, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_pytorch(f, true)
    }
}

#[cfg(test)]
mod tests {
    use crate::prelude::*;

    #[test]
    fn scalars() {
        assert_eq!(Tensor::<Rank0>::full(3.5).to_string(), "tensor(3.5000)");
        assert_eq!(Tensor::<Rank0>::full(3.0).to_string(), "tensor(3.)");
        assert_eq!(Tensor::<Rank0>::full(-0.25).to_string(), "tensor(-0.2500)");
        assert_eq!(Tensor::<Rank0>::full(0.0).to_string(), "tensor(0.)");
        assert_eq!(
            Tensor::<Rank0>::full(1e-5).to_string(),
            "tensor(1.0000e-05)"
        );
        assert_eq!(Tensor::<Rank0>::full(f32::NAN).to_string(), "tensor(nan)");
        assert_eq!(
            Tensor::<Rank0>::full(f32::NEG_INFINITY).to_string(),
            "tensor(-inf)"
        );
    }

    #[test]
    fn matrix_fixed_point() {
        // torch.tensor([[1., 2.], [3., 4.]]) / 1 with a non-integer entry.
        let t = Tensor::<Rank2<2, 2>>::from_array([[1.0, 2.0], [3.0, 4.5]]);
        assert_eq!(
            t.to_string(),
            "tensor([[1.0000, 2.0000],\n        [3.0000, 4.5000]])"
        );
    }

    #[test]
    fn integer_valued() {
        // torch.tensor([[1., 2.], [3., 4.]])
        let t = Tensor::<Rank2<2, 2>>::from_array([[1.0, 2.0], [3.0, 4.0]]);
        assert_eq!(t.to_string(), "tensor([[1., 2.],\n        [3., 4.]])");
        // torch.tensor([0., 10., -100.])
        let t = Tensor::<Rank1<3>>::from_array([0.0, 10.0, -100.0]);
        assert_eq!(t.to_string(), "tensor([   0.,   10., -100.])");
        assert_eq!(Tensor::<Rank1<2>>::zeros().to_string(), "tensor([0., 0.])");
    }

    #[test]
    fn negative_numbers_align() {
        // torch.tensor([[-1.5, 2.25], [3.0, -0.125]])
        let t = Tensor::<Rank2<2, 2>>::from_array([[-1.5, 2.25], [3.0, -0.125]]);
        assert_eq!(
            t.to_string(),
            "tensor([[-1.5000,  2.2500],\n        [ 3.0000, -0.1250]])"
        );
        // torch.tensor([-12.5, 0.5, 100.0])
        let t = Tensor::<Rank1<3>>::from_array([-12.5, 0.5, 100.0]);
        assert_eq!(t.to_string(), "tensor([-12.5000,   0.5000, 100.0000])");
    }

    #[test]
    fn rank3_int() {
        // torch.arange(24.).reshape(2, 3, 4)
        let t = Tensor::<Rank3<2, 3, 4>>::from_vec((0..24).map(|i| i as f32).collect()).unwrap();
        let expected = "\
tensor([[[ 0.,  1.,  2.,  3.],
         [ 4.,  5.,  6.,  7.],
         [ 8.,  9., 10., 11.]],

        [[12., 13., 14., 15.],
         [16., 17., 18., 19.],
         [20., 21., 22., 23.]]])";
        assert_eq!(t.to_string(), expected);
    }

    #[test]
    fn rank4_separators() {
        // torch.arange(16.).reshape(2, 2, 2, 2) / 2
        let t = Tensor::<Rank4<2, 2, 2, 2>>::from_vec((0..16).map(|i| i as f32 / 2.0).collect())
            .unwrap();
        let expected = "\
tensor([[[[0.0000, 0.5000],
          [1.0000, 1.5000]],

         [[2.0000, 2.5000],
          [3.0000, 3.5000]]],


        [[[4.0000, 4.5000],
          [5.0000, 5.5000]],

         [[6.0000, 6.5000],
          [7.0000, 7.5000]]]])";
        assert_eq!(t.to_string(), expected);
    }

    #[test]
    fn sci_mode() {
        // torch.tensor([1e-5, 1.0, 100.0]): smallest below 1e-4.
        let t = Tensor::<Rank1<3>>::from_array([1e-5, 1.0, 100.0]);
        assert_eq!(
            t.to_string(),
            "tensor([1.0000e-05, 1.0000e+00, 1.0000e+02])"
        );
        // torch.tensor([1e10, 1.5]): largest above 1e8.
        let t = Tensor::<Rank1<2>>::from_array([1e10, 1.5]);
        assert_eq!(t.to_string(), "tensor([1.0000e+10, 1.5000e+00])");
        // torch.tensor([-1e-5, 2.0]): the sign widens every column.
        let t = Tensor::<Rank1<2>>::from_array([-1e-5, 2.0]);
        assert_eq!(t.to_string(), "tensor([-1.0000e-05,  2.0000e+00])");
        // torch.tensor([1., 2000.]): integers whose ratio exceeds 1000.
        let t = Tensor::<Rank1<2>>::from_array([1.0, 2000.0]);
        assert_eq!(t.to_string(), "tensor([1.0000e+00, 2.0000e+03])");
        // torch.tensor([[0.001, 2.0], [0.0, 3.0]]): ratio 3000, zero printed in sci too.
        let t = Tensor::<Rank2<2, 2>>::from_array([[0.001, 2.0], [0.0, 3.0]]);
        assert_eq!(
            t.to_string(),
            "tensor([[1.0000e-03, 2.0000e+00],\n        [0.0000e+00, 3.0000e+00]])"
        );
    }

    #[test]
    fn non_finite() {
        // torch.tensor([1., float('nan'), float('inf')])
        let t = Tensor::<Rank1<3>>::from_array([1.0, f32::NAN, f32::INFINITY]);
        assert_eq!(t.to_string(), "tensor([1., nan, inf])");
        // torch.tensor([1.5, float('-inf')])
        let t = Tensor::<Rank1<2>>::from_array([1.5, f32::NEG_INFINITY]);
        assert_eq!(t.to_string(), "tensor([1.5000,   -inf])");
    }

    #[test]
    fn long_vector_wraps() {
        // torch.arange(20.) / 4: width 6, (80 - 7) // 8 = 9 per line.
        let t = Tensor::<Rank1<20>>::arange(0.0, 0.25);
        let expected = "\
tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000, 1.2500, 1.5000, 1.7500, 2.0000,
        2.2500, 2.5000, 2.7500, 3.0000, 3.2500, 3.5000, 3.7500, 4.0000, 4.2500,
        4.5000, 4.7500])";
        assert_eq!(t.to_string(), expected);
    }

    #[test]
    fn summarized_vector() {
        // torch.arange(10000.): the formatter sees 0, 1, 2, 9997, 9998, 9999 (ratio > 1000).
        let t = Tensor::<Rank1<10000>>::arange(0.0, 1.0);
        let expected = "\
tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 9.9970e+03, 9.9980e+03,
        9.9990e+03])";
        assert_eq!(t.to_string(), expected);
        // torch.arange(1001.) / 1000: the ratio 1.0 / 0.001f32 is just below 1000, so fixed point.
        let t = Tensor::<Rank1<1001>>::arange(0.0, 1.0).div_scalar(1000.0);
        assert_eq!(
            t.to_string(),
            "tensor([0.0000, 0.0010, 0.0020,  ..., 0.9980, 0.9990, 1.0000])"
        );
    }

    #[test]
    fn summarized_matrix() {
        // torch.ones(40, 30)
        let t = Tensor::<Rank2<40, 30>>::ones();
        let row = "[1., 1., 1.,  ..., 1., 1., 1.]";
        let expected = format!(
            "tensor([{row},\n        {row},\n        {row},\n        ...,\n        {row},\n        {row},\n        {row}])"
        );
        assert_eq!(t.to_string(), expected);
    }

    #[test]
    fn summarized_rank3() {
        // torch.arange(1008.).reshape(7, 2, 72) - 500: axes 0 and 2 are summarized, axis 1
        // (size 2) is not; the widest entry (-500.) sets every column's width.
        let data = (0..1008).map(|i| i as f32 - 500.0).collect();
        let t = Tensor::<Rank3<7, 2, 72>>::from_vec(data).unwrap();
        let expected = "\
tensor([[[-500., -499., -498.,  ..., -431., -430., -429.],
         [-428., -427., -426.,  ..., -359., -358., -357.]],

        [[-356., -355., -354.,  ..., -287., -286., -285.],
         [-284., -283., -282.,  ..., -215., -214., -213.]],

        [[-212., -211., -210.,  ..., -143., -142., -141.],
         [-140., -139., -138.,  ...,  -71.,  -70.,  -69.]],

        ...,

        [[  76.,   77.,   78.,  ...,  145.,  146.,  147.],
         [ 148.,  149.,  150.,  ...,  217.,  218.,  219.]],

        [[ 220.,  221.,  222.,  ...,  289.,  290.,  291.],
         [ 292.,  293.,  294.,  ...,  361.,  362.,  363.]],

        [[ 364.,  365.,  366.,  ...,  433.,  434.,  435.],
         [ 436.,  437.,  438.,  ...,  505.,  506.,  507.]]])";
        assert_eq!(t.to_string(), expected);
    }

    #[test]
    fn empty() {
        assert_eq!(Tensor::<Rank1<0>>::zeros().to_string(), "tensor([])");
        assert_eq!(
            Tensor::<Rank2<2, 0>>::zeros().to_string(),
            "tensor([], size=(2, 0))"
        );
    }

    #[test]
    fn dtype_and_trace_suffixes() {
        // torch.tensor([1., 2.], dtype=torch.float64): the non-default dtype is shown.
        let t = Tensor::<Rank1<2>, f64>::from_array([1.0, 2.0]);
        assert_eq!(t.to_string(), "tensor([1., 2.], dtype=f64)");
        // torch.tensor([1., 2.], requires_grad=True)
        let t = Tensor::<Rank1<2>>::from_array([1.0, 2.0]).trace();
        assert_eq!(t.to_string(), "tensor([1., 2.], requires_grad=True)");
        assert_eq!(t.sum().to_string(), "tensor(3., requires_grad=True)");
    }

    #[test]
    fn suffix_wraps_past_line_width() {
        // torch.arange(9.) / 4 with requires_grad=True: the suffix does not fit on the line.
        let t = Tensor::<Rank1<9>>::arange(0.0, 0.25).trace();
        let expected = "\
tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000, 1.2500, 1.5000, 1.7500, 2.0000],
       requires_grad=True)";
        assert_eq!(t.to_string(), expected);
    }

    #[test]
    fn debug_adds_shape_and_dtype() {
        let t = Tensor::<Rank2<2, 2>>::from_array([[1.0, 2.0], [3.0, 4.0]]);
        assert_eq!(
            format!("{t:?}"),
            "tensor([[1., 2.],\n        [3., 4.]], shape=[2, 2], dtype=f32)"
        );
        let t = Tensor::<Rank0, f64>::full(0.5).trace();
        assert_eq!(
            format!("{t:?}"),
            "tensor(0.5000, shape=[], dtype=f64, requires_grad=True)"
        );
    }

    #[test]
    fn precision_flag() {
        let t = Tensor::<Rank1<2>>::from_array([1.0 / 3.0, 2.0]);
        assert_eq!(format!("{t:.2}"), "tensor([0.33, 2.00])");
        assert_eq!(format!("{t:.6}"), "tensor([0.333333, 2.000000])");
    }

    #[test]
    fn dynamic_shapes() {
        let t = Tensor::<(usize, Const<2>)>::zeros_with_shape((2, Const)).into_dyn();
        assert_eq!(t.to_string(), "tensor([[0., 0.],\n        [0., 0.]])");
    }
}
