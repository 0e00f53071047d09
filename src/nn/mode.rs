//! Train/eval mode: the flag each mode-dependent layer carries (Dropout, BatchNorm,
//! SyncBatchNorm, recurrent stacks with dropout, transformer layers), set for a whole model by
//! [`Params::train`](super::Params::train) / [`Params::eval`](super::Params::eval), and the
//! per-call training scope behind [`Module::forward_train`](super::Module::forward_train).
//!
//! A layer is in training mode for a call when its own flag is set (`model.train()`) or when
//! the call happens inside `forward_train` of any model that reaches it through `forward`
//! (a user struct that implements only `try_forward`). The scope is a thread-local flag, so
//! one model shared by threads in evaluation mode is untouched by another thread training.

use std::cell::Cell;

thread_local! {
    static TRAINING_SCOPE: Cell<bool> = const { Cell::new(false) };
}

/// Whether the current thread is inside a [`with_training`] call.
pub(crate) fn in_training_scope() -> bool {
    TRAINING_SCOPE.with(Cell::get)
}

/// Runs `f` with every mode-dependent layer that `f` reaches through `&self` in training mode,
/// whatever its flag says; the previous scope is restored afterwards, also on a panic.
pub(crate) fn with_training<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            TRAINING_SCOPE.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(TRAINING_SCOPE.with(|c| c.replace(true)));
    f()
}

/// A mode-dependent layer's own flag (`false`: evaluation, the state of a fresh layer).
/// Whether a call trains is [`active`](Self::active): the flag, or a training scope.
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
        self.0 || in_training_scope()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_nests_and_restores() {
        assert!(!in_training_scope());
        with_training(|| {
            assert!(in_training_scope());
            with_training(|| assert!(in_training_scope()));
            assert!(in_training_scope());
        });
        assert!(!in_training_scope());
        let caught = std::panic::catch_unwind(|| with_training(|| panic!("inside")));
        assert!(caught.is_err());
        assert!(!in_training_scope());
    }

    #[test]
    fn flag_or_scope() {
        let mut flag = ModeFlag::default();
        assert!(!flag.active());
        assert!(with_training(|| flag.active()));
        flag.set(true);
        assert!(flag.active() && flag.get());
    }
}
