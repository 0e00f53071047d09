//! Comparisons and `where` as plain functions on device buffers, beside [`super::kernels`].
//! Only `crate::gpu` calls these.

use super::GpuStorage;
use super::compare_shaders as src;
use super::dtype::Params;
use super::kernels::{MAX_RANK, broadcast_strides, same_device};
use super::pipelines::{Kernel, grid_1d, launch_as};
use crate::dtype::Float;
use crate::error::{Error, Result};

kernel!(K_COMPARE, src::COMPARE);
kernel!(K_WHERE, src::WHERE);

/// The comparison of [`compare`]; the codes of the COMPARE shader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CompareOp {
    Eq = 0,
    Ne = 1,
    Lt = 2,
    Le = 3,
    Gt = 4,
    Ge = 5,
}

fn padded(v: &[usize]) -> impl Iterator<Item = u32> + '_ {
    (0..MAX_RANK).map(move |k| v.get(k).map_or(0, |x| *x as u32))
}

fn check_rank(op: &str, rank: usize) -> Result<()> {
    if rank > MAX_RANK {
        return Err(Error::value(
            op,
            format!("the GPU kernels take tensors of rank up to {MAX_RANK}, not {rank}"),
        ));
    }
    Ok(())
}

/// 1 where `a op b` (broadcast to `out_dims`), else 0.
pub(crate) fn compare<E: Float>(
    op: CompareOp,
    a: &GpuStorage<E>,
    a_dims: &[usize],
    b: &GpuStorage<E>,
    b_dims: &[usize],
    out_dims: &[usize],
) -> Result<GpuStorage<E>> {
    check_rank("GPU comparison", out_dims.len())?;
    same_device("GPU comparison", a, b)?;
    let n: usize = out_dims.iter().product();
    let out = a.device.alloc_as::<E>(n);
    let p = Params::new()
        .u(n)
        .u(op as usize)
        .u(out_dims.len())
        .us(padded(out_dims))
        .us(padded(&broadcast_strides(a_dims, out_dims)))
        .us(padded(&broadcast_strides(b_dims, out_dims)));
    launch_as::<E>(
        &a.device,
        K_COMPARE,
        &p,
        &[&a.buf, &b.buf, &out.buf],
        grid_1d(n),
    );
    Ok(out)
}

/// 1 where `a op value`, else 0.
pub(crate) fn compare_scalar<E: Float>(
    op: CompareOp,
    a: &GpuStorage<E>,
    value: E,
) -> GpuStorage<E> {
    let n = a.len;
    let out = a.device.alloc_as::<E>(n);
    // One flat dimension with stride 1; the scalar sits at word 21 (after the b strides).
    let p = Params::new()
        .u(n)
        .u(op as usize + 8)
        .u(1)
        .us(padded(&[n]))
        .us(padded(&[1]))
        .us(padded(&[0]))
        .f(value);
    launch_as::<E>(
        &a.device,
        K_COMPARE,
        &p,
        &[&a.buf, &a.buf, &out.buf],
        grid_1d(n),
    );
    out
}

/// `a` where `cond` is nonzero, else `b`, all broadcast to `out_dims`.
pub(crate) fn where_<E: Float>(
    cond: (&GpuStorage<E>, &[usize]),
    a: (&GpuStorage<E>, &[usize]),
    b: (&GpuStorage<E>, &[usize]),
    out_dims: &[usize],
) -> Result<GpuStorage<E>> {
    check_rank("GPU where", out_dims.len())?;
    same_device("GPU where", cond.0, a.0)?;
    same_device("GPU where", cond.0, b.0)?;
    let n: usize = out_dims.iter().product();
    let out = a.0.device.alloc_as::<E>(n);
    let p = Params::new()
        .u(n)
        .u(out_dims.len())
        .us(padded(out_dims))
        .us(padded(&broadcast_strides(cond.1, out_dims)))
        .us(padded(&broadcast_strides(a.1, out_dims)))
        .us(padded(&broadcast_strides(b.1, out_dims)));
    launch_as::<E>(
        &a.0.device,
        K_WHERE,
        &p,
        &[&cond.0.buf, &a.0.buf, &b.0.buf, &out.buf],
        grid_1d(n),
    );
    Ok(out)
}
