//! Instances of generic functions compiled once, in this crate, for programs to link to.
//!
//! [`crate::backend::precompiled`] compiles element-type-only kernels once;
//! [`shared_instances!`] does the same for functions generic over more than the element type
//! (a tape, a kernel, a run-time shape such as `(usize,)`), without changing them:
//! rustc links a downstream crate to an upstream crate's instance of a generic function
//! marked `#[inline(never)]` when that crate has one, instead of compiling its own (in
//! release builds too; other generic functions are copied into every crate that uses them).
//! The macro makes this crate compile the listed instances, so that a program whose types
//! are among them (`f32` with or without a tape: the common case) only calls them. The
//! functions must be `#[inline(never)]`, or the listed instance is compiled and unused.
//! Listed are the op bodies, shape-independent, of what a training step runs (see
//! `benches/build_time`); each one listed costs this crate's build what it saves a user's.
//!
//! A module of its own, with no dependencies, so that every layer (tensor, ops, nn, optim)
//! can list its instances next to the function (tests/layering.rs).

/// Compiles the listed instances of `#[inline(never)]` generic functions in this crate, for
/// downstream crates to link to instead of compiling their own (see the module docs):
/// `shared_instances!(f::<f32, OwnedTape<f32>>, g::<f32>);`. The `static` is never read: its
/// value (the functions' addresses) is what makes rustc compile and export them.
macro_rules! shared_instances {
    ($($f:expr),* $(,)?) => {
        const _: () = {
            #[used]
            static INSTANCES: $crate::instances::Addresses =
                $crate::instances::Addresses(&[$($f as *const ()),*]);
        };
    };
}
pub(crate) use shared_instances;

/// Function addresses in a `static` of [`shared_instances!`].
pub(crate) struct Addresses(#[allow(dead_code)] pub(crate) &'static [*const ()]);
// SAFETY: the addresses are never dereferenced nor called (the static only has to exist).
unsafe impl Sync for Addresses {}
