//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

use cellpk::scenario::{self, Scenario};

/// Parses scenario text that the test knows to be valid.
pub fn scenario(text: &str) -> Scenario {
    scenario::parse(text, Path::new("test.toml"))
        .unwrap_or_else(|e| panic!("invalid test scenario: {e}"))
}

/// Every `*.toml` file in `dir` (relative to the crate root), sorted: the shipped
/// scenarios, validation cases or fixtures a test walks.
pub fn toml_files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

/// Fails, naming what was compared, unless |got - want| <= atol + rtol |want|.
pub fn assert_close(got: f64, want: f64, rtol: f64, atol: f64, what: &str) {
    let tol = atol + rtol * want.abs();
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got:e}, want {want:e} (difference {:e} > tolerance {tol:e} = {atol:e} + {rtol:e} x |want|)",
        (got - want).abs()
    );
}

/// A healthy 70 kg human given one dose by `route`, with extra TOML (dose keys and
/// `[parameters]` lines) spliced in.
pub fn human(route: &str, dose_extra: &str, simulation: &str, parameters: &str) -> Scenario {
    scenario(&format!(
        r#"
name = "test"
[subject]
species = "human"
disease = "healthy"
[cells]
source = "bone_marrow"
donor = "autologous"
[[dose]]
route = "{route}"
cells = 1e6
{dose_extra}
[simulation]
{simulation}
[parameters]
{parameters}
"#
    ))
}

/// Names of every choice of a preset table, for drawing random scenarios.
pub fn names<T: cellpk::presets::Choice>() -> Vec<&'static str> {
    T::ALL.iter().map(|c| c.name()).collect()
}

/// Routes that enter the circulation (any number may be combined in one scenario).
pub const VASCULAR: [&str; 3] = ["peripheral_vein", "hepatic_artery", "portal_vein"];

/// Routes that fill the depot (at most one per scenario).
pub const DEPOTS: [&str; 3] = ["intrasplenic", "intrahepatic", "intraperitoneal"];

/// Per-pass fractions that random scenarios override.
pub const FRACTIONS: [&str; 5] = [
    "lung.extraction",
    "liver.extraction",
    "spleen.extraction",
    "other.extraction",
    "portal.shunt_fraction",
];

/// The points of the reference sweep, `scenarios/sweeps/human_dose_interval_route.toml`
/// (3150 scenarios, the dose level varying fastest).
pub fn reference_sweep() -> Vec<Scenario> {
    let sweep = cellpk::sweep::load(Path::new("scenarios/sweeps/human_dose_interval_route.toml"))
        .unwrap_or_else(|e| panic!("the shipped sweep is valid: {e}"));
    (0..sweep.len())
        .map(|i| {
            sweep
                .scenario(i)
                .unwrap_or_else(|v| panic!("point {i} breaks {}: {}", v.key, v.problem))
        })
        .collect()
}

/// The `cellpk` binary, as a command to give arguments to.
pub fn cellpk() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("cellpk").expect("binary")
}

/// Asserts that a `cellpk` command succeeded, showing its exit code and stderr if not.
pub fn ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}
