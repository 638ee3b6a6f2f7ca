//! The command line: argument definitions and the commands that read scenarios, run them
//! and write their outputs. Only this module, `output` and `plot` (and the sweep runner,
//! which streams its rows) touch files or the terminal.

mod atlas;
mod calibrate;
mod compare;
mod fit;
mod population;
mod sensitivity;
mod sweep;
mod validate;

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use crate::compartment::Compartment;
use crate::error::InputError;
use crate::observe;
use crate::output::{self, csv, resolved};
use crate::plot::{self, DoseMark, PlotInput, Series, YScale};
use crate::presets::Choice;
use crate::scenario::{self, Scenario};
use crate::simulation::{self, Outcome};

/// Where therapeutic cells go after they are injected.
#[derive(Debug, Parser)]
#[command(name = "cellpk", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The y axis of the time-course plot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scale {
    /// Logarithmic: counts spanning orders of magnitude all stay visible.
    Log,
    /// Linear from zero.
    Linear,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Simulate a scenario and write its time course, metrics and plots.
    #[command(
        long_about = "Simulate a scenario and write, to OUT/<name>/: timecourse.csv (every \
state on the output grid), metrics.csv (whole schedule and each dose), timecourse.png \
(300 dpi) and timecourse.svg, resolved.toml (the scenario with every parameter \
explicit, which reproduces the run), mechanisms.png and .svg when a mechanism with a \
state is on, and, when the scenario has `[observe]`, observed.csv with observed.png and \
.svg (what the method would show per organ, percent of the injected dose or activity). \
The directory appears only when complete.",
        after_help = "Examples:\n  cellpk run scenarios/human_decompensated_peripheral_vein.toml\n  \
cellpk run scenarios/mouse_tail_vein.toml --out results --y-scale linear"
    )]
    Run {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// Directory that receives the run's directory.
        #[arg(long, default_value = "output")]
        out: PathBuf,
        /// Y axis of the plot.
        #[arg(long, value_enum, default_value_t = Scale::Log)]
        y_scale: Scale,
    },
    /// Validate scenario and sweep files without running them.
    #[command(
        long_about = "Validate scenario and sweep files without running them: TOML syntax, known \
keys, valid choices, value ranges, overlapping doses and output size; a sweep file (one that \
names a `base`) with its base scenario and every axis value, as `cellpk sweep` checks it \
before any work. Prints `ok` per valid file (with a sweep's number of points); exits with \
code 2 if any file is invalid.",
        after_help = "Example:\n  cellpk check scenarios/*.toml scenarios/sweeps/*.toml"
    )]
    Check {
        /// Scenario or sweep files (TOML).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print every resolved parameter with value, unit and source.
    #[command(
        long_about = "Print every model parameter of a scenario as resolved from the species, \
cell, donor and disease presets and the scenario's overrides: value, unit and source \
(citation or assumption), with overrides marked.",
        after_help = "Example:\n  cellpk params scenarios/human_decompensated_portal_vein.toml"
    )]
    Params {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// Print a Markdown table (parameter, value, unit, source), as in
        /// docs/parameters.md.
        #[arg(long)]
        markdown: bool,
    },
    /// Run a parameter sweep in parallel and write one CSV row per grid point.
    #[command(
        long_about = "Run every point of a sweep file's grid (the Cartesian product of its \
axes over a base scenario) on all cores, streaming one row per point to \
OUT/<name>/sweep.csv in grid order (the same file for any thread count): the point index, \
its axis values, its metrics, and `error` for a point whose values break a scenario rule. \
With `[population] n = N` in the sweep file (and `[variability]` in the base), every point \
runs the same N virtual subjects and reports each metric's 5-95 % quantiles \
(`<metric>_p5` ... `<metric>_p95`) and the share of subjects reaching a target \
(`<metric>_reached`; docs/sweeps.md). Rows go to sweep.csv.partial until the last one is written, and sweep.identity beside it \
records the sweep they belong to (axes, base scenario, columns, model version); --resume \
continues an interrupted run, and refuses one whose sweep has changed since. --shard K/N runs one of N slices (for a SLURM array or a Kubernetes \
indexed job; join them with `cellpk merge`). --format parquet writes sweep.parquet instead: \
the same columns typed, in row groups of 16,384 points, resumable and mergeable as the CSV \
(finished row groups wait in sweep.parquet.partial/). Figures from the sweep's [[plot]] \
blocks are drawn when the whole grid is done.",
        after_help = "Examples:\n  cellpk sweep scenarios/sweeps/human_dose_interval_route.toml\n  \
cellpk sweep scenarios/sweeps/human_dose_interval_route.toml --threads 2 --resume\n  \
cellpk sweep scenarios/sweeps/human_dose_interval_route.toml --shard 3/10\n  \
cellpk sweep scenarios/sweeps/human_uncertain_dose_interval.toml   # 200 subjects a point\n  \
cellpk sweep scenarios/sweeps/human_dose_interval_route.toml --format parquet"
    )]
    Sweep {
        /// Sweep file (TOML).
        sweep: PathBuf,
        /// Worker threads (default: all cores; at most 1024).
        #[arg(long, value_parser = threads_arg)]
        threads: Option<usize>,
        /// Directory that receives the sweep's directory.
        #[arg(long, default_value = "output")]
        out: PathBuf,
        /// Continue an interrupted run from the rows already on disk.
        #[arg(long)]
        resume: bool,
        /// Run only slice K of N (1 <= K <= N) of the grid.
        #[arg(long, value_name = "K/N", value_parser = sweep::parse_shard)]
        shard: Option<crate::sweep::run::Shard>,
        /// File format: csv (sweep.csv) or parquet (sweep.parquet: typed columns).
        #[arg(long, value_enum, default_value = "csv")]
        format: crate::output::Format,
    },
    /// Estimate parameters of a scenario from observations (weighted least squares).
    #[command(
        long_about = "Estimate the named parameters of a scenario from a tidy observations \
file (validation/README.md) by weighted least squares (Levenberg-Marquardt, bounds kept by \
a logit or log transform), and write, to OUT/<name>-fit/: fit.md (estimates, standard \
errors, correlations, goodness of fit, observed against predicted), fitted.toml (the \
scenario with the estimates, every parameter explicit), predictions.csv, \
fit_timecourse.png/.svg (the fitted model against the data over time, per organ) and \
fit_scatter.png/.svg (observed against predicted on log-log axes with the identity line and \
the two-fold band; hollow markers at the start values, filled at the estimates). The rows \
must be of the scenario's species, route and `[observe]` method, within its simulated time.",
        after_help = "Examples:\n  cellpk fit validation/toma2009_rat_ia.toml --data \
validation/observations.csv --study toma2009_rat_ia --free lung.death_per_h\n  \
cellpk fit my_study.toml --data my_data.csv --free liver.extraction=0.1:0.99,lung.death_per_h"
    )]
    Fit {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// Observations (tidy CSV).
        #[arg(long)]
        data: PathBuf,
        /// Parameters to estimate, comma-separated, each optionally with bounds
        /// `name=low:high` (default: the range `check` accepts, see `cellpk params`).
        #[arg(long)]
        free: String,
        /// Use only the rows of this study.
        #[arg(long)]
        study: Option<String>,
        /// Directory that receives the fit's directory.
        #[arg(long, default_value = "output")]
        out: PathBuf,
    },
    /// Calibrate base parameter values shared by the validation cases (MAP estimate).
    #[command(
        long_about = "Estimate base parameter values (the presets every case's values are \
derived from, before disease, donor, cell-source and weight factors) shared by validation \
cases, at the maximum of the posterior: weighted least squares over every case's rows with \
a value or a range (each case weighing as one row), plus a log-normal prior per value whose \
95 % range is LOW:HIGH (for a fraction, on its per-pass hazard -ln(1 - E)). Writes \
OUT/calibration/: calibration.md (cases, weights, priors, estimates with standard errors \
and 95 % intervals, correlations, each case's fold error before and after), estimates.csv, \
cases.csv, calibrated.toml (the values in the format of src/presets/calibrated.toml, \
with their joint covariance on the fit's scale), \
calibration_scatter.png/.svg and, with --cross-validate, heldout.csv (each case predicted \
by a calibration fitted without it). The directory appears only when complete; bad input \
exits with code 2 and writes nothing.",
        after_help = "Examples:\n  cellpk calibrate --free liver.extraction=0.2:0.9,spleen.extraction=0.2:0.9\n  \
cellpk calibrate --free liver.extraction=0.2:0.9,spleen.extraction=0.2:0.9 --cross-validate\n  \
cellpk calibrate validation/lee2009_mouse_iv.toml validation/toma2009_rat_ia.toml \
--free rat:lung.extraction=0.5:0.99,lung.death_per_h"
    )]
    Calibrate {
        /// Case files (TOML; default: every `*.toml` with `[validation]` in `validation/`).
        cases: Vec<PathBuf>,
        /// Base values to estimate, comma-separated: `[SPECIES:]NAME[=LOW:HIGH]`, LOW:HIGH
        /// being the prior's 95 % range (default: 10-fold either side of the preset).
        #[arg(long)]
        free: String,
        /// Directory that receives `calibration/`.
        #[arg(long, default_value = "output")]
        out: PathBuf,
        /// Also refit without each case in turn and predict it (heldout.csv).
        #[arg(long)]
        cross_validate: bool,
    },
    /// Global sensitivity of metrics to parameters: Sobol indices or Morris effects.
    #[command(
        long_about = "Vary the named parameters of a scenario over the ranges given \
(uniformly for a fraction, log-uniformly for any other parameter) and measure how much of \
each metric's variation each one drives. `sobol`: first-order and total Sobol indices from \
Saltelli's design on a scrambled Sobol sequence (N (d + 2) runs for d parameters), with \
bootstrap 95 % intervals. `morris`: elementary effects over N trajectories (N (d + 1) \
runs): mu* ranks influence, sigma shows nonlinearity or interactions. Runs in parallel; the \
results depend on the seed alone, not on the threads. Writes \
OUT/<name>-sensitivity/: sensitivity.csv, samples.csv (every run's parameters and \
metrics) and a ranked bar figure per metric (PNG 300 dpi and SVG). The directory appears \
only when complete; bad input exits with code 2 and writes nothing.",
        after_help = "Examples:\n  cellpk sensitivity scenarios/human_decompensated_portal_vein.toml \
--params lung.extraction=0.2:0.9,liver.extraction=0.1:0.6,portal.shunt_fraction=0.2:0.7 \
--metrics liver_auc,lung_peak_fraction\n  cellpk sensitivity scenarios/mouse_tail_vein.toml \
--method morris --n 50 --params lung.death_per_h=0.01:0.1,liver.extraction=0.1:0.6"
    )]
    Sensitivity {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// The method.
        #[arg(long, value_enum, default_value_t = sensitivity::Method::Sobol)]
        method: sensitivity::Method,
        /// Parameters and their ranges, comma-separated: `NAME=LOW:HIGH`.
        #[arg(long)]
        params: String,
        /// Metrics, comma-separated (names of metrics.csv).
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "liver_auc,liver_engrafted_auc,lung_peak_fraction,spleen_auc"
        )]
        metrics: Vec<String>,
        /// Base samples (Sobol, up to 65536; a power of two keeps the sequence balanced)
        /// or trajectories (Morris).
        #[arg(long, default_value_t = 1024)]
        n: usize,
        /// Seed of the design and the bootstrap.
        #[arg(long, default_value_t = 1)]
        seed: u32,
        /// Worker threads (default: all cores; at most 1024).
        #[arg(long, value_parser = threads_arg)]
        threads: Option<usize>,
        /// Directory that receives `<name>-sensitivity/`.
        #[arg(long, default_value = "output")]
        out: PathBuf,
    },
    /// Run several scenarios and compare them: overlay, bar chart and table of metrics.
    #[command(
        long_about = "Run several scenarios (e.g. the same dose by five routes) and write, to \
OUT/<name>/: overlay.png/.svg (one compartment or total over time, one curve per \
scenario, doses marked), bars.png/.svg (chosen metrics, each relative to the highest \
scenario) and metrics.csv (scenario, metric, value, unit). The scenarios must share \
duration_days and output_every_hours.",
        after_help = "Example:\n  cellpk compare scenarios/human_decompensated_*.toml \
--compartment liver --metrics liver_auc,liver_reached_fraction,lung_peak --name routes"
    )]
    Compare {
        /// Scenario files (TOML), two or more.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
        /// Compartment or total to overlay: a state name, `blood` or `liver`.
        #[arg(long, default_value = "liver")]
        compartment: String,
        /// Metrics to compare, comma-separated.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "liver_auc,liver_engrafted_auc,liver_reached_fraction,lung_peak"
        )]
        metrics: Vec<String>,
        /// Name of the output directory.
        #[arg(long, default_value = "compare")]
        name: String,
        /// Directory that receives it.
        #[arg(long, default_value = "output")]
        out: PathBuf,
        /// Y axis of the overlay.
        #[arg(long, value_enum, default_value_t = Scale::Log)]
        y_scale: Scale,
        /// Also simulate N virtual subjects of every scenario (their `[variability]`,
        /// which must vary the same parameters with the same seed) and give, per metric,
        /// the probability that each scenario beats each other on the shared subjects.
        #[arg(long, value_parser = population::subjects_arg)]
        population: Option<usize>,
    },
    /// Run every scenario of a directory (e.g. one per clinical trial) side by side.
    #[command(
        long_about = "Run every scenario (*.toml) of a directory in parallel and write, to \
OUT/atlas/: atlas.csv (one row per scenario in file-name order: name, route, disease, \
cells_given, liver_auc, liver_peak, liver_reached_fraction, liver_engrafted_auc, \
lung_peak_fraction, days_liver_above_threshold, and the response reported for it in the \
directory's trials.csv, joined on its `trial` column; empty without one), \
liver_exposure.png/.svg (liver AUC per scenario, grouped by route, coloured by reported \
response) and dose_exposure.png/.svg (cells given against liver AUC, by route). Every \
scenario is checked before any runs: a directory without scenarios or with an invalid one \
exits with code 2, naming the file, and writes nothing. The directory appears only when \
complete, and a rerun writes the same bytes. With --population N, each scenario's \
`[variability]` gives N virtual subjects (its seed; the shipped trials share one, so \
their subjects are the same), and atlas.csv gains liver_auc_p5, liver_auc_p50 and \
liver_auc_p95, drawn as 5-95 % bands behind the dots.",
        after_help = "Examples:\n  cellpk atlas scenarios/trials --out results\n  \
cellpk atlas scenarios/trials --population 500"
    )]
    Atlas {
        /// Directory of scenario files, with an optional trials.csv.
        dir: PathBuf,
        /// Also simulate N virtual subjects of each scenario (its `[variability]`) and
        /// report the 5, 50 and 95 % quantiles of the liver AUC, drawn as bands.
        #[arg(long, value_parser = population::subjects_arg)]
        population: Option<usize>,
        /// Directory that receives `atlas/`.
        #[arg(long, default_value = "output")]
        out: PathBuf,
    },
    /// Simulate N virtual subjects of a scenario with `[variability]`.
    #[command(
        long_about = "Simulate N virtual subjects of a scenario, each with the parameters of \
its `[variability]` section drawn for it (seeded: the same subjects for any thread count; \
`physiology = \"between_patient\"` adds sourced between-patient spreads, printed with their \
sources), and write, to OUT/<name>-population/: population.csv (one row per subject: its index, the \
values drawn, every metric), summary.csv (per parameter and metric: mean, sd, 5/25/50/75/95 \
% quantiles), quantiles.csv (the quantiles of every compartment, and with [observe] of what the method \
shows per organ, at every output time, over \
the first subjects up to a memory cap, all of them for N up to a few hundred on a long \
human scenario), bands.png/.svg (median and 25-75 and 5-95 % ribbons of the liver, lungs \
and other compartments) and histograms.png/.svg (metrics). --format parquet writes \
population.parquet instead of population.csv: the same columns typed (subject int64, the \
values drawn and the metrics double, an empty field null), in row groups of 16,384 \
subjects; summary.csv and quantiles.csv stay CSV. The directory appears only when \
complete; bad input exits with code 2 and writes nothing.",
        after_help = "Examples:\n  cellpk population scenarios/human_decompensated_uncertain_peripheral.toml \
--n 2000 --seed 7\n  cellpk population scenarios/human_decompensated_uncertain_peripheral.toml \
--n 100000 --format parquet"
    )]
    Population {
        /// Scenario file (TOML) with `[variability]`.
        scenario: PathBuf,
        /// Number of subjects (1 to 200,000).
        #[arg(long, default_value_t = 1000, value_parser = population::subjects_arg)]
        n: usize,
        /// Seed of the draws (default: the scenario's `[variability] seed`).
        #[arg(long)]
        seed: Option<u64>,
        /// Worker threads (default: all cores; at most 1024).
        #[arg(long, value_parser = threads_arg)]
        threads: Option<usize>,
        /// Directory that receives the population's directory.
        #[arg(long, default_value = "output")]
        out: PathBuf,
        /// Format of the subjects' rows: csv (population.csv) or parquet
        /// (population.parquet: typed columns).
        #[arg(long, value_enum, default_value = "csv")]
        format: crate::output::Format,
    },
    /// Draw a sweep's figures ([[plot]] blocks) from its CSV.
    #[command(
        long_about = "Draw the [[plot]] blocks of a sweep file (heatmaps faceted by an axis, \
line plots) from the sweep's CSV, as 300-dpi PNG and SVG beside the CSV. Use it to redraw \
after editing the plot blocks, without running the sweep again. A CSV whose sweep.identity is \
missing or records another version of the sweep (an axis, the base scenario, the columns or \
the model changed) is refused with exit code 2, naming what changed.",
        after_help = "Example:\n  cellpk plot scenarios/sweeps/human_dose_interval_route.toml"
    )]
    Plot {
        /// The sweep file.
        sweep: PathBuf,
        /// The sweep CSV (default: `OUT/<name>/sweep.csv`).
        #[arg(long)]
        csv: Option<PathBuf>,
        /// Directory holding the sweep's directory.
        #[arg(long, default_value = "output")]
        out: PathBuf,
    },
    /// Hold the model against published data: run each validation case and judge it.
    #[command(
        long_about = "Run each validation case (a scenario with a `[validation]` section), \
compare its predicted signals with its study's rows in the observations CSV, and judge it: \
a case passes when the geometric mean fold error of its rows with a value (references \
left out) is at most its `max_fold_error` and every range row's prediction lies in its \
range. Writes OUT/validation/: report.md (summary and every row), comparison.csv (tidy) \
and <case>.png (300 dpi) and <case>.svg (model against data per organ over time). The \
directory appears only when complete. Exits with code 1 if a case fails, 2 on bad input.",
        after_help = "Examples:\n  cellpk validate\n  cellpk validate validation/lee2009_mouse_iv.toml --out results"
    )]
    Validate {
        /// Case files (TOML; default: every `*.toml` in `validation/`, sorted).
        cases: Vec<PathBuf>,
        /// Directory that receives `validation/`.
        #[arg(long, default_value = "output")]
        out: PathBuf,
    },
    /// Export a scenario's model as SBML (Level 3 Version 2).
    #[command(
        long_about = "Write a scenario's model as an SBML Level 3 Version 2 file (default: \
OUT/<name>.xml, OUT being `output`): one species per state (cells), every resolved \
parameter with its unit and source, the rate constants as assignment rules over the \
parameters, one mass-action reaction per flow, the doses as events and, with `[model]` \
mechanisms, their states as rate rules and the values they scale the flows by as \
assignment rules, so that COPASI, libRoadRunner/Tellurium or another SBML simulator \
reproduces `cellpk run`. The file appears only when complete.",
        after_help = "Examples:\n  cellpk export-sbml scenarios/human_decompensated_portal_vein.toml\n  \
cellpk export-sbml scenarios/mouse_tail_vein.toml -o mouse.xml"
    )]
    ExportSbml {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// Output file (default: `output/<name>.xml`).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Join the CSVs of a sweep's shards into the whole sweep's CSV.
    #[command(
        long_about = "Join shard CSVs written by `cellpk sweep --shard K/N` into \
OUT/<name>/sweep.csv, refusing shards of another sweep (or of this one before an edit: \
each shard's .identity file must match the sweep file), overlapping shards and gaps, then \
draw the sweep's figures.",
        after_help = "Example:\n  cellpk merge scenarios/sweeps/human_dose_interval_route.toml \
output/human_dose_interval_route/sweep.shard-*-of-10.csv"
    )]
    Merge {
        /// The sweep file the shards were run from.
        sweep: PathBuf,
        /// Shard files (all .csv, or all .parquet).
        #[arg(required = true)]
        shards: Vec<PathBuf>,
        /// Directory that receives the sweep's directory.
        #[arg(long, default_value = "output")]
        out: PathBuf,
    },
}

/// Runs a parsed command line. Bad input comes back as an `InputError` inside the
/// `anyhow::Error`, for `main` to map to its exit code.
pub fn execute(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run {
            scenario,
            out,
            y_scale,
        } => run(&scenario, &out, y_scale),
        Command::Check { files } => check(&files),
        Command::Atlas {
            dir,
            population,
            out,
        } => atlas::atlas(&atlas::Request {
            dir,
            population,
            out,
        }),
        Command::Params { scenario, markdown } => {
            let scenario = scenario::load(&scenario)?;
            emit(&if markdown {
                resolved::params_markdown(&scenario)
            } else {
                resolved::params_table(&scenario)
            })
        }
        Command::Sweep {
            sweep,
            threads,
            out,
            resume,
            shard,
            format,
        } => sweep::run(
            &sweep,
            &crate::sweep::run::Options {
                threads,
                out,
                resume,
                shard,
                format,
            },
        ),
        Command::Validate { cases, out } => validate::validate(&cases, &out),
        Command::ExportSbml { scenario, output } => export_sbml(&scenario, output),
        Command::Merge { sweep, shards, out } => sweep::merge(&sweep, &shards, &out),
        Command::Plot { sweep, csv, out } => sweep::plot(&sweep, csv.as_deref(), &out),
        Command::Fit {
            scenario,
            data,
            free,
            study,
            out,
        } => fit::fit(&fit::Request {
            scenario,
            data,
            free,
            study,
            out,
        }),
        Command::Calibrate {
            cases,
            free,
            out,
            cross_validate,
        } => calibrate::calibrate(&calibrate::Request {
            cases,
            free,
            out,
            cross_validate,
        }),
        Command::Sensitivity {
            scenario,
            method,
            params,
            metrics,
            n,
            seed,
            threads,
            out,
        } => sensitivity::sensitivity(&sensitivity::Request {
            scenario,
            method,
            params,
            metrics,
            n,
            seed,
            threads,
            out,
        }),
        Command::Population {
            scenario,
            n,
            seed,
            threads,
            out,
            format,
        } => population::population(&population::Request {
            scenario,
            n,
            seed,
            threads,
            out,
            format,
        }),
        Command::Compare {
            scenarios,
            compartment,
            metrics,
            name,
            out,
            y_scale,
            population,
        } => compare::compare(&compare::Request {
            scenarios,
            compartment,
            metrics,
            name,
            out,
            y_scale,
            population,
        }),
    }
}

/// Output samples above which `cellpk run` shows its stages on a terminal: about a second
/// of work (100,000 hourly samples is 11 years; 5 million, the most a run keeps, took 16 s).
const STAGES_ABOVE_SAMPLES: usize = 100_000;

/// Whether a run of `samples` shows its stages: only on a terminal (a pipe or a log file
/// gets the summary alone) and only when the run is long enough to wonder about.
fn shows_stages(samples: usize, terminal: bool) -> bool {
    terminal && samples > STAGES_ABOVE_SAMPLES
}

/// A spinner on stderr naming the stage of a long run (`shows_stages`), hidden otherwise.
fn stages(samples: usize) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !shows_stages(samples, std::io::stderr().is_terminal()) {
        return indicatif::ProgressBar::hidden();
    }
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    spinner
}

fn run(file: &Path, out: &Path, y_scale: Scale) -> anyhow::Result<()> {
    let scenario = scenario::load(file)?;
    let samples = (scenario.duration_h() / scenario.output_every_hours) as usize + 1;
    let stage = stages(samples);
    stage.set_message(format!("simulating {samples} samples"));
    let outcome = simulation::run(&scenario)
        .with_context(|| format!("cannot simulate {}", file.display()))?;
    let dir = out.join(&scenario.name);
    stage.set_message("drawing the figures");
    let (png, svg) = plots(&scenario, &outcome, y_scale)?;
    let mut files = vec![
        ("timecourse.csv", csv::timecourse(&outcome).into_bytes()),
        ("metrics.csv", csv::metrics(&outcome).into_bytes()),
        ("timecourse.png", png),
        ("timecourse.svg", svg.into_bytes()),
        (
            "resolved.toml",
            resolved::resolved_toml(&scenario, &file.display().to_string()).into_bytes(),
        ),
    ];
    if let Some(observe) = scenario.observe {
        stage.set_message(format!("predicting what {} would show", observe.method));
        let signals = observe::predict(&scenario, &outcome.timecourse.time_h)
            .with_context(|| format!("cannot simulate {}", file.display()))?;
        let (png, svg) = observed_plots(&scenario, &outcome, observe.method, &signals, y_scale)?;
        files.push((
            "observed.csv",
            csv::observed(observe.method, &signals).into_bytes(),
        ));
        files.push(("observed.png", png));
        files.push(("observed.svg", svg.into_bytes()));
    }
    if let Some((png, svg)) = mechanism_plots(&scenario, &outcome)? {
        files.push(("mechanisms.png", png));
        files.push(("mechanisms.svg", svg.into_bytes()));
    }
    stage.set_message(format!("writing {}", dir.display()));
    output::write_dir_atomically(&dir, &files)
        .with_context(|| format!("cannot write the run directory {}", dir.display()))?;
    stage.finish_and_clear();
    emit(&format!(
        "{}wrote {}/ ({})\n",
        summary(&scenario, &outcome),
        dir.display(),
        file_list(&files)
    ))
}

fn export_sbml(file: &Path, output: Option<PathBuf>) -> anyhow::Result<()> {
    let scenario = scenario::load(file)?;
    let xml = crate::export::sbml::document(&scenario, file);
    let target =
        output.unwrap_or_else(|| Path::new("output").join(format!("{}.xml", scenario.name)));
    output::write_file_atomically(&target, xml.as_bytes())
        .with_context(|| format!("cannot write {}", target.display()))?;
    emit(&format!("wrote {}\n", target.display()))
}

/// Writes to stdout; a closed pipe (`cellpk params x | head`) is not an error.
pub(crate) fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}

fn file_list(files: &[(&str, Vec<u8>)]) -> String {
    files.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

/// The most worker threads `--threads` accepts: beyond the cores of any server a sweep
/// runs on, more threads only cost memory and switching (10,000 threads took 35 s for 6
/// points).
pub const MAX_THREADS: usize = 1024;

/// Parses `--threads`: a whole number from 1 to `MAX_THREADS`.
fn threads_arg(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_THREADS).contains(&n) => Ok(n),
        _ => Err(format!(
            "{text:?} is not a number of threads from 1 to {MAX_THREADS}; leave --threads out \
             to use every core"
        )),
    }
}

/// The `*.toml` files of `dir`, sorted by name (so that whatever reads them in that order
/// gives the same output whatever order the file system lists them in).
fn toml_files(dir: &Path) -> Result<Vec<PathBuf>, InputError> {
    let read = |cause| InputError::Read {
        file: dir.to_path_buf(),
        cause,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read)? {
        let path = entry.map_err(read)?.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Whether `file` is a sweep file (it names a `base` scenario) rather than a scenario.
fn is_sweep_file(file: &Path) -> bool {
    std::fs::read_to_string(file)
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .is_some_and(|table| table.contains_key("base"))
}

fn check(files: &[PathBuf]) -> anyhow::Result<()> {
    let mut invalid = 0;
    for file in files {
        let checked = if is_sweep_file(file) {
            crate::sweep::load(file).map(|s| format!(" (sweep of {} points)", s.len()))
        } else {
            scenario::load(file).map(|_| String::new())
        };
        match checked {
            Ok(what) => emit(&format!("ok  {}{what}\n", file.display()))?,
            Err(e) => {
                eprintln!("error: {e}");
                invalid += 1;
            }
        }
    }
    if invalid == 0 {
        Ok(())
    } else {
        Err(InputError::SomeInvalid {
            invalid,
            total: files.len(),
        }
        .into())
    }
}

/// Whether an error is bad input (exit code 2) rather than a failure while working.
pub fn is_bad_input(err: &anyhow::Error) -> bool {
    use crate::fit::calibrate::CalibrateError;
    use crate::fit::estimate::EstimateError;
    use crate::fit::problem::FitError;
    use crate::sweep::{merge::MergeError, plots::FigureError, run::RunError};
    err.downcast_ref::<InputError>().is_some()
        || matches!(
            err.downcast_ref::<FitError>(),
            Some(FitError::Estimate(
                EstimateError::BoundsNotOrdered { .. }
                    | EstimateError::StartOutside { .. }
                    | EstimateError::TooFewResiduals { .. }
                    | EstimateError::NotIdentifiable { .. }
            ))
        )
        || matches!(
            err.downcast_ref::<CalibrateError>(),
            Some(CalibrateError::Estimate(
                EstimateError::TooFewResiduals { .. } | EstimateError::NotIdentifiable { .. }
            ))
        )
        || matches!(
            err.downcast_ref::<RunError>(),
            Some(
                RunError::PartialExists { .. }
                    | RunError::PartialMismatch { .. }
                    | RunError::NotThisSweep { .. }
            )
        )
        || matches!(
            err.downcast_ref::<MergeError>(),
            Some(MergeError::Bad { .. } | MergeError::Incomplete { .. })
        )
        || matches!(
            err.downcast_ref::<crate::population::PopulationError>(),
            Some(crate::population::PopulationError::Rules { .. })
        )
        || matches!(
            err.downcast_ref::<FigureError>(),
            Some(FigureError::Csv { .. })
        )
}

fn plots(
    scenario: &Scenario,
    outcome: &Outcome,
    scale: Scale,
) -> anyhow::Result<(Vec<u8>, String)> {
    let tc = &outcome.timecourse;
    let series: Vec<Series> = Compartment::ALL
        .iter()
        .map(|c| Series {
            label: c.name().to_string(),
            values: tc.states.iter().map(|x| x[c.index()]).collect(),
        })
        .filter(|s| s.values.iter().any(|&v| v > 0.0))
        .collect();
    let title = format!("{}: cells by compartment", scenario.name);
    let doses = dose_marks(&outcome.schedule, scenario.duration_h());
    time_course_figure(
        &title,
        "Cells",
        &tc.time_h,
        &series,
        &doses,
        scale,
        "timecourse",
    )
}

/// The dimensionless states of the mechanisms that are on (injury, sensitization, marker)
/// over time, if any: what the cells did to the liver and the host.
fn mechanism_plots(
    scenario: &Scenario,
    outcome: &Outcome,
) -> anyhow::Result<Option<(Vec<u8>, String)>> {
    let tc = &outcome.timecourse;
    let on = scenario.mechanisms;
    let along = |value: fn(&crate::mechanisms::Slow) -> f64| tc.slow.iter().map(value).collect();
    let series: Vec<Series> = [
        (on.injury, "injury (1 = disease level)", along(|s| s.injury)),
        (
            on.sensitization,
            "sensitization (0-1)",
            along(|s| s.sensitization),
        ),
        (on.effect, "marker (1 = baseline)", along(|s| s.marker)),
    ]
    .into_iter()
    .filter(|(shown, _, _)| *shown)
    .map(|(_, label, values)| Series {
        label: label.to_string(),
        values,
    })
    .collect();
    if series.is_empty() {
        return Ok(None);
    }
    let title = format!("{}: mechanisms", scenario.name);
    let doses = dose_marks(&outcome.schedule, scenario.duration_h());
    let figure = time_course_figure(
        &title,
        "Relative level",
        &tc.time_h,
        &series,
        &doses,
        Scale::Linear,
        "mechanisms",
    )?;
    Ok(Some(figure))
}

/// What the scenario's `[observe]` method would show in each organ over time (the organs
/// it shows anything in), in percent of the dose or activity given so far: the figure to
/// set beside a study's.
fn observed_plots(
    scenario: &Scenario,
    outcome: &Outcome,
    method: scenario::Method,
    signals: &observe::Signals,
    scale: Scale,
) -> anyhow::Result<(Vec<u8>, String)> {
    let series: Vec<Series> = observe::Organ::ALL
        .iter()
        .map(|&organ| Series {
            label: organ.name().to_string(),
            values: signals.organ(organ),
        })
        .filter(|s| s.values.iter().any(|&v| v > 0.0))
        .collect();
    let title = format!("{}: what {method} would show", scenario.name);
    let doses = dose_marks(&outcome.schedule, scenario.duration_h());
    time_course_figure(
        &title,
        "Percent of the dose given",
        &signals.time_h,
        &series,
        &doses,
        scale,
        "observed",
    )
}

/// Dose marks for the administrations given within `duration_h`.
fn dose_marks(schedule: &[crate::dosing::Dose], duration_h: f64) -> Vec<DoseMark> {
    schedule
        .iter()
        .filter(|d| d.start_h <= duration_h)
        .map(|d| DoseMark {
            start_day: d.start_h / 24.0,
            end_day: d.end_h().min(duration_h) / 24.0,
        })
        .collect()
}

/// A time-course figure as PNG and SVG; `file` names it in error messages.
fn time_course_figure(
    title: &str,
    y_label: &str,
    time_h: &[f64],
    series: &[Series],
    doses: &[DoseMark],
    scale: Scale,
    file: &str,
) -> anyhow::Result<(Vec<u8>, String)> {
    let time_days: Vec<f64> = time_h.iter().map(|t| t / 24.0).collect();
    let input = PlotInput {
        title,
        y_label,
        time_days: &time_days,
        series,
        doses,
        y_scale: match scale {
            Scale::Log => YScale::Log,
            Scale::Linear => YScale::Linear,
        },
    };
    let figure = plot::time_course(&input).with_context(|| format!("cannot draw {file}"))?;
    Ok((figure.png, figure.svg))
}

/// A short human summary of a run.
fn summary(scenario: &Scenario, outcome: &Outcome) -> String {
    let s = &scenario.subject;
    let m = &outcome.metrics;
    let given_doses = outcome.schedule.len() - m.doses_after_end;
    let mut text = format!(
        "{}: {} {} kg, {}, {} {} MSCs{}\n  {} administration(s), {:.3e} cells given over {} days",
        scenario.name,
        s.species,
        s.body_weight_kg,
        s.disease,
        s.donor,
        s.source,
        crate::output::resolved::modified(s.modification),
        given_doses,
        m.cells_given,
        scenario.duration_days,
    );
    if m.doses_after_end > 0 {
        text.push_str(&format!(
            " ({} scheduled after the end, not given)",
            m.doses_after_end
        ));
    }
    text.push_str(&format!(
        "\n  liver: {:.1} % of cells given reached it; peak {:.3e} cells at day {:.2}; \
         AUC {:.3e} cell-days; {:.3e} cells at the end\n  lungs: peak {:.3e} cells ({:.1} % \
         of a dose) at day {:.3}\n  liver above {:.3e} cells for {:.1} days; mass-balance \
         error {:.1e}\n",
        100.0 * m.liver_reached_fraction,
        m.liver_peak_cells,
        m.liver_peak_day,
        m.liver_auc_cell_days,
        m.liver_cells_end,
        m.lung_peak_cells,
        100.0 * m.lung_peak_fraction(),
        m.lung_peak_day,
        m.liver_threshold_cells,
        m.days_liver_above_threshold,
        m.mass_balance_rel_error,
    ));
    if let Some(steps) = outcome.steps {
        let on = scenario.mechanisms.names();
        text.push_str(&format!(
            "  mechanisms: {}; general integrator: {} steps ({} rejected){}\n",
            if on.is_empty() {
                "none".to_string()
            } else {
                on.join(", ")
            },
            steps.accepted,
            steps.rejected,
            if on.is_empty() {
                ""
            } else {
                "; no per-dose metrics (the mechanisms break superposition)"
            }
        ));
    }
    if let Some(e) = m.effect {
        let back = if e.days_to_baseline.is_nan() {
            "not back at baseline by the end".to_string()
        } else {
            format!(
                "back at baseline {:.1} days after the last dose began",
                e.days_to_baseline
            )
        };
        text.push_str(&format!(
            "  marker: up to {:.1} % above baseline; {:.1} days above the threshold; {back}\n",
            100.0 * e.improvement_max,
            e.days_improved,
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_runs_on_a_terminal_show_their_stages() {
        assert!(shows_stages(STAGES_ABOVE_SAMPLES + 1, true));
        assert!(!shows_stages(STAGES_ABOVE_SAMPLES, true), "a short run");
        assert!(!shows_stages(5_000_000, false), "not a terminal");
    }
}
