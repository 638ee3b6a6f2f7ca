//! `cellpk compare` end to end, and sweep figures drawn after a sweep and by `cellpk plot`.

use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::common::cellpk;

const ROUTES: [&str; 3] = [
    "scenarios/human_decompensated_portal_vein.toml",
    "scenarios/human_decompensated_hepatic_artery.toml",
    "scenarios/human_decompensated_peripheral_vein.toml",
];

#[test]
fn compare_writes_overlay_bars_and_a_table() {
    let out = tempfile::tempdir().expect("temp dir");
    let run = cellpk()
        .arg("compare")
        .args(ROUTES)
        .args([
            "--metrics",
            "liver_auc,lung_peak",
            "--name",
            "routes",
            "--out",
        ])
        .arg(out.path())
        .output()
        .expect("runs");
    crate::common::ok(&run);
    let dir = out.path().join("routes");
    for f in ["overlay.png", "overlay.svg", "bars.png", "bars.svg"] {
        assert!(
            fs::metadata(dir.join(f)).map(|m| m.len()).unwrap_or(0) > 1000,
            "{f}"
        );
    }
    let table = fs::read_to_string(dir.join("metrics.csv")).expect("metrics.csv");
    assert_eq!(table.lines().count(), 1 + 3 * 2);
    // The table holds the same numbers as `cellpk run` on each scenario alone.
    let single = tempfile::tempdir().expect("temp dir");
    let ok = cellpk()
        .args(["run", ROUTES[0], "--out"])
        .arg(single.path())
        .output()
        .expect("runs");
    assert!(ok.status.success());
    let metrics = fs::read_to_string(
        single
            .path()
            .join("human_decompensated_portal_vein")
            .join("metrics.csv"),
    )
    .expect("run metrics");
    let value = |text: &str, prefix: &str| {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.split(',').rev().nth(1).map(str::to_string))
            .unwrap_or_else(|| panic!("{prefix}"))
    };
    assert_eq!(
        value(&table, "human_decompensated_portal_vein,liver_auc,"),
        value(&metrics, "all,,,liver_auc,")
    );
}

#[test]
fn compare_rejects_bad_arguments_and_writes_nothing() {
    let cases: [(&[&str], &str); 3] = [
        (&["--compartment", "livr"], "did you mean `liver`?"),
        (
            &["--metrics", "liver_auc,lung_pk"],
            "did you mean `lung_peak`?",
        ),
        (&[ROUTES[0]], "two scenarios are named"),
    ];
    for (args, expected) in cases {
        let out = tempfile::tempdir().expect("temp dir");
        let run = cellpk()
            .arg("compare")
            .args(&ROUTES[..2])
            .args(args)
            .arg("--out")
            .arg(out.path())
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert_eq!(fs::read_dir(out.path()).expect("list").count(), 0);
    }
    let mouse = cellpk()
        .args(["compare", ROUTES[0], "scenarios/mouse_tail_vein.toml"])
        .output()
        .expect("runs");
    assert_eq!(mouse.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&mouse.stderr).contains("same `duration_days`"));
}

/// Writes a small sweep of the portal-vein scenario, with a heatmap and a line plot, and
/// its base into `dir`; returns the sweep file.
fn sweep_with_figures(dir: &Path) -> PathBuf {
    let base = fs::read_to_string("scenarios/human_decompensated_portal_vein.toml")
        .expect("shipped scenario")
        .replace("duration_days = 180", "duration_days = 20");
    fs::write(dir.join("base.toml"), base).expect("write base");
    let sweep = r#"
name = "figs"
base = "base.toml"
[[axis]]
path = "dose.route"
values = ["portal_vein", "hepatic_artery"]
[[axis]]
path = "dose.interval_days"
values = [3, 7]
[[axis]]
path = "dose.cells_per_kg"
logspace = { from = 1e5, to = 1e7, steps = 3 }
[output]
metrics = ["liver_auc", "lung_peak"]
[[plot]]
kind = "heatmap"
metric = "liver_auc"
x = "dose.cells_per_kg"
y = "dose.interval_days"
facet = "dose.route"
log = true
[[plot]]
kind = "lines"
metric = "lung_peak"
x = "dose.cells_per_kg"
line = "dose.route"
where = { "dose.interval_days" = 7 }
"#;
    let file = dir.join("sweep.toml");
    fs::write(&file, sweep).expect("write sweep");
    file
}

#[test]
fn sweep_figures_are_drawn_and_redrawn_by_plot() {
    let out = tempfile::tempdir().expect("temp dir");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = sweep_with_figures(dir.path());
    let run = cellpk()
        .arg("sweep")
        .arg(&file)
        .arg("--out")
        .arg(out.path())
        .output()
        .expect("runs");
    crate::common::ok(&run);
    let figs = out.path().join("figs");
    let names = [
        "plot1_liver_auc.png",
        "plot1_liver_auc.svg",
        "plot2_lung_peak.png",
        "plot2_lung_peak.svg",
    ];
    for f in names {
        assert!(
            fs::metadata(figs.join(f)).map(|m| m.len()).unwrap_or(0) > 1000,
            "{f}"
        );
        fs::remove_file(figs.join(f)).expect("remove figure");
    }
    let redraw = cellpk()
        .arg("plot")
        .arg(&file)
        .arg("--out")
        .arg(out.path())
        .output()
        .expect("runs");
    crate::common::ok(&redraw);
    for f in names {
        assert!(figs.join(f).exists(), "{f} redrawn");
    }
}

/// Runs cellpk with `args` and `--out out`, failing the test with its stderr if it fails.
fn succeed(args: &[&str], out: &Path) {
    let run = cellpk()
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .expect("runs");
    assert!(
        run.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
}

/// Width, height and RGB pixels of a PNG, which must declare 300 dpi.
fn decode(png: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut reader = png::Decoder::new(png).read_info().expect("a PNG");
    let dpi = reader.info().pixel_dims.expect("a pHYs chunk");
    // 300 dpi is 11811 pixels per metre.
    assert_eq!(
        (dpi.xppu, dpi.yppu, dpi.unit),
        (11811, 11811, png::Unit::Meter)
    );
    let mut rgb = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut rgb).expect("a frame");
    assert_eq!(frame.color_type, png::ColorType::Rgb);
    (frame.width as usize, frame.height as usize, rgb)
}

/// Dark pixels (every channel below 100: text and axis lines, not grid or fills) in the
/// part of the picture spanning the fractions `x` and `y` of its width and height.
fn dark_pixels((w, h, rgb): &(usize, usize, Vec<u8>), x: Range<f64>, y: Range<f64>) -> usize {
    let span =
        |r: &Range<f64>, n: usize| (r.start * n as f64) as usize..(r.end * n as f64) as usize;
    span(&y, *h)
        .flat_map(|row| span(&x, *w).map(move |col| (row * w + col) * 3))
        .filter(|&i| rgb[i..i + 3].iter().all(|&c| c < 100))
        .count()
}

#[test]
fn every_figure_kind_rasterizes_at_print_size_with_its_text() {
    let out = tempfile::tempdir().expect("temp dir");
    let dir = tempfile::tempdir().expect("temp dir");
    let sweep = sweep_with_figures(dir.path());
    let metrics = "liver_auc,lung_peak";
    succeed(
        &["compare", ROUTES[0], ROUTES[1], "--metrics", metrics],
        out.path(),
    );
    succeed(&["sweep", sweep.to_str().expect("UTF-8 path")], out.path());
    let fit = [
        "fit",
        "validation/toma2009_rat_ia.toml",
        "--data",
        "validation/observations.csv",
        "--study",
        "toma2009_rat_ia",
        "--free",
        "lung.death_per_h",
    ];
    succeed(&fit, out.path());

    // Each kind: its files, size in pixels and texts its SVG must hold.
    let kinds: [(&str, [&str; 3]); 6] = [
        (
            "compare/overlay",
            [
                "Time (days)",
                "Dose",
                "liver cells by scenario (human_decompensated_\u{2026})",
            ],
        ),
        (
            "compare/bars",
            ["Liver AUC", "Lung peak", "Share of the highest value"],
        ),
        (
            "figs/plot1_liver_auc",
            [
                "Dose (cells/kg)",
                "Dosing interval (days)",
                "Liver AUC (cell-days)",
            ],
        ),
        (
            "figs/plot2_lung_peak",
            ["Dose (cells/kg)", "Lung peak (cells)", "portal_vein"],
        ),
        (
            "toma2009_rat_ia-fit/fit_timecourse",
            ["Time after the first administration (h)", "Model", "other"],
        ),
        (
            "toma2009_rat_ia-fit/fit_scatter",
            [
                "Identity (y = x)",
                "other",
                "Observed (% of injected dose or of first value)",
            ],
        ),
    ];
    for (stem, texts) in kinds {
        let svg = fs::read_to_string(out.path().join(format!("{stem}.svg"))).expect("svg");
        assert!(
            svg.starts_with(r#"<svg width="700" height="420" viewBox="0 0 2100 1260""#),
            "{stem}"
        );
        for text in texts {
            assert!(
                svg.contains(&format!(">\n{text}\n</text>")),
                "{stem}.svg lacks the text {text:?}"
            );
        }
        let png = decode(&fs::read(out.path().join(format!("{stem}.png"))).expect("png"));
        assert_eq!(
            (png.0, png.1),
            (2100, 1260),
            "{stem}.png is 7 x 4.2 in at 300 dpi"
        );
        // Text rasterized where the title, the x-axis title and the y-axis title go.
        for (part, x, y) in [
            ("title", 0.0..0.8, 0.0..0.07),
            ("x title", 0.0..0.8, 0.93..1.0),
            ("y title", 0.0..0.03, 0.2..0.8),
        ] {
            let dark = dark_pixels(&png, x, y);
            assert!(dark > 300, "{stem}.png: {dark} dark pixels in the {part}");
        }
    }
}

/// `--population`: the two uncertain scenarios of docs/uncertainty.md share their subjects,
/// and the portal vein gives every one of them more liver exposure (as that page reports
/// for 2000 subjects); each pair's probabilities add to one; scenarios that cannot share
/// subjects are refused.
#[test]
fn compare_with_a_population_gives_probabilities_on_shared_subjects() {
    const PAIR: [&str; 2] = [
        "scenarios/human_decompensated_uncertain_peripheral.toml",
        "scenarios/human_decompensated_uncertain_portal.toml",
    ];
    let out = tempfile::tempdir().expect("temp dir");
    let run = cellpk()
        .arg("compare")
        .args(PAIR)
        .args(["--metrics", "liver_auc,lung_peak", "--population", "200"])
        .args(["--name", "crn", "--out"])
        .arg(out.path())
        .output()
        .expect("runs");
    crate::common::ok(&run);
    let dir = out.path().join("crn");
    assert!(dir.join("best.png").is_file() && dir.join("best.svg").is_file());
    let table = fs::read_to_string(dir.join("probabilities.csv")).expect("written");
    let p = |metric: &str, a: &str, b: &str| -> f64 {
        table
            .lines()
            .map(|l| l.split(',').collect::<Vec<_>>())
            .find(|f| f[0] == metric && f[1].ends_with(a) && f[2].ends_with(b))
            .unwrap_or_else(|| panic!("{metric} {a} {b} in {table}"))[3]
            .parse()
            .expect("number")
    };
    assert_eq!(p("liver_auc", "portal", "peripheral"), 1.0);
    assert_eq!(p("liver_auc", "portal", "all"), 1.0);
    for m in ["liver_auc", "lung_peak"] {
        let sum = p(m, "portal", "peripheral") + p(m, "peripheral", "portal");
        assert!((sum - 1.0).abs() < 1e-12, "{m}: {sum}");
    }

    let other_seed = tempfile::tempdir().expect("temp dir");
    let text = fs::read_to_string(PAIR[1]).expect("shipped");
    let edited = other_seed.path().join("other_seed.toml");
    fs::write(&edited, text.replace("seed = 2026", "seed = 7")).expect("write");
    let without = other_seed.path().join("without.toml");
    let cut = text.find("\n[variability]").expect("shipped with one");
    fs::write(&without, &text[..cut]).expect("write");
    for second in [edited.display().to_string(), without.display().to_string()] {
        let refused = tempfile::tempdir().expect("temp dir");
        let run = cellpk()
            .arg("compare")
            .args([PAIR[0], second.as_str()])
            .args(["--population", "10", "--out"])
            .arg(refused.path())
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("--population"), "{stderr}");
        assert_eq!(fs::read_dir(refused.path()).expect("list").count(), 0);
    }
}
