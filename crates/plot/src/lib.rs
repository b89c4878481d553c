//! Small SVG charts with [plotters](https://docs.rs/plotters), shared by the `nnid` program
//! (`nnid identify --plot DIR`) and `cargo xtask` (the plots of `docs/results/`): a grid of
//! [`Panel`]s, each with line, point or bar [`Series`], optional log axes, an optional
//! categorical x axis, and vertical or horizontal marker lines (a cut in a spectrum, an
//! acceptance threshold).
//!
//! Log axes are drawn by plotting log10 of the values and labelling the ticks with the
//! original numbers. Every SVG gets a `<desc>` naming the command that produced it.
//!
//! This crate depends on plotters only, so xtask can use it without linking the pipeline.
//!
//! # Example
//! ```
//! use nnid_plot::{Panel, Series, write_svg};
//!
//! let dir = std::env::temp_dir().join(format!("nnid-plot-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let spectrum = Panel {
//!     title: "singular values".into(),
//!     x_label: "k".into(),
//!     log_y: true,
//!     series: vec![Series::markers("s_k", vec![(1.0, 10.0), (2.0, 3.0), (3.0, 1e-9)])],
//!     vlines: vec![2.5],
//!     ..Panel::default()
//! };
//! write_svg(&dir.join("spectrum.svg"), "my-tool --plot", &[spectrum], 1)?;
//! let svg = std::fs::read_to_string(dir.join("spectrum.svg"))?;
//! assert!(svg.contains("<desc>Produced by `my-tool --plot`</desc>"));
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Why a plot could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlotError {
    /// plotters could not draw a panel.
    #[error("plotting `{title}`: {message}")]
    Draw {
        /// The panel's title.
        title: String,
        /// plotters' message.
        message: String,
    },
    /// The rendered text has no `<svg>` element (a plotters bug, not an input problem).
    #[error("{}: plotters wrote no <svg> element", path.display())]
    NoSvg {
        /// The file being written.
        path: PathBuf,
    },
    /// Creating a directory or writing a file failed.
    #[error("{action} {}", path.display())]
    Io {
        /// What failed: `writing`, `creating the directory`.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// How a series is drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Style {
    /// A line through the points, with markers.
    #[default]
    Line,
    /// Markers only.
    Markers,
    /// A bar from the axis (0, or the bottom on a log axis) to each point, 0.8 x units wide
    /// (shared side by side among the panel's bar series).
    Bars,
}

/// One curve.
#[derive(Clone, Debug, Default)]
pub struct Series {
    /// Legend entry (no legend when every series of the panel has an empty name).
    pub name: String,
    /// (x, y) points in data units; non-finite points (and non-positive ones on a log axis)
    /// are dropped.
    pub points: Vec<(f64, f64)>,
    /// How it is drawn.
    pub style: Style,
}

impl Series {
    /// A line with markers.
    pub fn line(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self::styled(name, points, Style::Line)
    }

    /// Markers only.
    pub fn markers(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self::styled(name, points, Style::Markers)
    }

    /// Bars.
    pub fn bars(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self::styled(name, points, Style::Bars)
    }

    fn styled(name: impl Into<String>, points: Vec<(f64, f64)>, style: Style) -> Self {
        Self {
            name: name.into(),
            points,
            style,
        }
    }
}

/// One chart.
#[derive(Clone, Debug, Default)]
pub struct Panel {
    /// Caption.
    pub title: String,
    /// x axis label.
    pub x_label: String,
    /// y axis label.
    pub y_label: String,
    /// Logarithmic x axis (ignored when `categories` is not empty).
    pub log_x: bool,
    /// Logarithmic y axis.
    pub log_y: bool,
    /// The curves.
    pub series: Vec<Series>,
    /// Vertical marker lines at these x (e.g. the cut K = m0 + m1 of a spectrum).
    pub vlines: Vec<f64>,
    /// Horizontal marker lines at these y (e.g. an acceptance threshold).
    pub hlines: Vec<f64>,
    /// A fixed y range in data units (e.g. 0–1 for fractions); default: the data's.
    pub y_range: Option<(f64, f64)>,
    /// When not empty, the x axis is categorical: x = i is labelled `categories[i]`.
    pub categories: Vec<String>,
}

/// Colours that stay readable on white (the "tab10" palette).
const COLOURS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// Width of one panel: wide enough for its category labels.
const PANEL_WIDTH: u32 = 460;
/// Height of one panel.
const PANEL_HEIGHT: u32 = 340;
/// Room per category label on a categorical x axis.
const CATEGORY_WIDTH: u32 = 90;
/// Total width of the bars at one x (shared among the bar series).
const BAR_WIDTH: f64 = 0.8;

/// Tick count: on a log axis one tick per decade when the range spans several, so the
/// labels fall on powers of ten.
fn ticks(lo: f64, hi: f64, log: bool) -> usize {
    let span = hi - lo;
    if log && span >= 2.0 {
        (span.floor() as usize + 1).min(12)
    } else {
        6
    }
}

fn tr(v: f64, log: bool) -> Option<f64> {
    if !v.is_finite() {
        None
    } else if log {
        (v > 0.0).then(|| v.log10())
    } else {
        Some(v)
    }
}

/// A tick label with two significant digits (`16`, `0.032`, `2.5e-3`, `1e-5`).
fn sig2(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let exp = x.abs().log10().floor();
    if (0.01..1000.0).contains(&x.abs()) {
        let digits = (1.0 - exp).max(0.0) as usize;
        let s = format!("{x:.digits$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else if ((x.abs() / 10f64.powf(exp)) - 1.0).abs() < 1e-6 {
        format!("{}1e{exp}", if x < 0.0 { "-" } else { "" })
    } else {
        format!("{x:.1e}")
    }
}

fn label(v: f64, log: bool) -> String {
    if log { sig2(10f64.powf(v)) } else { sig2(v) }
}

/// A tick label on a linear axis whose ticks are about `step` apart: plain decimals with
/// as many digits as the step needs (`6000`, `0.975`), so that neighbouring ticks never
/// read the same; scientific ([`sig2`]) for very large or very fine scales.
fn linear_label(v: f64, step: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if !(step.is_finite() && step > 0.0) || v.abs() >= 1e6 || step < 1e-4 {
        return sig2(v);
    }
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// The label of a tick at `v` (in plotted units) on an axis spanning `lo..hi`.
fn axis_label(v: f64, log: bool, lo: f64, hi: f64) -> String {
    if log {
        label(v, true)
    } else {
        linear_label(v, (hi - lo) / ticks(lo, hi, false) as f64)
    }
}

/// The label of category tick `v`: the name at an integer position, blank elsewhere.
fn category_label(categories: &[String], v: f64) -> String {
    let r = v.round();
    if (v - r).abs() < 1e-6 && r >= 0.0 {
        categories.get(r as usize).cloned().unwrap_or_default()
    } else {
        String::new()
    }
}

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { 0.05 * (hi - lo) } else { 0.5 };
    (lo - pad, hi + pad)
}

fn draw_panel(area: &DrawingArea<SVGBackend<'_>, Shift>, p: &Panel) -> Result<(), PlotError> {
    let categorical = !p.categories.is_empty();
    let log_x = p.log_x && !categorical;
    let pts: Vec<Vec<(f64, f64)>> = p
        .series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .filter_map(|&(x, y)| Some((tr(x, log_x)?, tr(y, p.log_y)?)))
                .collect()
        })
        .collect();
    let (x0, x1) = if categorical {
        (-0.5, p.categories.len() as f64 - 0.5)
    } else {
        range(
            pts.iter()
                .flatten()
                .map(|q| q.0)
                .chain(p.vlines.iter().filter_map(|&v| tr(v, log_x))),
        )
    };
    let has_bars = p.series.iter().any(|s| s.style == Style::Bars);
    let (y0, y1) = match p
        .y_range
        .and_then(|(lo, hi)| Some((tr(lo, p.log_y)?, tr(hi, p.log_y)?)))
    {
        Some((a, b)) => (a - 0.03 * (b - a), b + 0.03 * (b - a)),
        None => range(
            pts.iter()
                .flatten()
                .map(|q| q.1)
                .chain(p.hlines.iter().filter_map(|&v| tr(v, p.log_y)))
                .chain((has_bars && !p.log_y).then_some(0.0)),
        ),
    };
    let err = |e: &dyn std::fmt::Display| PlotError::Draw {
        title: p.title.clone(),
        message: e.to_string(),
    };
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| err(&e))?;
    let ly = p.log_y;
    let x_format = |v: &f64| {
        if categorical {
            category_label(&p.categories, *v)
        } else {
            axis_label(*v, log_x, x0, x1)
        }
    };
    let x_ticks = if categorical {
        p.categories.len().max(2)
    } else {
        ticks(x0, x1, log_x)
    };
    chart
        .configure_mesh()
        .x_desc(p.x_label.as_str())
        .y_desc(p.y_label.as_str())
        .x_label_formatter(&x_format)
        .y_label_formatter(&|v| axis_label(*v, ly, y0, y1))
        .x_labels(x_ticks)
        .y_labels(ticks(y0, y1, ly))
        .draw()
        .map_err(|e| err(&e))?;
    let marker = BLACK.mix(0.75).stroke_width(2);
    for x in p.vlines.iter().filter_map(|&v| tr(v, log_x)) {
        chart
            .draw_series(LineSeries::new([(x, y0), (x, y1)], marker))
            .map_err(|e| err(&e))?;
    }
    for y in p.hlines.iter().filter_map(|&v| tr(v, p.log_y)) {
        chart
            .draw_series(LineSeries::new([(x0, y), (x1, y)], marker))
            .map_err(|e| err(&e))?;
    }
    let bar_series = p.series.iter().filter(|s| s.style == Style::Bars).count();
    let bar_width = BAR_WIDTH / bar_series.max(1) as f64;
    let base = if p.log_y { y0 } else { 0.0_f64.clamp(y0, y1) };
    let mut bar_index = 0;
    for (i, (s, pts)) in p.series.iter().zip(&pts).enumerate() {
        let color = COLOURS[i % COLOURS.len()].to_rgba();
        let drawn = match s.style {
            Style::Bars => {
                let offset = -BAR_WIDTH / 2.0 + bar_width * (bar_index as f64 + 0.5);
                bar_index += 1;
                chart
                    .draw_series(pts.iter().map(|&(x, y)| {
                        let left = x + offset - bar_width / 2.0;
                        Rectangle::new(
                            [(left, base), (left + bar_width, y)],
                            color.mix(0.8).filled(),
                        )
                    }))
                    .map_err(|e| err(&e))?
            }
            Style::Line | Style::Markers => {
                if s.style == Style::Line {
                    chart
                        .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))
                        .map_err(|e| err(&e))?;
                }
                chart
                    .draw_series(PointSeries::of_element(
                        pts.iter().copied(),
                        3,
                        color.filled(),
                        &|c, size, style| EmptyElement::at(c) + Circle::new((0, 0), size, style),
                    ))
                    .map_err(|e| err(&e))?
            }
        };
        drawn
            .label(s.name.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 4), (x + 14, y + 4)], color.filled()));
    }
    if p.series.iter().any(|s| !s.name.is_empty()) {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(|e| err(&e))?;
    }
    Ok(())
}

/// `svg` with `<desc>Produced by `command`</desc>` right after the opening `<svg …>` tag.
fn with_desc(svg: &str, command: &str, path: &Path) -> Result<String, PlotError> {
    let desc = format!(
        "<desc>Produced by `{}`</desc>",
        command
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    );
    let end = svg
        .find("<svg")
        .and_then(|i| svg[i..].find('>').map(|j| i + j + 1))
        .ok_or_else(|| PlotError::NoSvg {
            path: path.to_path_buf(),
        })?;
    Ok(format!("{}\n{desc}{}", &svg[..end], &svg[end..]))
}

/// Creates `dir` and its parents when missing.
///
/// # Errors
/// [`PlotError::Io`] naming the directory.
pub fn create_dir(dir: &Path) -> Result<(), PlotError> {
    std::fs::create_dir_all(dir).map_err(|source| PlotError::Io {
        action: "creating the directory",
        path: dir.to_path_buf(),
        source,
    })
}

/// Draws `panels` in a grid of `cols` columns into an SVG at `path` (the directory must
/// exist), with the command that produced it as the SVG's `<desc>`.
///
/// # Errors
/// [`PlotError::Draw`] when plotters fails on a panel, [`PlotError::Io`] when the file
/// cannot be written.
pub fn write_svg(
    path: &Path,
    command: &str,
    panels: &[Panel],
    cols: usize,
) -> Result<(), PlotError> {
    let cols = cols.clamp(1, panels.len().max(1));
    let rows = panels.len().div_ceil(cols).max(1);
    let categories = panels.iter().map(|p| p.categories.len()).max().unwrap_or(0);
    let width = PANEL_WIDTH.max(80 + CATEGORY_WIDTH * categories as u32);
    let size = (width * cols as u32, PANEL_HEIGHT * rows as u32);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| PlotError::Draw {
            title: path.display().to_string(),
            message: e.to_string(),
        };
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let areas = root.split_evenly((rows, cols));
        for (area, panel) in areas.iter().zip(panels) {
            draw_panel(area, panel)?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    let svg = with_desc(&svg, command, path)?;
    std::fs::write(path, svg).map_err(|source| PlotError::Io {
        action: "writing",
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_labels_show_data_units() {
        assert_eq!(label(-5.0, true), "1e-5");
        assert_eq!(label(1.0, true), "10");
        assert_eq!(label(1.2, true), "16");
        assert_eq!(label(-2.6, true), "2.5e-3");
        assert_eq!(label(0.5, false), "0.5");
        assert_eq!(label(0.0316, false), "0.032");
        assert_eq!(label(0.0, false), "0");
        assert_eq!(tr(-1.0, true), None);
    }

    #[test]
    fn linear_labels_have_the_digits_their_step_needs() {
        assert_eq!(linear_label(6000.0, 1000.0), "6000");
        assert_eq!(linear_label(0.975, 0.005), "0.975");
        assert_eq!(linear_label(0.98, 0.005), "0.98");
        assert_eq!(linear_label(0.1, 0.07), "0.1");
        assert_eq!(linear_label(0.0, 1.0), "0");
        assert_eq!(linear_label(2e-6, 1e-6), "2.0e-6");
        assert_eq!(axis_label(1.0, true, 0.0, 3.0), "10");
    }

    #[test]
    fn categories_label_integer_ticks_only() {
        let cats = vec!["a".to_string(), "b".to_string()];
        assert_eq!(category_label(&cats, 1.0), "b");
        assert_eq!(category_label(&cats, 0.5), "");
        assert_eq!(category_label(&cats, 2.0), "");
        assert_eq!(category_label(&cats, -1.0), "");
    }

    #[test]
    fn the_description_goes_right_after_the_svg_tag() {
        let out = with_desc(
            "<svg width=\"1\">\n<rect/></svg>",
            "a <b> & c",
            Path::new("x"),
        )
        .unwrap();
        assert!(
            out.starts_with("<svg width=\"1\">\n<desc>Produced by `a &lt;b&gt; &amp; c`</desc>")
        );
        assert!(matches!(
            with_desc("<g/>", "c", Path::new("x")),
            Err(PlotError::NoSvg { .. })
        ));
    }
}
