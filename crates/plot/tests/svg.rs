//! Writing real SVG files: every series style, log axes, categories, marker lines, errors.

use nnid_plot::{Panel, PlotError, Series, write_svg};
use std::path::PathBuf;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nnid-plot-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn writes_every_style_with_the_command() {
    let dir = scratch("styles");
    let path = dir.join("p.svg");
    let log = Panel {
        title: "log".into(),
        x_label: "x".into(),
        y_label: "y".into(),
        log_y: true,
        series: vec![
            Series::line("a", vec![(1.0, 1e-3), (2.0, 1e-6), (3.0, 0.0)]),
            Series::markers("b", vec![(1.5, 1e-4)]),
        ],
        vlines: vec![2.0],
        hlines: vec![1e-5],
        ..Panel::default()
    };
    let stages = [
        "hessians",
        "subspace",
        "rank1",
        "attribution",
        "fit",
        "refine",
        "certificate",
    ];
    let bars = Panel {
        title: "queries per stage".into(),
        y_label: "queries".into(),
        series: vec![Series::bars(
            "",
            stages
                .iter()
                .enumerate()
                .map(|(i, _)| (i as f64, 100.0 * i as f64))
                .collect(),
        )],
        categories: stages.iter().map(ToString::to_string).collect(),
        ..Panel::default()
    };
    write_svg(&path, "cargo xtask reproduce --quick", &[log, bars], 2).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("<svg"), "{}", &text[..80]);
    assert!(text.contains("<desc>Produced by `cargo xtask reproduce --quick`</desc>"));
    assert!(text.contains("<circle") && text.contains("<polyline") && text.contains("<rect"));
    for s in stages {
        assert!(text.contains(&format!("\n{s}\n</text>")), "no label {s}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_missing_directory_is_an_io_error_naming_the_file() {
    let dir = scratch("missing");
    let path = dir.join("no/such/dir/p.svg");
    let err = write_svg(&path, "c", &[Panel::default()], 1).unwrap_err();
    assert!(matches!(err, PlotError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("no/such/dir/p.svg"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
