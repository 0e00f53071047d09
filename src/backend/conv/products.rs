//! The products of a convolution's backward pass over an unfolding `cols` (`k x width`, `k`
//! = input channels x kernel taps): the weight gradient `gy cols^T` (or its transpose), the
//! input gradient's `w^T gy` before folding, and the transposed weights it reads.

use crate::backend::gemm::gemm;
use crate::dtype::Float;

/// `gw (og x k) += gy cols^T`: a weight gradient's product, `gy` being `og x width` with rows
/// `ld` apart and `cols` the `k x width` unfolding.
pub(in crate::backend) fn add_gy_cols_t<E: Float>(
    (og, k, width): (usize, usize, usize),
    gy: &[E],
    ld: usize,
    cols: &[E],
    gw: &mut [E],
) {
    let (gy_strides, cols_strides) = ((ld as isize, 1), (1, width as isize));
    gemm(
        og,
        width,
        k,
        E::ONE,
        gy,
        gy_strides,
        cols,
        cols_strides,
        E::ONE,
        gw,
        (k as isize, 1),
    );
}

/// `tmp (k x og) += cols gy^T`: [`add_gy_cols_t`] transposed, for few output channels (the
/// product's rows are then the `k` unfolded rows, not the `og` channels), `cols` being `k x
/// width` with rows `ld_cols` apart and `gy` `og x width` with rows `ld_gy` apart.
pub(in crate::backend) fn add_cols_gy_t<E: Float>(
    (og, k, width): (usize, usize, usize),
    (cols, ld_cols): (&[E], usize),
    (gy, ld_gy): (&[E], usize),
    tmp: &mut [E],
) {
    let (cols_strides, gy_strides) = ((ld_cols as isize, 1), (1, ld_gy as isize));
    gemm(
        k,
        width,
        og,
        E::ONE,
        cols,
        cols_strides,
        gy,
        gy_strides,
        E::ONE,
        tmp,
        (og as isize, 1),
    );
}

/// `gw (og x k) += tmp^T`: what [`add_cols_gy_t`] summed, added into the weight gradient.
pub(in crate::backend) fn add_transposed<E: Float>(tmp: &[E], og: usize, k: usize, gw: &mut [E]) {
    for (r, t_row) in tmp.chunks_exact(og).enumerate() {
        for (o, &t) in t_row.iter().enumerate() {
            gw[o * k + r] += t;
        }
    }
}

/// `gcols (k x width) = wt gy + beta gcols`: an input gradient's product before folding, `wt`
/// being `w^T` (`k x og`) and `gy` `og x width` with rows `ld` apart.
pub(in crate::backend) fn wt_gy<E: Float>(
    (og, k, width): (usize, usize, usize),
    wt: &[E],
    gy: &[E],
    ld: usize,
    beta: E,
    gcols: &mut [E],
) {
    let (wt_strides, gy_strides) = ((og as isize, 1), (ld as isize, 1));
    gemm(
        k,
        og,
        width,
        E::ONE,
        wt,
        wt_strides,
        gy,
        gy_strides,
        beta,
        gcols,
        (width as isize, 1),
    );
}

/// Each group's `w_g^T` (`k x og`) row-major for the input gradient's product, when `wanted`:
/// read in place by rows, the kernel broadcasts along contiguous rows, not across one cache
/// line per step (144 x 32 x 143 on one AVX2 core, five alternating runs: 61 -> 67
/// GFLOP/s).
pub(super) fn transposed_weights<E: Float>(
    w: &[E],
    groups: usize,
    og: usize,
    k: usize,
    wanted: bool,
) -> Vec<E> {
    if wanted {
        crate::backend::layout::permute(w, &[groups, og, k], &[0, 2, 1])
    } else {
        Vec::new()
    }
}
