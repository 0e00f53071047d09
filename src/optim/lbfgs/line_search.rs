//! PyTorch's strong-Wolfe line search for [`Lbfgs`](super::Lbfgs) (`_strong_wolfe` and
//! `_cubic_interpolate` in `torch/optim/lbfgs.py`), step for step.

use crate::dtype::Float;
use crate::error::Result;
use crate::ops::optim::lbfgs::{abs_max, dot};

/// Python's `max(a, b)`: `a` unless `b > a` (so NaN behaves as in PyTorch's code).
fn py_max(a: f64, b: f64) -> f64 {
    if b > a { b } else { a }
}

/// Python's `min(a, b)`.
fn py_min(a: f64, b: f64) -> f64 {
    if b < a { b } else { a }
}

/// The minimiser of the cubic through `(x1, f1)`, `(x2, f2)` with slopes `g1`, `g2`,
/// clamped to `bounds` (default: between the points); the midpoint when the cubic has no
/// minimum.
fn cubic_interpolate(
    (x1, f1, g1): (f64, f64, f64),
    (x2, f2, g2): (f64, f64, f64),
    bounds: Option<(f64, f64)>,
) -> f64 {
    let (xmin_bound, xmax_bound) = bounds.unwrap_or(if x1 <= x2 { (x1, x2) } else { (x2, x1) });
    let d1 = g1 + g2 - 3.0 * (f1 - f2) / (x1 - x2);
    let d2_square = d1 * d1 - g1 * g2;
    if d2_square >= 0.0 {
        let d2 = d2_square.sqrt();
        let min_pos = if x1 <= x2 {
            x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2.0 * d2))
        } else {
            x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2.0 * d2))
        };
        py_min(py_max(min_pos, xmin_bound), xmax_bound)
    } else {
        (xmin_bound + xmax_bound) / 2.0
    }
}

/// One trial point of the line search: step, loss, gradient, directional derivative.
struct Point<E> {
    t: f64,
    f: f64,
    g: Vec<E>,
    gtd: f64,
}

/// PyTorch's `_strong_wolfe`: from step `t` along `d` (loss `f`, gradient `g`, directional
/// derivative `gtd` at the start), returns the loss, gradient and step it settles on, and
/// the number of evaluations.
#[allow(clippy::too_many_arguments)]
pub(super) fn strong_wolfe<E: Float>(
    obj: &mut impl FnMut(f64) -> Result<(f64, Vec<E>)>,
    mut t: f64,
    d: &[E],
    f: f64,
    g: &[E],
    gtd: f64,
    tolerance_change: f64,
    max_ls: i64,
) -> Result<(f64, Vec<E>, f64, usize)> {
    const C1: f64 = 1e-4;
    const C2: f64 = 0.9;
    let d_norm = abs_max(d);
    let (mut f_new, mut g_new) = obj(t)?;
    let mut evals = 1;
    let mut gtd_new = dot(&g_new, d);

    let mut prev = Point {
        t: 0.0,
        f,
        g: g.to_vec(),
        gtd,
    };
    let mut done = false;
    let mut ls_iter: i64 = 0;
    // The bracket: one point when the first phase already satisfied the conditions.
    let mut bracket: Vec<Point<E>> = Vec::new();
    while ls_iter < max_ls {
        let here = |f_new: f64, g_new: &Vec<E>, gtd_new: f64| Point {
            t,
            f: f_new,
            g: g_new.clone(),
            gtd: gtd_new,
        };
        if f_new > f + C1 * t * gtd || (ls_iter > 1 && f_new >= prev.f) {
            bracket = vec![prev, here(f_new, &g_new, gtd_new)];
            break;
        }
        if gtd_new.abs() <= -C2 * gtd {
            bracket = vec![here(f_new, &g_new, gtd_new)];
            done = true;
            break;
        }
        if gtd_new >= 0.0 {
            bracket = vec![prev, here(f_new, &g_new, gtd_new)];
            break;
        }
        // Extrapolate.
        let min_step = t + 0.01 * (t - prev.t);
        let max_step = t * 10.0;
        let tmp = t;
        t = cubic_interpolate(
            (prev.t, prev.f, prev.gtd),
            (t, f_new, gtd_new),
            Some((min_step, max_step)),
        );
        prev = Point {
            t: tmp,
            f: f_new,
            g: g_new,
            gtd: gtd_new,
        };
        (f_new, g_new) = obj(t)?;
        evals += 1;
        gtd_new = dot(&g_new, d);
        ls_iter += 1;
    }
    if bracket.is_empty() {
        // Out of evaluations: between the start and the last trial.
        bracket = vec![
            Point {
                t: 0.0,
                f,
                g: g.to_vec(),
                gtd: f64::NAN,
            },
            Point {
                t,
                f: f_new,
                g: g_new,
                gtd: f64::NAN,
            },
        ];
    }

    // Zoom: shrink the bracket until a point satisfies the conditions.
    let mut insuf_progress = false;
    let last = bracket.len() - 1;
    let (mut low, mut high) = if bracket[0].f <= bracket[last].f {
        (0, 1)
    } else {
        (1, 0)
    };
    while !done && ls_iter < max_ls {
        if (bracket[1].t - bracket[0].t).abs() * d_norm < tolerance_change {
            break;
        }
        let (b0, b1) = (&bracket[0], &bracket[1]);
        t = cubic_interpolate((b0.t, b0.f, b0.gtd), (b1.t, b1.f, b1.gtd), None);
        let (bmax, bmin) = (py_max(b0.t, b1.t), py_min(b0.t, b1.t));
        let eps = 0.1 * (bmax - bmin);
        if py_min(bmax - t, t - bmin) < eps {
            // Too close to an end: move away from it unless the last step progressed.
            if insuf_progress || t >= bmax || t <= bmin {
                t = if (t - bmax).abs() < (t - bmin).abs() {
                    bmax - eps
                } else {
                    bmin + eps
                };
                insuf_progress = false;
            } else {
                insuf_progress = true;
            }
        } else {
            insuf_progress = false;
        }

        let (f_new, g_new) = obj(t)?;
        evals += 1;
        let gtd_new = dot(&g_new, d);
        ls_iter += 1;

        if f_new > f + C1 * t * gtd || f_new >= bracket[low].f {
            // Not enough decrease, or not below the low end: the new point is the high end.
            bracket[high] = Point {
                t,
                f: f_new,
                g: g_new,
                gtd: gtd_new,
            };
            (low, high) = if bracket[0].f <= bracket[1].f {
                (0, 1)
            } else {
                (1, 0)
            };
        } else {
            if gtd_new.abs() <= -C2 * gtd {
                done = true;
            } else if gtd_new * (bracket[high].t - bracket[low].t) >= 0.0 {
                // The old low end becomes the high end.
                let old_low = &bracket[low];
                bracket[high] = Point {
                    t: old_low.t,
                    f: old_low.f,
                    g: old_low.g.clone(),
                    gtd: old_low.gtd,
                };
            }
            bracket[low] = Point {
                t,
                f: f_new,
                g: g_new,
                gtd: gtd_new,
            };
        }
    }
    let best = bracket.swap_remove(low);
    Ok((best.f, best.g, best.t, evals))
}
