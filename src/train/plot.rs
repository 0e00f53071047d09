//! Line charts as standalone SVG: enough to look at training curves without a plotting
//! library.

use std::fmt::Write;

/// One named line: `(x, y)` points in order. Non-finite points are left out when drawn.
///
/// ```
/// use shaped::train::Series;
/// let s = Series::new("train", vec![(1.0, 0.9), (2.0, 0.5)]);
/// assert_eq!(s.points.len(), 2);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The name shown in the legend.
    pub name: String,
    /// The points, in drawing order.
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// A series from its name and points.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            name: name.into(),
            points,
        }
    }
}

/// A labelled vertical line at `x`: the best epoch, an early stop.
///
/// ```
/// use shaped::train::Mark;
/// let m = Mark::new(7.0, "best (epoch 7)");
/// assert_eq!(m.x, 7.0);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    /// Where, in data units of the horizontal axis.
    pub x: f64,
    /// The text drawn beside it.
    pub label: String,
}

impl Mark {
    /// A mark from its position and label.
    pub fn new(x: f64, label: impl Into<String>) -> Self {
        Mark {
            x,
            label: label.into(),
        }
    }
}

/// A line chart: title, axis labels, and one polyline per [`Series`], with ticks, grid and
/// a legend. [`to_svg`](Chart::to_svg) draws it alone; [`render_svg`] draws several side by
/// side.
///
/// ```
/// use shaped::train::Chart;
/// let svg = Chart::new("Loss", "epoch", "loss")
///     .with_series("train", vec![(1.0, 0.9), (2.0, 0.4), (3.0, 0.2)])
///     .with_series("validation", vec![(1.0, 1.0), (2.0, 0.6), (3.0, 0.5)])
///     .to_svg();
/// assert!(svg.starts_with("<svg"));
/// assert_eq!(svg.matches("<polyline").count(), 2);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    /// Shown above the plot.
    pub title: String,
    /// Under the horizontal axis.
    pub x_label: String,
    /// Beside the vertical axis.
    pub y_label: String,
    /// The lines.
    pub series: Vec<Series>,
    /// Vertical marks (dashed lines with a label), drawn when inside the horizontal range.
    pub marks: Vec<Mark>,
}

impl Chart {
    /// An empty chart.
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Self {
        Chart {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            series: Vec::new(),
            marks: Vec::new(),
        }
    }
    /// Adds a line.
    pub fn with_series(mut self, name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        self.series.push(Series::new(name, points));
        self
    }
    /// Adds a labelled vertical mark at `x`.
    ///
    /// ```
    /// use shaped::train::Chart;
    /// let svg = Chart::new("Loss", "epoch", "loss")
    ///     .with_series("train", vec![(1.0, 0.9), (2.0, 0.4), (3.0, 0.5)])
    ///     .with_mark(2.0, "best")
    ///     .to_svg();
    /// assert_eq!(svg.matches(r#"class="mark""#).count(), 1);
    /// ```
    pub fn with_mark(mut self, x: f64, label: impl Into<String>) -> Self {
        self.marks.push(Mark::new(x, label));
        self
    }
    /// The chart as a standalone SVG document.
    pub fn to_svg(&self) -> String {
        render_svg(std::slice::from_ref(self))
    }
}

const PANEL_W: f64 = 520.0;
const PANEL_H: f64 = 340.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 52.0;
/// Colour-blind-safe (Okabe-Ito) colours, cycled over the series.
const COLOURS: [&str; 6] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9",
];
/// Beyond this many points per line, markers would hide the line.
const MAX_MARKERS: usize = 60;

/// Several charts side by side in one standalone SVG document (no XML prolog, so the text
/// starts with `<svg`): every series is one `<polyline>`.
///
/// ```
/// use shaped::train::{Chart, render_svg};
/// let loss = Chart::new("Loss", "epoch", "loss").with_series("train", vec![(1.0, 2.0), (2.0, 1.0)]);
/// let acc = Chart::new("Accuracy", "epoch", "accuracy").with_series("train", vec![(1.0, 0.5), (2.0, 0.8)]);
/// let svg = render_svg(&[loss, acc]);
/// assert!(svg.contains(r#"width="1040""#));
/// ```
pub fn render_svg(charts: &[Chart]) -> String {
    let n = charts.len().max(1);
    let (w, h) = (PANEL_W * n as f64, PANEL_H);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        s,
        r#"<rect x="0" y="0" width="{w}" height="{h}" fill="white"/>"#
    );
    for (i, chart) in charts.iter().enumerate() {
        panel(&mut s, chart, PANEL_W * i as f64);
    }
    s.push_str("</svg>\n");
    s
}

/// Evenly spaced "nice" tick values (steps of 1, 2 or 5 times a power of ten) covering
/// `[lo, hi]`, and the step.
fn ticks(lo: f64, hi: f64, integer: bool) -> (Vec<f64>, f64) {
    let raw = (hi - lo) / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    let mut step = nice * mag;
    if integer {
        step = step.max(1.0).round();
    }
    let first = (lo / step).floor() * step;
    let last = (hi / step).ceil() * step;
    let count = ((last - first) / step).round() as usize;
    ((0..=count).map(|k| first + k as f64 * step).collect(), step)
}

/// The data range, widened when empty or flat so that the axis still has a span.
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if lo > hi {
        return (0.0, 1.0);
    }
    if hi - lo <= 1e-12 * (lo.abs() + hi.abs()).max(1e-300) || hi == lo {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - pad, hi + pad);
    }
    (lo, hi)
}

fn label(v: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()) as usize
    };
    let text = format!("{v:.decimals$}");
    // "-0.0" reads as a bug on an axis.
    if text
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        text.trim_start_matches('-').to_string()
    } else {
        text
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn panel(s: &mut String, chart: &Chart, x0: f64) {
    let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
    let points = || {
        chart
            .series
            .iter()
            .flat_map(|se| se.points.iter().filter(finite))
    };
    let integer_x = points().all(|p| p.0.fract() == 0.0);
    let (xlo, xhi) = range(points().map(|p| p.0));
    let (ylo, yhi) = range(points().map(|p| p.1));
    // The x axis spans the data exactly (epochs start at 1, not 0); y extends to nice ticks.
    let (xt, xstep) = ticks(xlo, xhi, integer_x);
    let slack = 1e-9 * xstep;
    let xt: Vec<f64> = xt
        .into_iter()
        .filter(|&t| t >= xlo - slack && t <= xhi + slack)
        .collect();
    let (yt, ystep) = ticks(ylo, yhi, false);
    let (xmin, xmax) = (xlo, xhi);
    let (ymin, ymax) = (yt[0], *yt.last().expect("at least one tick"));
    let (left, right) = (x0 + LEFT, x0 + PANEL_W - RIGHT);
    let (top, bottom) = (TOP, PANEL_H - BOTTOM);
    let px = |x: f64| left + (x - xmin) / (xmax - xmin) * (right - left);
    let py = |y: f64| bottom - (y - ymin) / (ymax - ymin) * (bottom - top);

    let _ = writeln!(s, "<g>");
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="22" text-anchor="middle" font-size="15" font-weight="bold">{}</text>"#,
        (left + right) / 2.0,
        escape(&chart.title)
    );
    // Grid and ticks first, so that the lines are drawn over them.
    for &t in &xt {
        let x = px(t);
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{top:.1}" x2="{x:.1}" y2="{bottom:.1}" stroke="#e6e6e6"/>"##
        );
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{bottom:.1}" x2="{x:.1}" y2="{:.1}" stroke="#333"/>"##,
            bottom + 5.0
        );
        let _ = writeln!(
            s,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            bottom + 18.0,
            label(t, xstep)
        );
    }
    for &t in &yt {
        let y = py(t);
        let _ = writeln!(
            s,
            r##"<line x1="{left:.1}" y1="{y:.1}" x2="{right:.1}" y2="{y:.1}" stroke="#e6e6e6"/>"##
        );
        let _ = writeln!(
            s,
            r##"<line x1="{:.1}" y1="{y:.1}" x2="{left:.1}" y2="{y:.1}" stroke="#333"/>"##,
            left - 5.0
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 8.0,
            y + 4.0,
            label(t, ystep)
        );
    }
    let _ = writeln!(
        s,
        r##"<rect x="{left:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="#333"/>"##,
        right - left,
        bottom - top
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        (left + right) / 2.0,
        PANEL_H - 12.0,
        escape(&chart.x_label)
    );
    let (ly_x, ly_y) = (x0 + 16.0, (top + bottom) / 2.0);
    let _ = writeln!(
        s,
        r#"<text x="{ly_x:.1}" y="{ly_y:.1}" text-anchor="middle" transform="rotate(-90 {ly_x:.1} {ly_y:.1})">{}</text>"#,
        escape(&chart.y_label)
    );

    for (i, mark) in chart.marks.iter().enumerate() {
        if !(mark.x.is_finite() && mark.x >= xmin && mark.x <= xmax) {
            continue;
        }
        let x = px(mark.x);
        let label = escape(&mark.label);
        let _ = writeln!(
            s,
            r##"<line class="mark" x1="{x:.1}" y1="{top:.1}" x2="{x:.1}" y2="{bottom:.1}" stroke="#555" stroke-dasharray="5 4"><title>{label}</title></line>"##
        );
        // Right of the line, or left of it near the right edge; staggered downwards.
        let (tx, anchor) = if x > right - 90.0 {
            (x - 4.0, "end")
        } else {
            (x + 4.0, "start")
        };
        let _ = writeln!(
            s,
            r##"<text x="{tx:.1}" y="{:.1}" text-anchor="{anchor}" fill="#555" font-size="11">{label}</text>"##,
            top + 14.0 + 14.0 * i as f64
        );
    }

    let mut drawn = Vec::new();
    for (i, se) in chart.series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let pts: Vec<(f64, f64)> = se
            .points
            .iter()
            .filter(finite)
            .map(|&(x, y)| (px(x), py(y)))
            .collect();
        let mut coords = String::new();
        for (x, y) in &pts {
            let _ = write!(coords, "{x:.1},{y:.1} ");
        }
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2" stroke-linejoin="round" points="{}"><title>{}</title></polyline>"#,
            coords.trim_end(),
            escape(&se.name)
        );
        if pts.len() <= MAX_MARKERS {
            for (x, y) in &pts {
                let _ = writeln!(
                    s,
                    r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{colour}"/>"#
                );
            }
        }
        drawn.push(pts);
    }

    // Legend in a corner of the plot area, on a white box.
    if !chart.series.is_empty() {
        let longest = chart
            .series
            .iter()
            .map(|se| se.name.chars().count())
            .max()
            .unwrap_or(0) as f64;
        let (bw, bh) = (longest * 7.0 + 40.0, chart.series.len() as f64 * 18.0 + 8.0);
        let corners = [
            (right - bw - 8.0, top + 8.0),
            (right - bw - 8.0, bottom - bh - 8.0),
            (left + 8.0, top + 8.0),
            (left + 8.0, bottom - bh - 8.0),
        ];
        // The corner that hides the least of the lines (the first of equals).
        let hidden = |&(x, y): &(f64, f64)| {
            drawn
                .iter()
                .flat_map(|line| samples(line))
                .filter(|p| p.0 >= x && p.0 <= x + bw && p.1 >= y && p.1 <= y + bh)
                .count()
        };
        let (bx, by) = corners
            .iter()
            .copied()
            .min_by_key(|c| hidden(c))
            .expect("four corners");
        let _ = writeln!(
            s,
            r##"<rect x="{bx:.1}" y="{by:.1}" width="{bw:.1}" height="{bh:.1}" fill="white" fill-opacity="0.85" stroke="#999"/>"##
        );
        for (i, se) in chart.series.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            let y = by + 15.0 + i as f64 * 18.0;
            let _ = writeln!(
                s,
                r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{colour}" stroke-width="2"/>"#,
                bx + 6.0,
                y - 4.0,
                bx + 26.0,
                y - 4.0
            );
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{y:.1}">{}</text>"#,
                bx + 32.0,
                escape(&se.name)
            );
        }
    }
    if points().next().is_none() {
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#999">no data</text>"##,
            (left + right) / 2.0,
            (top + bottom) / 2.0
        );
    }
    let _ = writeln!(s, "</g>");
}

/// Points along a drawn line (its vertices and 16 between each pair), to measure what a
/// box would cover.
fn samples(line: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = line.to_vec();
    for w in line.windows(2) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        out.extend((1..16).map(|k| {
            let t = k as f64 / 16.0;
            (x0 + t * (x1 - x0), y0 + t * (y1 - y0))
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_nice_and_cover_the_range() {
        let (t, step) = ticks(0.013, 2.31, false);
        assert_eq!(step, 0.5);
        assert!(t[0] <= 0.013 && *t.last().unwrap() >= 2.31);
        let (t, step) = ticks(1.0, 3.0, true);
        assert_eq!((t, step), (vec![1.0, 2.0, 3.0], 1.0));
        assert_eq!(label(-0.0, 0.1), "0.0");
        assert_eq!(range([2.0, 2.0].into_iter()), (1.8, 2.2));
    }
}
