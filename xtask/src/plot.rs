//! SVG plots with plotters: panels of line-and-point series, with optional log axes.
//!
//! Log axes are drawn by plotting log10 of the values and labelling the ticks with the
//! original numbers. Every SVG gets a `<desc>` naming the command that produced it.

use anyhow::{Result, anyhow};
use plotters::prelude::*;
use std::path::Path;

/// One curve.
#[derive(Clone, Debug)]
pub(crate) struct Series {
    /// Legend entry.
    pub name: String,
    /// (x, y) points in data units; non-finite points (and non-positive ones on a log axis)
    /// are dropped.
    pub points: Vec<(f64, f64)>,
    /// Draw only the markers, no line.
    pub markers_only: bool,
}

impl Series {
    /// A line with markers.
    pub(crate) fn line(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self {
            name: name.into(),
            points,
            markers_only: false,
        }
    }
}

/// One chart.
#[derive(Clone, Debug, Default)]
pub(crate) struct Panel {
    /// Caption.
    pub title: String,
    /// x axis label.
    pub x_label: String,
    /// y axis label.
    pub y_label: String,
    /// Logarithmic x axis.
    pub log_x: bool,
    /// Logarithmic y axis.
    pub log_y: bool,
    /// The curves.
    pub series: Vec<Series>,
    /// Vertical marker lines at these x (e.g. K = m0 + m1 on a spectrum).
    pub vlines: Vec<f64>,
    /// A fixed y range in data units (e.g. 0–1 for fractions); default: the data's.
    pub y_range: Option<(f64, f64)>,
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

fn draw_panel(area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>, p: &Panel) -> Result<()> {
    let pts: Vec<Vec<(f64, f64)>> = p
        .series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .filter_map(|&(x, y)| Some((tr(x, p.log_x)?, tr(y, p.log_y)?)))
                .collect()
        })
        .collect();
    let (x0, x1) = range(
        pts.iter()
            .flatten()
            .map(|q| q.0)
            .chain(p.vlines.iter().filter_map(|&v| tr(v, p.log_x))),
    );
    let (y0, y1) = match p.y_range {
        Some((lo, hi)) => match (tr(lo, p.log_y), tr(hi, p.log_y)) {
            (Some(a), Some(b)) => (a - 0.03 * (b - a), b + 0.03 * (b - a)),
            _ => range(pts.iter().flatten().map(|q| q.1)),
        },
        None => range(pts.iter().flatten().map(|q| q.1)),
    };
    let err = |e: &dyn std::fmt::Display| anyhow!("plotting `{}`: {e}", p.title);
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| err(&e))?;
    let (lx, ly) = (p.log_x, p.log_y);
    chart
        .configure_mesh()
        .x_desc(p.x_label.as_str())
        .y_desc(p.y_label.as_str())
        .x_label_formatter(&|v| label(*v, lx))
        .y_label_formatter(&|v| label(*v, ly))
        .x_labels(ticks(x0, x1, lx))
        .y_labels(ticks(y0, y1, ly))
        .draw()
        .map_err(|e| err(&e))?;
    for &v in &p.vlines {
        if let Some(x) = tr(v, p.log_x) {
            chart
                .draw_series(LineSeries::new(
                    [(x, y0), (x, y1)],
                    BLACK.mix(0.4).stroke_width(1),
                ))
                .map_err(|e| err(&e))?;
        }
    }
    for (i, (s, pts)) in p.series.iter().zip(&pts).enumerate() {
        let color = COLOURS[i % COLOURS.len()].to_rgba();
        if !s.markers_only {
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

/// Draws `panels` in a grid of `cols` columns into an SVG at `path`, and inserts the
/// command that produced it as the SVG's `<desc>`.
///
/// # Errors
/// Drawing or writing failed.
pub(crate) fn write_svg(path: &Path, command: &str, panels: &[Panel], cols: usize) -> Result<()> {
    let cols = cols.clamp(1, panels.len().max(1));
    let rows = panels.len().div_ceil(cols).max(1);
    let size = (460 * cols as u32, 340 * rows as u32);
    {
        let root = SVGBackend::new(path, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
        let areas = root.split_evenly((rows, cols));
        for (area, panel) in areas.iter().zip(panels) {
            draw_panel(area, panel)?;
        }
        root.present()
            .map_err(|e| anyhow!("writing {}: {e}", path.display()))?;
    }
    let svg = std::fs::read_to_string(path)?;
    let desc = format!(
        "<desc>Produced by `{}` (nnid xtask)</desc>",
        command
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    );
    let svg = match svg
        .find("<svg")
        .and_then(|i| svg[i..].find('>').map(|j| i + j + 1))
    {
        Some(end) => format!("{}\n{desc}{}", &svg[..end], &svg[end..]),
        None => {
            return Err(anyhow!(
                "{}: plotters wrote no <svg> element",
                path.display()
            ));
        }
    };
    std::fs::write(path, svg)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_an_svg_with_the_command() {
        let dir = std::env::temp_dir().join(format!("xtask-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.svg");
        let panel = Panel {
            title: "t".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            log_y: true,
            series: vec![Series::line(
                "a",
                vec![(1.0, 1e-3), (2.0, 1e-6), (3.0, 0.0)],
            )],
            vlines: vec![2.0],
            ..Panel::default()
        };
        write_svg(
            &path,
            "cargo xtask reproduce --quick",
            &[panel.clone(), panel],
            2,
        )
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("<svg"));
        assert!(text.contains("<desc>Produced by `cargo xtask reproduce --quick`"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

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
}
