//! Train/eval mode: the flag each mode-dependent layer carries (Dropout, BatchNorm,
//! SyncBatchNorm, recurrent stacks with dropout, transformer layers), set for a whole model by
//! [`Params::train`](super::Params::train) / [`Params::eval`](super::Params::eval), and the
//! per-call training scope behind [`Module::forward_train`](super::Module::forward_train).
//!
//! A layer runs a call in training mode when its own flag is set (`model.train()`), unless the
//! call happens inside a mode scope: `forward_train` of a model that reaches the layer
//! through `forward` (a user struct that implements only `try_forward`) trains, and the
//! `Trainer`'s validation evaluates. The scope is thread-local, so one model shared by
//! threads in evaluation mode is untouched by another thread training.

use std::cell::Cell;

thread_local! {
    /// `Some(training)` inside [`with_mode`]: overrides every layer's flag on this thread.
    static MODE_SCOPE: Cell<Option<bool>> = const { Cell::new(None) };
}

/// The mode the current thread's [`with_mode`] call imposes, if any.
pub(crate) fn scope_mode() -> Option<bool> {
    MODE_SCOPE.with(Cell::get)
}

/// Runs `f` with every mode-dependent layer that `f` reaches through `&self` in training
/// (`true`) or evaluation (`false`) mode, whatever its flag says; the previous scope is
/// restored afterwards, also on a panic. The innermost call wins.
pub(crate) fn with_mode<R>(training: bool, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<bool>);
    impl Drop for Restore {
        fn drop(&mut self) {
            MODE_SCOPE.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(MODE_SCOPE.with(|c| c.replace(Some(training))));
    f()
}

/// [`with_mode`] in training mode: what the provided `Module::try_forward_train` does.
pub(crate) fn with_training<R>(f: impl FnOnce() -> R) -> R {
    with_mode(true, f)
}

/// A mode-dependent layer's own flag (`false`: evaluation, the state of a fresh layer).
/// Whether a call trains is [`active`](Self::active): the scope's mode if any, else the flag.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ModeFlag(bool);

impl ModeFlag {
    pub(crate) fn set(&mut self, training: bool) {
        self.0 = training;
    }
    pub(crate) fn get(self) -> bool {
        self.0
    }
    /// Whether this call runs in training mode.
    pub(crate) fn active(self) -> bool {
        scope_mode().unwrap_or(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_nests_and_restores() {
        assert_eq!(scope_mode(), None);
        with_training(|| {
            assert_eq!(scope_mode(), Some(true));
            with_mode(false, || assert_eq!(scope_mode(), Some(false)));
            assert_eq!(scope_mode(), Some(true));
        });
        assert_eq!(scope_mode(), None);
        let caught = std::panic::catch_unwind(|| with_training(|| panic!("inside")));
        assert!(caught.is_err());
        assert_eq!(scope_mode(), None);
    }

    #[test]
    fn scope_overrides_the_flag() {
        let mut flag = ModeFlag::default();
        assert!(!flag.active());
        assert!(with_training(|| flag.active()));
        flag.set(true);
        assert!(flag.active() && flag.get());
        assert!(!with_mode(false, || flag.active()));
    }
}
