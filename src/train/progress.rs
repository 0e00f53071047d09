//! The Trainer's progress bar: one line per epoch on a terminal, redrawn in place.
//!
//! Written here rather than taken from a crate (indicatif) because the Trainer needs one bar
//! of one line, and the crate and its dependencies cost every user's cold build seconds
//! (issue 15).

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::time::{Duration, Instant};

/// Redraws at most this often: drawing every batch of a fast model would cost more than the
/// batch.
const REDRAW_EVERY: Duration = Duration::from_millis(100);
/// Width of the `[=====>    ]` part.
const BAR_WIDTH: usize = 25;

/// A bar for one epoch: `epoch 3/10 [=====>     ] 12/50 loss 0.1234  900 samples/s`, or
/// with an unknown length `epoch 3/10 12 batches loss ...`. A hidden bar draws nothing.
pub(crate) struct Progress {
    shown: bool,
    prefix: String,
    len: Option<usize>,
    pos: Cell<usize>,
    message: RefCell<String>,
    last_draw: Cell<Option<Instant>>,
    /// Characters of the last line drawn, to blank the rest of a shorter redraw.
    drawn: Cell<usize>,
}

impl Progress {
    /// A bar that never draws.
    pub(crate) fn hidden() -> Self {
        Self::new(false, String::new(), None)
    }

    /// A bar drawn on stdout, labelled `epoch {prefix}`, over `len` batches when known.
    pub(crate) fn stdout(prefix: String, len: Option<usize>) -> Self {
        Self::new(true, prefix, len)
    }

    fn new(shown: bool, prefix: String, len: Option<usize>) -> Self {
        Progress {
            shown,
            prefix,
            len,
            pos: Cell::new(0),
            message: RefCell::new(String::new()),
            last_draw: Cell::new(None),
            drawn: Cell::new(0),
        }
    }

    pub(crate) fn is_hidden(&self) -> bool {
        !self.shown
    }

    /// One more batch done, with the running figures in `message`; redrawn when the last
    /// draw is old enough or this is the last batch.
    pub(crate) fn inc(&self, message: String) {
        if !self.shown {
            return;
        }
        let pos = self.pos.get() + 1;
        self.pos.set(pos);
        *self.message.borrow_mut() = message;
        let now = Instant::now();
        let due = self
            .last_draw
            .get()
            .is_none_or(|t| now.duration_since(t) >= REDRAW_EVERY);
        if due || Some(pos) == self.len {
            self.last_draw.set(Some(now));
            self.draw(&self.line());
        }
    }

    /// Replaces the bar by `epoch {prefix} {summary}` and ends the line.
    pub(crate) fn finish_with_message(&self, summary: &str) {
        if self.shown {
            self.draw(&format!("epoch {} {summary}", self.prefix));
            let _ = writeln!(std::io::stdout());
            self.drawn.set(0);
        }
    }

    /// Erases the bar (training stopped with an error).
    pub(crate) fn finish_and_clear(&self) {
        if self.shown && self.drawn.get() > 0 {
            self.draw("");
            let _ = write!(std::io::stdout(), "\r");
            let _ = std::io::stdout().flush();
            self.drawn.set(0);
        }
    }

    fn line(&self) -> String {
        let pos = self.pos.get();
        let message = self.message.borrow();
        match self.len {
            Some(len) => {
                let filled = (pos.min(len) * BAR_WIDTH).checked_div(len).unwrap_or(0);
                let mut bar = "=".repeat(filled);
                if filled < BAR_WIDTH {
                    bar.push('>');
                    bar.push_str(&" ".repeat(BAR_WIDTH - filled - 1));
                }
                format!("epoch {} [{bar}] {pos}/{len} {message}", self.prefix)
            }
            None => format!("epoch {} {pos} batches {message}", self.prefix),
        }
    }

    /// Overwrites the current line with `line`, blanking what a longer previous line left.
    fn draw(&self, line: &str) {
        let chars = line.chars().count();
        let pad = self.drawn.get().saturating_sub(chars);
        let mut out = std::io::stdout().lock();
        let _ = write!(out, "\r{line}{}", " ".repeat(pad));
        let _ = out.flush();
        self.drawn.set(chars);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_with_the_batches_done() {
        let bar = Progress::new(false, "1/2".into(), Some(4));
        bar.pos.set(2);
        *bar.message.borrow_mut() = "loss 0.5".into();
        assert_eq!(
            bar.line(),
            format!(
                "epoch 1/2 [{}>{}] 2/4 loss 0.5",
                "=".repeat(12),
                " ".repeat(12)
            )
        );
        bar.pos.set(4);
        assert!(
            bar.line()
                .starts_with(&format!("epoch 1/2 [{}] 4/4", "=".repeat(25)))
        );
        let open = Progress::new(false, "3/3".into(), None);
        open.pos.set(7);
        assert_eq!(open.line(), "epoch 3/3 7 batches ");
    }

    #[test]
    fn a_hidden_bar_counts_nothing() {
        let bar = Progress::hidden();
        bar.inc("x".into());
        assert!(bar.is_hidden());
        assert_eq!(bar.pos.get(), 0);
    }
}
