//! A population reproduces the distributions it was given: through a metric that equals a
//! parameter, in its quantiles; between parameters, in their correlation.

use std::path::Path;

use super::*;
use crate::scenario::Distribution;

/// A portal-vein bolus whose cells reach the liver on their first pass or never (no
/// recirculating liver arrest, no portal shunt): `liver_reached_fraction` is
/// `liver.first_pass_extraction` itself, to rounding.
fn first_pass_scenario(variability: &str) -> Scenario {
    let text = format!(
        r#"
        name = "identity"
        [subject]
        species = "human"
        disease = "healthy"
        [cells]
        source = "bone_marrow"
        donor = "autologous"
        [[dose]]
        route = "portal_vein"
        cells_per_kg = 1e6
        [simulation]
        duration_days = 2
        [parameters]
        "liver.extraction" = 0
        "portal.shunt_fraction" = 0
        {variability}
        "#
    );
    crate::scenario::parse(&text, Path::new("identity.toml")).expect("a valid scenario")
}

/// Four binomial standard errors of an empirical distribution function at p over n draws:
/// the sampling error the tests allow (a false alarm about once in 16,000 comparisons).
fn allowed(p: f64, n: usize) -> f64 {
    4.0 * (p * (1.0 - p) / n as f64).sqrt()
}

#[test]
fn quantiles_through_an_identity_metric_match_the_truncated_distribution() {
    // Log-normal with median 0.6 and CV 0.3: 4 % of it lies above 1 and is truncated away.
    let s = first_pass_scenario(
        r#"
        [variability]
        seed = 11
        [variability.parameters."liver.first_pass_extraction"]
        distribution = "log_normal"
        geometric_mean = 0.6
        cv = 0.3
        "#,
    );
    let v = s.variability.clone().expect("[variability]");
    let n = 4000;
    let p = simulate(&s, &v, n, &indicatif::ProgressBar::hidden()).expect("simulated");
    let drawn = p.param(0);
    let reached = p.metric(Metric::LiverReachedFraction);
    for (x, y) in drawn.iter().zip(&reached) {
        assert!(
            (x - y).abs() < 1e-9,
            "reached {y} for a first-pass extraction of {x}"
        );
    }
    let d = Distribution::LogNormal {
        mu: 0.6f64.ln(),
        sigma: (1.0f64 + 0.09).ln().sqrt(),
    };
    let kept = sample::cdf(d, 1.0);
    assert!((0.03..0.05).contains(&(1.0 - kept)), "{kept}");
    let truncated_cdf = |x: f64| sample::cdf(d, x.min(1.0)) / kept;
    let mut sorted = reached.clone();
    let q = sorted_quantiles(&mut sorted);
    for (&level, &at) in QUANTILES.iter().zip(&q) {
        // The population's quantile sits where the distribution has `level` below it.
        let err = (truncated_cdf(at) - level).abs();
        assert!(err < allowed(level, n), "{level}: F({at}) is off by {err}");
    }
    assert!(reached.iter().all(|&r| r <= 1.0));
}

#[test]
fn correlations_of_the_normal_scores_are_reproduced() {
    let s = first_pass_scenario(
        r#"
        [variability]
        [variability.parameters."lung.death_per_h"]
        distribution = "log_normal"
        cv = 0.5
        [variability.parameters."spleen.death_per_h"]
        distribution = "log_normal"
        cv = 0.8
        [variability.parameters."portal.shunt_fraction"]
        distribution = "uniform"
        range = [0, 1]
        [[variability.correlation]]
        parameters = ["lung.death_per_h", "spleen.death_per_h"]
        r = 0.6
        [[variability.correlation]]
        parameters = ["spleen.death_per_h", "portal.shunt_fraction"]
        r = -0.4
        "#,
    );
    let v = s.variability.expect("[variability]");
    let n = 20_000;
    let mut scores: Vec<Vec<f64>> = vec![Vec::new(); 3];
    let mut values = [0.0; 3];
    let names: Vec<&str> = v.draws.iter().map(|d| d.param.name()).collect();
    for i in 0..n {
        sample::draw(&v, &mut sample::Stream::new(v.seed, i as u64), &mut values);
        // Back to normal scores: the log of a log-normal, Phi^-1 of a uniform on [0, 1].
        for (k, (name, x)) in names.iter().zip(values).enumerate() {
            let z = if *name == "portal.shunt_fraction" {
                sample::normal_quantile(x)
            } else {
                x.ln()
            };
            scores[k].push(z);
        }
    }
    let index = |name: &str| {
        v.draws
            .iter()
            .position(|d| d.param.name() == name)
            .expect("drawn")
    };
    let (lung, spleen, shunt) = (
        index("lung.death_per_h"),
        index("spleen.death_per_h"),
        index("portal.shunt_fraction"),
    );
    let corr = |a: &[f64], b: &[f64]| {
        let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
        let (ma, mb) = (mean(a), mean(b));
        let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
        let var = |x: &[f64], m: f64| x.iter().map(|v| (v - m).powi(2)).sum::<f64>();
        cov / (var(a, ma) * var(b, mb)).sqrt()
    };
    // The standard error of a sample correlation is about (1 - r^2) / sqrt(n).
    for (a, b, r) in [
        (lung, spleen, 0.6),
        (spleen, shunt, -0.4),
        (lung, shunt, 0.0),
    ] {
        let got = corr(&scores[a], &scores[b]);
        let se = (1.0 - r * r) / (n as f64).sqrt();
        assert!((got - r).abs() < 4.0 * se, "{a}, {b}: {got} for {r}");
    }
}

#[test]
fn a_draw_that_breaks_a_rule_is_redrawn() {
    // Hepatic artery, spleen and gut flow together above cardiac output for part of the
    // draws: every subject kept satisfies the rule.
    let s = first_pass_scenario(
        r#"
        [variability]
        [variability.parameters."flow.gut_fraction"]
        distribution = "uniform"
        range = [0.1, 0.99]
        "#,
    );
    let v = s.variability.clone().expect("[variability]");
    for i in 0..200 {
        let (subject, _) = subject(&s, &v, i).expect("a valid subject");
        assert!(subject.parameters.flow_fraction_sum() <= 1.0);
    }
}

/// toml 0.8 cannot give the span of a table made only by dotted headers, and a `Spanned`
/// `[variability]` refused `[variability.parameters."X"]` written without a `[variability]`
/// line ("expected a borrowed string"): such a table is read as the same variability.
#[test]
fn a_variability_table_made_by_dotted_headers_alone_is_the_same_table() {
    let distribution = r#"
        [variability.parameters."liver.first_pass_extraction"]
        distribution = "log_normal"
        cv = 0.3
        "#;
    let dotted = first_pass_scenario(distribution);
    let explicit = first_pass_scenario(&format!("[variability]\n{distribution}"));
    assert!(dotted.variability.is_some());
    assert_eq!(dotted.variability, explicit.variability);
}

#[test]
fn observed_columns_are_named_for_the_organs_in_their_order() {
    use crate::observe::Organ;
    use crate::presets::Choice;
    let names: Vec<String> = Organ::ALL
        .iter()
        .map(|o| format!("observed_{}_percent", o.name()))
        .collect();
    assert_eq!(names, OBSERVED);
}

/// With `[observe]`, the bands hold what the method shows per organ. Varying a parameter
/// nothing observed depends on (the effect's Emax, the effect layer off), every subject
/// shows what the scenario's own prediction shows, at every quantile, exactly.
#[test]
fn observed_bands_of_identical_subjects_are_the_scenarios_own_prediction() {
    let s = first_pass_scenario(
        r#"
        [observe]
        method = "radiolabel"
        isotope = "in111"
        [variability]
        [variability.parameters."effect.emax"]
        distribution = "uniform"
        range = [0.1, 0.5]
        "#,
    );
    let v = s.variability.clone().expect("[variability]");
    let bands = time_course_bands(&s, &v, 8).expect("simulated");
    let own = crate::observe::predict(&s, &bands.time_h).expect("predicted");
    for (k, column) in OBSERVED.iter().enumerate() {
        let got = bands.of(column).expect("an observed column");
        for (t, q) in got.iter().enumerate() {
            let want = own.percent[t][k];
            assert!(
                q.iter().all(|&x| x == want),
                "{column} at {t}: {q:?} vs {want}"
            );
        }
    }
    assert!(bands.of("observed_liver_percent").expect("liver")[10][2] > 0.0);
}

/// A healthy rat given bone-marrow cells takes every calibrated value of the shipped
/// calibration that applies to rats as it stands: each is drawn with `calibrated`.
fn calibrated_rat(seed: u64) -> Scenario {
    let names = [
        "lung.extraction",
        "liver.extraction",
        "liver.first_pass_extraction",
        "lung.recirculating_extraction",
        "other.extraction",
        "spleen.extraction",
    ];
    let tables: String = names
        .iter()
        .map(|n| format!("[variability.parameters.\"{n}\"]\ndistribution = \"calibrated\"\n"))
        .collect();
    let text = format!(
        r#"
        name = "calibrated_rat"
        [subject]
        species = "rat"
        disease = "healthy"
        [cells]
        source = "bone_marrow"
        donor = "autologous"
        [[dose]]
        route = "peripheral_vein"
        cells = 1e6
        [simulation]
        duration_days = 2
        [variability]
        seed = {seed}
        [variability.parameters."lung.death_per_h"]
        distribution = "log_normal"
        cv = 0.5
        {tables}
        "#
    );
    crate::scenario::parse(&text, Path::new("calibrated_rat.toml")).expect("a valid scenario")
}

/// Drawn jointly from the calibration, the parameters' values on the fit's scale have the
/// calibrated values as their mean and the calibration's covariance as theirs, within the
/// sampling error of n draws: 4 standard errors, sqrt(S_ii / n) for a mean and
/// sqrt((S_ii S_kk + S_ik^2) / n) for a covariance (normal data).
#[test]
fn calibrated_draws_have_the_calibrations_mean_and_covariance_on_its_scale() {
    use crate::params::calibration::Scale;
    use crate::params::Calibration;
    use crate::presets::Species;
    let s = calibrated_rat(7);
    let v = s.variability.clone().expect("[variability]");
    let calibration = Calibration::shipped();
    let covariance = calibration.covariance().expect("the shipped covariance");
    // (position among the draws, position in the covariance, the calibrated value)
    let drawn: Vec<(usize, usize, f64)> = v
        .draws
        .iter()
        .enumerate()
        .filter_map(|(k, d)| {
            let i = d.calibrated?;
            let e = calibration.get(d.param, Species::Rat).expect("calibrated");
            assert_eq!(covariance.parameters[i], (d.param, e.species));
            Some((k, i, Scale::of(d.param).to_fit(e.value)))
        })
        .collect();
    assert_eq!(drawn.len(), 6);
    let n = 40_000;
    let mut values = vec![0.0; v.draws.len()];
    let mut u: Vec<Vec<f64>> = vec![Vec::with_capacity(n); drawn.len()];
    for i in 0..n {
        sample::draw(&v, &mut sample::Stream::new(v.seed, i as u64), &mut values);
        for (a, &(k, _, _)) in drawn.iter().enumerate() {
            u[a].push(Scale::of(v.draws[k].param).to_fit(values[k]));
        }
    }
    let nf = n as f64;
    let mean: Vec<f64> = u.iter().map(|x| x.iter().sum::<f64>() / nf).collect();
    for (a, &(k, i, mu)) in drawn.iter().enumerate() {
        let se = (covariance.get(i, i) / nf).sqrt();
        let name = v.draws[k].param.name();
        assert!(
            (mean[a] - mu).abs() < 4.0 * se,
            "{name}: mean {} for {mu} (se {se})",
            mean[a]
        );
    }
    for (a, &(ka, i, _)) in drawn.iter().enumerate() {
        for (b, &(kb, k, _)) in drawn.iter().enumerate() {
            let got = u[a]
                .iter()
                .zip(&u[b])
                .map(|(x, y)| (x - mean[a]) * (y - mean[b]))
                .sum::<f64>()
                / (nf - 1.0);
            let want = covariance.get(i, k);
            let se = ((covariance.get(i, i) * covariance.get(k, k) + want * want) / nf).sqrt();
            assert!(
                (got - want).abs() < 4.0 * se,
                "{} x {}: covariance {got} for {want} (se {se})",
                v.draws[ka].param.name(),
                v.draws[kb].param.name()
            );
        }
    }
}

/// Calibrated draws are a function of the seed and the subject alone: the same with one
/// worker thread or two, and others under another seed.
#[test]
fn calibrated_draws_are_the_same_for_a_seed_whatever_the_threads() {
    let run = |seed: u64, threads: usize| {
        let s = calibrated_rat(seed);
        let v = s.variability.clone().expect("[variability]");
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a pool")
            .install(|| metrics(&s, &v, 400, &indicatif::ProgressBar::hidden()))
            .expect("simulated")
    };
    let (one, two) = (run(3, 1), run(3, 2));
    assert_eq!(one.0, two.0, "the values drawn");
    assert_eq!(one.1, two.1, "the metrics");
    assert_ne!(run(4, 2).0, one.0, "another seed, other subjects");
}

/// A human scenario in `disease` with `[variability]` holding `physiology` and `extra`.
fn between_patient_scenario(disease: &str, parameters: &str, extra: &str) -> Scenario {
    let text = format!(
        r#"
        name = "between_patient"
        [subject]
        species = "human"
        disease = "{disease}"
        [cells]
        source = "bone_marrow"
        donor = "allogeneic"
        [[dose]]
        route = "peripheral_vein"
        cells_per_kg = 1e6
        [simulation]
        duration_days = 2
        [parameters]
        {parameters}
        [variability]
        physiology = "between_patient"
        {extra}
        "#
    );
    crate::scenario::parse(&text, Path::new("between_patient.toml")).expect("a valid scenario")
}

#[test]
fn between_patient_defaults_resolve_per_disease_with_their_sources() {
    use crate::presets::between_patient::{between_patient, Spread};
    use crate::presets::{Disease, Species};
    let s = between_patient_scenario("decompensated_cirrhosis", "", "");
    let v = s.variability.clone().expect("[variability]");
    assert_eq!(
        v.physiology,
        Some((Species::Human, Disease::DecompensatedCirrhosis))
    );
    let names: Vec<&str> = v.draws.iter().map(|d| d.param.name()).collect();
    assert_eq!(
        names,
        [
            "circulation.cardiac_output_l_per_h",
            "flow.spleen_fraction",
            "portal.shunt_fraction"
        ]
    );
    let b = between_patient(Species::Human, Disease::DecompensatedCirrhosis);
    let cv = |spread| match spread {
        Spread::LogNormal(cv) => cv.value,
        other => panic!("not log-normal: {other:?}"),
    };
    for (draw, spread) in v.draws.iter().zip([
        b.cardiac_output,
        b.spleen_flow,
        b.portal_shunt.expect("a shunt in cirrhosis"),
    ]) {
        assert_eq!(draw.default_source, Some(spread.source()));
        assert!(draw
            .default_source
            .expect("sourced")
            .text()
            .contains("read at"));
        match draw.distribution {
            Distribution::LogNormal { mu, sigma } => {
                // Centred on the resolved value, with the preset's CV.
                assert!((mu - s.parameters.get(draw.param).ln()).abs() < 1e-12);
                let want = cv(spread);
                assert!(((sigma * sigma).exp_m1().sqrt() - want).abs() < 1e-12);
            }
            Distribution::Uniform { low, high } => assert_eq!((low, high), (0.0, 1.0)),
            other => panic!("{other:?}"),
        }
    }
    // Healthy: no shunt to vary; the controls' spleen.
    let healthy = between_patient_scenario("healthy", "", "");
    let hv = healthy.variability.expect("[variability]");
    assert_eq!(hv.draws.len(), 2);
    assert!(hv
        .draws
        .iter()
        .all(|d| d.param.name() != "portal.shunt_fraction"));
    // Drawn, the cardiac output spreads as its CV says (within 4 standard errors of the
    // log's SD, sigma / sqrt(2 n)).
    let n = 20_000;
    let mut values = vec![0.0; v.draws.len()];
    let logs: Vec<f64> = (0..n)
        .map(|i| {
            sample::draw(&v, &mut sample::Stream::new(v.seed, i as u64), &mut values);
            values[0].ln()
        })
        .collect();
    let mean = logs.iter().sum::<f64>() / n as f64;
    let sd = (logs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
    let sigma = cv(b.cardiac_output).powi(2).ln_1p().sqrt();
    assert!(
        (sd - sigma).abs() < 4.0 * sigma / (2.0 * n as f64).sqrt(),
        "{sd} vs {sigma}"
    );
}

#[test]
fn a_scenarios_own_distribution_or_override_wins_over_the_defaults() {
    let s = between_patient_scenario(
        "decompensated_cirrhosis",
        r#""circulation.cardiac_output_l_per_h" = 420"#,
        r#"
        [variability.parameters."portal.shunt_fraction"]
        distribution = "uniform"
        range = [0.4, 0.9]
        [[variability.correlation]]
        parameters = ["portal.shunt_fraction", "flow.spleen_fraction"]
        r = 0.5
        "#,
    );
    let v = s.variability.expect("[variability]");
    let names: Vec<&str> = v.draws.iter().map(|d| d.param.name()).collect();
    // The cardiac output fixed by `[parameters]` is not drawn.
    assert_eq!(names, ["flow.spleen_fraction", "portal.shunt_fraction"]);
    let shunt = &v.draws[1];
    assert_eq!(
        shunt.distribution,
        Distribution::Uniform {
            low: 0.4,
            high: 0.9
        }
    );
    assert_eq!(shunt.default_source, None);
    assert!(v.draws[0].default_source.is_some());
    // A correlation may name a default: the copula's factor holds it.
    assert!((v.cholesky[2] - 0.5).abs() < 1e-12, "{:?}", v.cholesky);
}

#[test]
fn a_sweep_point_of_another_disease_cannot_take_the_bases_defaults() {
    use crate::presets::Disease;
    use crate::scenario::NotRecentred;
    let s = between_patient_scenario("decompensated_cirrhosis", "", "");
    let v = s.variability.clone().expect("[variability]");
    assert!(v.recentred(&s.parameters, &s.subject).is_ok());
    let mut other = s.subject;
    other.disease = Disease::CompensatedCirrhosis;
    assert_eq!(
        v.recentred(&s.parameters, &other),
        Err(NotRecentred::Physiology)
    );
}

#[test]
fn a_sweep_point_off_the_calibrated_value_cannot_draw_it() {
    use crate::presets::Disease;
    use crate::scenario::NotRecentred;
    let s = calibrated_rat(1);
    let v = s.variability.clone().expect("[variability]");
    assert_eq!(v.recentred(&s.parameters, &s.subject), Ok(v.clone()));
    // In liver failure the homing factor moves the liver's arrest off the calibrated value.
    let mut failing = s.subject;
    failing.disease = Disease::AcuteLiverFailure;
    let parameters = crate::params::resolve(&failing);
    assert_eq!(
        v.recentred(&parameters, &failing),
        Err(NotRecentred::NotCalibrated(
            crate::params::Param::LiverExtraction
        ))
    );
}

/// `population.parquet` holds `population.csv`'s rows: the same columns in order, typed
/// (subject INT64, the rest DOUBLE), every value equal to the CSV's, null where the CSV is
/// empty; more subjects than a row group holds are cut into row groups of `GROUP_ROWS`.
#[test]
fn the_parquet_file_holds_the_csv_rows() {
    use ::parquet::file::reader::{FileReader, SerializedFileReader};
    use ::parquet::record::Field;

    use crate::output::parquet::GROUP_ROWS;

    let s = first_pass_scenario(
        r#"
        [variability]
        seed = 3
        [variability.parameters."liver.first_pass_extraction"]
        distribution = "uniform"
        range = [0.2, 0.8]
        [variability.parameters."lung.extraction"]
        distribution = "uniform"
        range = [0.3, 0.9]
        "#,
    );
    let v = s.variability.clone().expect("[variability]");
    let mut p = simulate(&s, &v, 50, &indicatif::ProgressBar::hidden()).expect("simulated");
    // Past one row group: the 50 subjects over and over (the files need not tell them
    // apart), and a metric without a value (an empty field, a null) in each group.
    let n = GROUP_ROWS as usize + 1000;
    p.values = (0..n)
        .flat_map(|i| p.values[i % 50 * 2..][..2].to_vec())
        .collect();
    p.metrics = (0..n).map(|i| p.metrics[i % 50]).collect();
    for i in [7, GROUP_ROWS as usize + 3] {
        p.metrics[i].liver_cells_end = f64::NAN;
    }

    let bytes = super::parquet::population(&p).expect("encoded");
    let text = csv::population(&p);
    let reader = SerializedFileReader::new(bytes::Bytes::from(bytes)).expect("a Parquet file");
    assert_eq!(reader.num_row_groups(), 2);
    assert_eq!(reader.metadata().row_group(0).num_rows(), GROUP_ROWS as i64);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    let names: Vec<&str> = schema.columns().iter().map(|c| c.name()).collect();
    assert_eq!(names, header, "the CSV's columns, in order");
    let (mut rows, mut nulls) = (0, 0);
    for (row, line) in reader.get_row_iter(None).expect("rows").zip(lines) {
        let row = row.expect("a row");
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(row.len(), fields.len(), "{line}");
        for ((name, field), &text) in row.get_column_iter().zip(&fields) {
            match field {
                Field::Null => {
                    nulls += 1;
                    assert_eq!(text, "", "{name} of {line}")
                }
                Field::Long(v) if name == "subject" => assert_eq!(v.to_string(), text),
                Field::Double(v) if name != "subject" => {
                    assert_eq!(Some(*v), text.parse::<f64>().ok(), "{name} of {line}")
                }
                other => panic!("{name}: unexpected {other:?}"),
            }
        }
        rows += 1;
    }
    assert_eq!(rows, n);
    assert_eq!(nulls, 2, "the two metrics without a value");
}
