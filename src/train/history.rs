//! What training produced, epoch by epoch, and its curves as CSV and SVG.

use super::plot::{Chart, render_svg};
use crate::error::{Error, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::Path;

/// The numbers of one epoch.
///
/// ```
/// use shaped::train::EpochRecord;
/// let r = EpochRecord { epoch: 1, train_loss: 0.5, ..Default::default() };
/// assert_eq!(r.val_loss, None);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EpochRecord {
    /// The epoch's number, from 1.
    pub epoch: usize,
    /// Mean training loss per sample (over the epoch, while the model changed).
    pub train_loss: f64,
    /// Fraction of training samples predicted correctly, when the step counted them.
    pub train_accuracy: Option<f64>,
    /// Mean validation loss per sample, after the epoch.
    pub val_loss: Option<f64>,
    /// Fraction of validation samples predicted correctly.
    pub val_accuracy: Option<f64>,
    /// The learning rate during the epoch.
    pub lr: f64,
    /// Training samples seen.
    pub samples: usize,
    /// Wall-clock seconds for the epoch, validation included.
    pub seconds: f64,
    /// Custom metrics: `train_<name>` / `val_<name>` from [`Step::with_metric`](super::Step::with_metric),
    /// and whatever epoch callbacks log.
    pub metrics: BTreeMap<String, f64>,
}

impl EpochRecord {
    /// The loss that early stopping and best-model selection watch: validation loss when
    /// there is validation data, training loss otherwise.
    ///
    /// ```
    /// use shaped::train::EpochRecord;
    /// let r = EpochRecord { train_loss: 0.5, val_loss: Some(0.7), ..Default::default() };
    /// assert_eq!(r.monitored_loss(), 0.7);
    /// ```
    pub fn monitored_loss(&self) -> f64 {
        self.val_loss.unwrap_or(self.train_loss)
    }
}

/// Why training ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StopReason {
    /// Every requested epoch ran.
    #[default]
    Completed,
    /// The monitored loss did not improve for `patience` epochs.
    EarlyStopping {
        /// The patience that ran out.
        patience: usize,
    },
    /// The training loss became NaN or infinite.
    NonFiniteLoss,
    /// An epoch callback asked to stop.
    Callback,
}

/// Everything a training run measured: one [`EpochRecord`] per epoch, the best epoch and
/// why it stopped. Saves itself as CSV (the numbers) and SVG (loss and accuracy curves).
///
/// ```
/// use shaped::train::{EpochRecord, History};
/// let mut h = History::default();
/// for (e, loss) in [0.9, 0.5, 0.6].into_iter().enumerate() {
///     h.push(EpochRecord { epoch: e + 1, train_loss: loss, ..Default::default() });
/// }
/// assert_eq!(h.train_losses(), vec![0.9, 0.5, 0.6]);
/// assert_eq!(h.best().unwrap().epoch, 2);
/// assert!(h.to_csv().starts_with("epoch,train_loss"));
/// assert!(h.to_svg().starts_with("<svg"));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// One record per epoch run, in order.
    pub epochs: Vec<EpochRecord>,
    /// Why training ended.
    pub stop: StopReason,
}

impl History {
    /// Appends an epoch's record (for hand-written loops that want the CSV and SVG too).
    pub fn push(&mut self, record: EpochRecord) {
        self.epochs.push(record);
    }
    /// The number of epochs recorded.
    pub fn len(&self) -> usize {
        self.epochs.len()
    }
    /// True when no epoch is recorded.
    pub fn is_empty(&self) -> bool {
        self.epochs.is_empty()
    }
    /// The last epoch's record.
    pub fn last(&self) -> Option<&EpochRecord> {
        self.epochs.last()
    }
    /// The epoch with the lowest [monitored loss](EpochRecord::monitored_loss) (the first
    /// of equals; NaN never wins).
    pub fn best(&self) -> Option<&EpochRecord> {
        self.epochs
            .iter()
            .filter(|r| !r.monitored_loss().is_nan())
            .fold(None, |best: Option<&EpochRecord>, r| match best {
                Some(b) if b.monitored_loss() <= r.monitored_loss() => Some(b),
                _ => Some(r),
            })
    }
    /// Training loss per epoch.
    pub fn train_losses(&self) -> Vec<f64> {
        self.epochs.iter().map(|r| r.train_loss).collect()
    }
    /// Validation loss per epoch (NaN where there was none).
    pub fn val_losses(&self) -> Vec<f64> {
        self.epochs
            .iter()
            .map(|r| r.val_loss.unwrap_or(f64::NAN))
            .collect()
    }
    /// Training accuracy per epoch (NaN where it was not counted).
    pub fn train_accuracies(&self) -> Vec<f64> {
        self.epochs
            .iter()
            .map(|r| r.train_accuracy.unwrap_or(f64::NAN))
            .collect()
    }
    /// Validation accuracy per epoch (NaN where there was none).
    pub fn val_accuracies(&self) -> Vec<f64> {
        self.epochs
            .iter()
            .map(|r| r.val_accuracy.unwrap_or(f64::NAN))
            .collect()
    }
    /// `(epoch, value)` of a custom metric, for the epochs that logged it.
    ///
    /// ```
    /// use shaped::train::{EpochRecord, History};
    /// let mut h = History::default();
    /// let mut r = EpochRecord { epoch: 1, ..Default::default() };
    /// r.metrics.insert("val_f1".into(), 0.8);
    /// h.push(r);
    /// assert_eq!(h.metric("val_f1"), vec![(1.0, 0.8)]);
    /// ```
    pub fn metric(&self, name: &str) -> Vec<(f64, f64)> {
        self.epochs
            .iter()
            .filter_map(|r| r.metrics.get(name).map(|&v| (r.epoch as f64, v)))
            .collect()
    }

    fn points(&self, f: impl Fn(&EpochRecord) -> Option<f64>) -> Vec<(f64, f64)> {
        self.epochs
            .iter()
            .filter_map(|r| f(r).map(|v| (r.epoch as f64, v)))
            .collect()
    }

    /// The standard charts: loss per epoch (training and validation), and accuracy per
    /// epoch when it was counted, each with the best epoch marked (and the last one, when
    /// training stopped early). Add series or charts before [`render_svg`] for custom
    /// metrics.
    ///
    /// ```
    /// use shaped::train::{EpochRecord, History, render_svg};
    /// let mut h = History::default();
    /// h.push(EpochRecord { epoch: 1, train_loss: 1.0, val_loss: Some(1.1), ..Default::default() });
    /// let mut charts = h.charts();
    /// assert_eq!(charts.len(), 1); // no accuracy was counted
    /// charts[0] = charts[0].clone().with_series("target", vec![(1.0, 0.5)]);
    /// assert_eq!(render_svg(&charts).matches("<polyline").count(), 3);
    /// ```
    pub fn charts(&self) -> Vec<Chart> {
        let mut loss = Chart::new("Loss", "epoch", "loss")
            .with_series("train", self.points(|r| Some(r.train_loss)));
        if self.epochs.iter().any(|r| r.val_loss.is_some()) {
            loss = loss.with_series("validation", self.points(|r| r.val_loss));
        }
        let mut charts = vec![loss];
        let train_acc = self.epochs.iter().any(|r| r.train_accuracy.is_some());
        let val_acc = self.epochs.iter().any(|r| r.val_accuracy.is_some());
        if train_acc || val_acc {
            let mut acc = Chart::new("Accuracy", "epoch", "accuracy");
            if train_acc {
                acc = acc.with_series("train", self.points(|r| r.train_accuracy));
            }
            if val_acc {
                acc = acc.with_series("validation", self.points(|r| r.val_accuracy));
            }
            charts.push(acc);
        }
        // Mark the best epoch and, when training stopped early, where it stopped.
        let mut marks = Vec::new();
        if let Some(best) = self.best() {
            marks.push((best.epoch as f64, format!("best (epoch {})", best.epoch)));
        }
        if let (StopReason::EarlyStopping { patience }, Some(last)) = (self.stop, self.last()) {
            marks.push((
                last.epoch as f64,
                format!("early stop (patience {patience})"),
            ));
        }
        for chart in &mut charts {
            for (x, label) in &marks {
                *chart = chart.clone().with_mark(*x, label.clone());
            }
        }
        charts
    }

    /// The loss and accuracy curves as an SVG document (see [`charts`](History::charts)).
    pub fn to_svg(&self) -> String {
        render_svg(&self.charts())
    }

    /// The numbers as CSV, one row per epoch: `epoch, train_loss, train_accuracy, val_loss,
    /// val_accuracy, lr, samples, seconds`, then every custom metric by name; missing
    /// values are empty.
    ///
    /// ```
    /// use shaped::train::{EpochRecord, History};
    /// let mut h = History::default();
    /// h.push(EpochRecord { epoch: 1, train_loss: 0.5, lr: 0.1, samples: 10, ..Default::default() });
    /// assert_eq!(
    ///     h.to_csv(),
    ///     "epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,samples,seconds\n1,0.5,,,,0.1,10,0\n"
    /// );
    /// ```
    pub fn to_csv(&self) -> String {
        let names: BTreeSet<&str> = self
            .epochs
            .iter()
            .flat_map(|r| r.metrics.keys().map(String::as_str))
            .collect();
        let mut s = String::from(
            "epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,samples,seconds",
        );
        for n in &names {
            s.push(',');
            s.push_str(&csv_field(n));
        }
        s.push('\n');
        let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        for r in &self.epochs {
            let _ = write!(
                s,
                "{},{},{},{},{},{},{},{}",
                r.epoch,
                r.train_loss,
                opt(r.train_accuracy),
                opt(r.val_loss),
                opt(r.val_accuracy),
                r.lr,
                r.samples,
                r.seconds
            );
            for n in &names {
                s.push(',');
                s.push_str(&opt(r.metrics.get(*n).copied()));
            }
            s.push('\n');
        }
        s
    }

    /// Writes [`to_csv`](History::to_csv) to `path`.
    pub fn save_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        write(path.as_ref(), &self.to_csv())
    }

    /// Writes [`to_svg`](History::to_svg) to `path`.
    pub fn save_svg(&self, path: impl AsRef<Path>) -> Result<()> {
        write(path.as_ref(), &self.to_svg())
    }

    /// Writes `history.csv` and `curves.svg` into `dir`, creating it if needed.
    ///
    /// ```
    /// use shaped::train::{EpochRecord, History};
    /// let mut h = History::default();
    /// h.push(EpochRecord { epoch: 1, train_loss: 0.5, ..Default::default() });
    /// let dir = std::env::temp_dir().join("shaped_doc_history_save");
    /// h.save(&dir).unwrap();
    /// assert!(dir.join("curves.svg").exists() && dir.join("history.csv").exists());
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: Some(dir.to_path_buf()),
            source,
        })?;
        self.save_csv(dir.join("history.csv"))?;
        self.save_svg(dir.join("curves.svg"))
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|source| Error::Io {
        path: Some(path.to_path_buf()),
        source,
    })
}
