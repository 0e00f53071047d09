//! Output sizes of convolutions and poolings as dimension types.
//!
//! Stable Rust cannot write `Const<{ (H + 2 * P - K) / S + 1 }>` for a generic `H`, so a layer's
//! output dimension is a type such as `ConvOut<H, K, S, P, DIL>` that stores the input dimension
//! `H` (zero-sized when `H` is static) and computes its size from it. When `H` is static the size
//! is also an associated constant ([`ConstDim::SIZE`]), so a later layer that needs a fixed size
//! (`Linear<800, 10>` after `Flatten`) is checked when the code is built.
//!
//! A kernel that does not fit its static input fails the build with a message naming the rule it
//! breaks; for a run-time (`usize`) input the same check is an `Err` from the layer.

use super::const_msg::ConstMsg;
use super::dim::{ConstDim, Dim, DimExpr};
use crate::error::{Error, Result};
use core::fmt;

/// `(d + 2p - dil*(k-1) - 1) / s + 1`, or `None` when the dilated kernel does not fit or the
/// input is empty (PyTorch refuses an empty spatial axis even when padding would give it
/// windows: there is nothing to take a maximum or a product of).
pub(crate) const fn conv_out(d: usize, k: usize, s: usize, p: usize, dil: usize) -> Option<usize> {
    if k == 0 || s == 0 || dil == 0 || d == 0 {
        return None;
    }
    // Checked: a run-time size near `usize::MAX` must give `None`, not wrap.
    let (Some(span), Some(padded)) = (dil.checked_mul(k - 1), d.checked_add(p.saturating_mul(2)))
    else {
        return None;
    };
    let span = span + 1;
    if p > usize::MAX / 2 || span > padded {
        None
    } else {
        Some((padded - span) / s + 1)
    }
}

/// `(d-1)*s - 2p + dil*(k-1) + op + 1`, or `None` when it is not positive or `op` is too large.
pub(crate) const fn conv_transpose_out(
    d: usize,
    k: usize,
    s: usize,
    p: usize,
    op: usize,
    dil: usize,
) -> Option<usize> {
    if k == 0 || s == 0 || dil == 0 || d == 0 || (op >= s && op >= dil) {
        return None;
    }
    // Checked: a run-time size near `usize::MAX` must give `None`, not wrap.
    let full = match (d - 1).checked_mul(s) {
        Some(x) => match dil.checked_mul(k - 1) {
            Some(y) => match x.checked_add(y) {
                Some(z) => z.checked_add(op),
                None => None,
            },
            None => None,
        },
        None => None,
    };
    let Some(full) = full else { return None };
    let twice_p = p.saturating_mul(2);
    if full < twice_p || full - twice_p == usize::MAX {
        None
    } else {
        Some(full - twice_p + 1)
    }
}

/// `(d + 2p - k) / s + 1`, or `None` when the window does not fit or `p > k/2` (PyTorch's rule:
/// a window that is all padding would have no maximum).
const fn pool_out(d: usize, k: usize, s: usize, p: usize) -> Option<usize> {
    if p > k / 2 {
        return None;
    }
    conv_out(d, k, s, p, 1)
}

const fn check_conv(what: &str, k: usize, s: usize, dil: usize) {
    if k == 0 {
        ConstMsg::new()
            .s(what)
            .s(": the kernel size must be at least 1")
            .fail();
    }
    if s == 0 {
        ConstMsg::new()
            .s(what)
            .s(": the stride must be at least 1")
            .fail();
    }
    if dil == 0 {
        ConstMsg::new()
            .s(what)
            .s(": the dilation must be at least 1")
            .fail();
    }
}

const fn static_conv(d: Option<usize>, k: usize, s: usize, p: usize, dil: usize) -> Option<usize> {
    check_conv("convolution", k, s, dil);
    match d {
        Some(d) => match conv_out(d, k, s, p, dil) {
            Some(o) => Some(o),
            None => ConstMsg::new()
                .s("convolution: kernel ")
                .n(k)
                .s(" with dilation ")
                .n(dil)
                .s(" spans ")
                .n(dil * (k - 1) + 1)
                .s(" elements, but the input of size ")
                .n(d)
                .s(" with padding ")
                .n(p)
                .s(" has only ")
                .n(d + 2 * p)
                .fail(),
        },
        None => None,
    }
}

const fn static_conv_transpose(
    d: Option<usize>,
    k: usize,
    s: usize,
    p: usize,
    op: usize,
    dil: usize,
) -> Option<usize> {
    check_conv("transposed convolution", k, s, dil);
    if op >= s && op >= dil {
        ConstMsg::new()
            .s("transposed convolution: output_padding ")
            .n(op)
            .s(" must be smaller than the stride ")
            .n(s)
            .s(" or the dilation ")
            .n(dil)
            .fail();
    }
    match d {
        Some(d) => match conv_transpose_out(d, k, s, p, op, dil) {
            Some(o) => Some(o),
            None => ConstMsg::new()
                .s("transposed convolution: input of size ")
                .n(d)
                .s(" with kernel ")
                .n(k)
                .s(", stride ")
                .n(s)
                .s(", padding ")
                .n(p)
                .s(", output_padding ")
                .n(op)
                .s(" and dilation ")
                .n(dil)
                .s(" gives no positive output size")
                .fail(),
        },
        None => None,
    }
}

const fn static_pool(d: Option<usize>, k: usize, s: usize, p: usize) -> Option<usize> {
    check_conv("pooling", k, s, 1);
    if p > k / 2 {
        ConstMsg::new()
            .s("pooling: padding ")
            .n(p)
            .s(" is more than half the kernel size ")
            .n(k)
            .fail();
    }
    match d {
        Some(d) => match pool_out(d, k, s, p) {
            Some(o) => Some(o),
            None => ConstMsg::new()
                .s("pooling: window ")
                .n(k)
                .s(" is larger than the input of size ")
                .n(d)
                .s(" with padding ")
                .n(p)
                .s(" (")
                .n(d + 2 * p)
                .s(")")
                .fail(),
        },
        None => None,
    }
}

/// Evaluates `T::STATIC_SIZE` when the caller is instantiated, so that a window that does not
/// fit a static input fails the build even if nothing else reads the size.
#[inline(always)]
fn force_static_size<T: Dim>() {
    const { T::STATIC_SIZE };
}

macro_rules! window_dim {
    (
        $(#[$m:meta])*
        $name:ident < $($c:ident),* >, $what:literal,
        static: $stat:expr,
        out: $out:expr,
        input: |$o:ident| $input:expr,
        explain: |$d:ident| $explain:expr,
        example: $example:literal
    ) => {
        $(#[$m])*
        #[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
        pub struct $name<D: Dim, $(const $c: usize),*>(D);

        impl<D: Dim, $(const $c: usize),*> $name<D, $($c),*> {
            /// The output dimension for input dimension `input`. A static input that does not
            /// fit fails the build; a run-time one is an `Err` naming the sizes.
            ///
            /// ```
            #[doc = $example]
            /// ```
            pub fn new(input: D) -> Result<Self> {
                force_static_size::<Self>();
                let $d = input.size();
                match $out {
                    Some(_) => Ok($name(input)),
                    None if $d == 0 => Err(Error::shape(
                        $what,
                        "the input is empty along this axis (size 0): there is no window to take",
                    )),
                    None => Err(Error::shape($what, $explain)),
                }
            }
            /// The input dimension this output was computed from.
            ///
            /// ```
            #[doc = $example]
            /// ```
            pub fn input(&self) -> D {
                self.0
            }
        }

        impl<D: Dim, $(const $c: usize),*> fmt::Debug for $name<D, $($c),*> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}<{:?}", stringify!($name), self.0)?;
                $(write!(f, ", {}", $c)?;)*
                write!(f, ">")
            }
        }

        impl<D: Dim, $(const $c: usize),*> Dim for $name<D, $($c),*> {
            const STATIC_SIZE: Option<usize> = {
                let $d = D::STATIC_SIZE;
                $stat
            };
            #[inline]
            fn size(&self) -> usize {
                let $d = self.0.size();
                match $out {
                    Some(o) => o,
                    None => 0,
                }
            }
            fn from_size(size: usize) -> Option<Self> {
                let input = match D::STATIC_SIZE {
                    Some(d) => D::from_size(d)?,
                    None => {
                        let $o = size;
                        D::from_size($input?)?
                    }
                };
                let $d = input.size();
                ($out == Some(size)).then_some($name(input))
            }
        }

        impl<D: ConstDim, $(const $c: usize),*> ConstDim for $name<D, $($c),*> {
            const SIZE: usize = match Self::STATIC_SIZE {
                Some(s) => s,
                None => unreachable!(),
            };
        }

        impl<D: Dim, $(const $c: usize),*> DimExpr for $name<D, $($c),*> {}
    };
}

window_dim! {
    /// The output size of a convolution along one axis (PyTorch's formula):
    /// `(D + 2*P - DIL*(K - 1) - 1) / S + 1` for input size `D`, kernel `K`, stride `S`,
    /// padding `P` and dilation `DIL`.
    ///
    /// It holds the input dimension: nothing for a static one, the run-time size for a
    /// `usize`. With a static input the size is a constant, and a kernel that does not fit
    /// fails the build.
    ///
    /// ```
    /// use shaped::shape::{Const, ConstDim, ConvOut, Dim};
    /// assert_eq!(<ConvOut<Const<28>, 3, 1, 0, 1> as ConstDim>::SIZE, 26);
    /// assert_eq!(<ConvOut<Const<8>, 3, 2, 1, 1> as ConstDim>::SIZE, 4);
    /// // A run-time input: checked when the dimension is built.
    /// assert_eq!(ConvOut::<usize, 3, 1, 0, 1>::new(10).unwrap().size(), 8);
    /// assert!(ConvOut::<usize, 3, 1, 0, 1>::new(2).is_err());
    /// ```
    ConvOut<K, S, P, DIL>, "convolution",
    static: static_conv(d, K, S, P, DIL),
    out: conv_out(d, K, S, P, DIL),
    input: |size| match size {
        0 => None,
        o => Some(((o - 1) * S + DIL * (K - 1) + 1).saturating_sub(2 * P)),
    },
    explain: |d| format!(
        "kernel {K} with dilation {DIL} spans {} elements, more than the input {d} plus padding 2*{P}",
        DIL * K.saturating_sub(1) + 1
    ),
    example: "use shaped::shape::{ConvOut, Dim};\nlet d = ConvOut::<usize, 3, 2, 1, 1>::new(8).unwrap();\nassert_eq!((d.input(), d.size()), (8, 4));"
}

window_dim! {
    /// The output size of a transposed convolution along one axis (PyTorch's formula):
    /// `(D - 1)*S - 2*P + DIL*(K - 1) + OP + 1` for input size `D`, kernel `K`, stride `S`,
    /// padding `P`, output padding `OP` and dilation `DIL`.
    ///
    /// ```
    /// use shaped::shape::{Const, ConstDim, ConvTransposeOut};
    /// assert_eq!(<ConvTransposeOut<Const<5>, 3, 2, 1, 0, 1> as ConstDim>::SIZE, 9);
    /// assert_eq!(<ConvTransposeOut<Const<5>, 3, 2, 1, 1, 1> as ConstDim>::SIZE, 10);
    /// ```
    ConvTransposeOut<K, S, P, OP, DIL>, "transposed convolution",
    static: static_conv_transpose(d, K, S, P, OP, DIL),
    out: conv_transpose_out(d, K, S, P, OP, DIL),
    input: |size| match (size + 2 * P).checked_sub(DIL * K.saturating_sub(1) + OP + 1) {
        Some(t) if S > 0 && t % S == 0 => Some(t / S + 1),
        _ => None,
    },
    explain: |d| format!(
        "input {d} with kernel {K}, stride {S}, padding {P}, output padding {OP} and dilation {DIL} \
         gives no positive output size (output padding must also be below stride or dilation)"
    ),
    example: "use shaped::shape::{ConvTransposeOut, Dim};\nlet d = ConvTransposeOut::<usize, 3, 2, 1, 0, 1>::new(5).unwrap();\nassert_eq!((d.input(), d.size()), (5, 9));"
}

window_dim! {
    /// The output size of a max or average pooling along one axis, PyTorch's floor mode:
    /// `(D + 2*P - K) / S + 1` for input size `D`, window `K`, stride `S` and padding `P`.
    /// The padding may be at most half the window, as in PyTorch.
    ///
    /// ```
    /// use shaped::shape::{Const, ConstDim, PoolOut};
    /// assert_eq!(<PoolOut<Const<26>, 2, 2, 0> as ConstDim>::SIZE, 13);
    /// assert_eq!(<PoolOut<Const<7>, 3, 2, 1> as ConstDim>::SIZE, 4);
    /// ```
    PoolOut<K, S, P>, "pooling",
    static: static_pool(d, K, S, P),
    out: pool_out(d, K, S, P),
    input: |size| match size {
        0 => None,
        o => Some(((o - 1) * S + K).saturating_sub(2 * P)),
    },
    explain: |d| format!(
        "window {K} with padding {P} does not fit input {d} (the window must be at most input + 2*padding, \
         and the padding at most half the window)"
    ),
    example: "use shaped::shape::{Dim, PoolOut};\nlet d = PoolOut::<usize, 2, 2, 0>::new(9).unwrap();\nassert_eq!((d.input(), d.size()), (9, 4));\nassert!(PoolOut::<usize, 2, 2, 0>::new(1).is_err());"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::Const;

    #[test]
    fn sizes_match_pytorch_formulas() {
        assert_eq!(<ConvOut<Const<9>, 3, 1, 2, 2> as ConstDim>::SIZE, 9);
        assert_eq!(<ConvOut<Const<8>, 5, 1, 2, 1> as ConstDim>::SIZE, 8);
        assert_eq!(
            <PoolOut<ConvOut<Const<28>, 3, 1, 0, 1>, 2, 2, 0> as ConstDim>::SIZE,
            13
        );
        assert_eq!(ConvOut::<usize, 3, 2, 1, 1>::new(8).unwrap().size(), 4);
        assert_eq!(
            ConvTransposeOut::<usize, 3, 2, 1, 0, 1>::new(5)
                .unwrap()
                .size(),
            9
        );
        assert!(ConvTransposeOut::<usize, 3, 1, 2, 0, 1>::new(1).is_err());
        assert!(ConvTransposeOut::<usize, 3, 2, 1, 0, 1>::new(0).is_err());
        assert!(PoolOut::<usize, 2, 2, 0>::new(1).is_err());
        assert!(ConvOut::<usize, 3, 1, 0, 2>::new(4).is_err());
        // An empty axis has no windows, padding or not (PyTorch refuses it too).
        assert!(PoolOut::<usize, 2, 2, 1>::new(0).is_err());
        assert!(ConvOut::<usize, 1, 1, 1, 1>::new(0).is_err());
    }

    #[test]
    fn from_size_round_trips() {
        for d in 1..20usize {
            if let Ok(c) = ConvOut::<usize, 3, 2, 1, 2>::new(d) {
                let back = ConvOut::<usize, 3, 2, 1, 2>::from_size(c.size()).unwrap();
                assert_eq!(back.size(), c.size());
            }
            if let Ok(c) = ConvTransposeOut::<usize, 3, 2, 1, 1, 1>::new(d) {
                let back = ConvTransposeOut::<usize, 3, 2, 1, 1, 1>::from_size(c.size()).unwrap();
                assert_eq!(back.input(), d);
            }
            if let Ok(c) = PoolOut::<usize, 3, 2, 1>::new(d) {
                assert_eq!(
                    PoolOut::<usize, 3, 2, 1>::from_size(c.size())
                        .unwrap()
                        .size(),
                    c.size()
                );
            }
        }
        assert!(<ConvOut<Const<28>, 3, 1, 0, 1> as Dim>::from_size(26).is_some());
        assert!(<ConvOut<Const<28>, 3, 1, 0, 1> as Dim>::from_size(25).is_none());
        assert!(<ConvOut<usize, 3, 1, 0, 1> as Dim>::from_size(0).is_none());
    }
}
