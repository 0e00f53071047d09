//! Kernels compiled once, in this crate, for both element types.
//!
//! A generic function is compiled in the crate that instantiates it: every program using
//! shaped compiles its `f32` copy of each kernel it reaches again, inside the program's own
//! build, and again after every edit of its `main.rs` (issue 15: the W2 program's rebuild
//! was mostly such copies). [`precompiled!`] turns a kernel that is generic over the element
//! type alone into a thin generic function that calls the `f32` or `f64` instance through a
//! function pointer stored in a `static` of this crate. The statics make this crate compile
//! both instances; callers compile only the pointer load and the call.
//!
//! Only for whole kernels (a loop over a buffer): the call is indirect, and the kernel
//! cannot be inlined into its caller.
//!
//! [`crate::instances::shared_instances!`] does the same for functions generic over more
//! than the element type, for every layer (it is not a kernel).

/// `f32`'s value when `E` is `f32`, else `f64`'s: the function pointer of [`precompiled!`]
/// for `E`. `S`, `A` and `B` are one signature spelled with `E`, `f32` and `f64`.
#[inline(always)]
pub(crate) fn pick<E: crate::dtype::Float, S: Copy, A: Copy, B: Copy>(f32: &A, f64: &B) -> S {
    assert!(size_of::<S>() == size_of::<A>() && size_of::<S>() == size_of::<B>());
    if E::IS_F32 {
        // SAFETY: `E` is `f32`, so `S` (the signature with `E`) is the type `A` (with `f32`).
        unsafe { core::mem::transmute_copy(f32) }
    } else {
        // SAFETY: `Float` is sealed to `f32` and `f64`: `E` is `f64` and `S` is `B`.
        unsafe { core::mem::transmute_copy(f64) }
    }
}

/// `fn name<E>(args) -> ret = generic_impl;` defines `name` as a call of `generic_impl`'s
/// `f32` or `f64` instance, both compiled in this crate (see the module docs).
macro_rules! precompiled {
    ($(#[$m:meta])* $vis:vis fn $name:ident<E>($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? = $imp:ident;) => {
        $(#[$m])*
        #[inline]
        $vis fn $name<E: $crate::dtype::Float>($($arg: $ty),*) $(-> $ret)? {
            type Sig<E> = fn($($ty),*) $(-> $ret)?;
            static F32: Sig<f32> = $imp::<f32>;
            static F64: Sig<f64> = $imp::<f64>;
            let f: Sig<E> = $crate::backend::precompiled::pick::<E, Sig<E>, Sig<f32>, Sig<f64>>(&F32, &F64);
            f($($arg),*)
        }
    };
}
pub(crate) use precompiled;
