//! `cellpk compare` end to end, and sweep figures drawn after a sweep and by `cellpk plot`.

use std::fs;

use assert_cmd::Command;

fn cellpk() -> Command {
    Command::cargo_bin("cellpk").expect("binary")
}

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
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
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

#[test]
fn sweep_figures_are_drawn_and_redrawn_by_plot() {
    let out = tempfile::tempdir().expect("temp dir");
    let dir = tempfile::tempdir().expect("temp dir");
    let base = fs::read_to_string("scenarios/human_decompensated_portal_vein.toml")
        .expect("shipped scenario")
        .replace("duration_days = 180", "duration_days = 20");
    fs::write(dir.path().join("base.toml"), base).expect("write base");
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
    let file = dir.path().join("sweep.toml");
    fs::write(&file, sweep).expect("write sweep");
    let run = cellpk()
        .arg("sweep")
        .arg(&file)
        .arg("--out")
        .arg(out.path())
        .output()
        .expect("runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
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
    assert!(
        redraw.status.success(),
        "{}",
        String::from_utf8_lossy(&redraw.stderr)
    );
    for f in names {
        assert!(figs.join(f).exists(), "{f} redrawn");
    }
}
