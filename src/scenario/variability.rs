//! `[variability]`: the distribution of parameters across virtual subjects, and the
//! correlations between them, validated here so that `cellpk check` judges a population
//! scenario as it judges any other, and `cellpk population` can assume every draw is
//! possible.
//!
//! Correlations act on the normal scores of the draws (a Gaussian copula): the scores are
//! correlated through the Cholesky factor of the matrix, then mapped through each
//! parameter's own distribution. The factor is computed here, because a matrix that has
//! none (not positive definite) is bad input, to be reported with the key and the fix.

use std::ops::Range;

use toml::Spanned;

use super::checker::Checker;
use super::file::{
    CorrelationFile, DistributionFile, Family, PhysiologyVariation, VariabilityFile,
};
use crate::error::InputError;
use crate::numerics::cholesky;
use crate::params::calibration::{self, Scale, SHIPPED_FILE};
use crate::params::{Calibration, Param, Parameters, Resolved, Subject};
use crate::presets::between_patient::{self, Spread};
use crate::presets::{Disease, Species};
use crate::scenario::rules::readable;
use crate::sourced::Source;

/// Seed of the draws when `[variability]` sets none.
pub const DEFAULT_SEED: u64 = 1;

/// Largest coefficient of variation accepted (1000 %). Assumption: no between-subject or
/// uncertainty spread of a physiological parameter is wider (a CV of 10 is a 95 % range
/// spanning a factor of about 14,000); a larger value is a percentage written as a share.
pub const MAX_CV: f64 = 10.0;

/// Smallest pivot of the Cholesky factor accepted (relative to the diagonal, 1): below it
/// the correlation matrix is singular to rounding, and the draws would hinge on the
/// rounding of its last digits.
const MIN_PIVOT: f64 = 1e-9;

/// z of the 97.5 % quantile of the standard normal: a 95 % range is mean +- this many sd.
pub const Z_975: f64 = 1.959_963_984_540_054;

/// How one parameter is distributed across subjects, in the parameter's unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Distribution {
    /// ln X is normal with mean `mu` and standard deviation `sigma`.
    LogNormal {
        /// Mean of ln X (ln of the geometric mean, the median).
        mu: f64,
        /// Standard deviation of ln X.
        sigma: f64,
    },
    /// X is normal.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        sd: f64,
    },
    /// X is uniform on [low, high].
    Uniform {
        /// Lowest value.
        low: f64,
        /// Highest value.
        high: f64,
    },
    /// The calibration's: `scale.to_fit(X)` is normal with mean `mu` and standard
    /// deviation `sigma` (the estimate and its Laplace standard error on the fit's scale).
    Calibrated {
        /// Mean on the fit's scale (the calibrated value there).
        mu: f64,
        /// Standard deviation on the fit's scale.
        sigma: f64,
        /// The fit's scale.
        scale: Scale,
    },
}

impl Distribution {
    /// The median, which validation requires the parameter to accept, so that the part of
    /// the distribution within the parameter's bounds is never a vanishing tail.
    pub fn median(self) -> f64 {
        match self {
            Distribution::LogNormal { mu, .. } => mu.exp(),
            Distribution::Normal { mean, .. } => mean,
            Distribution::Uniform { low, high } => 0.5 * (low + high),
            Distribution::Calibrated { mu, scale, .. } => scale.to_natural(mu),
        }
    }
}

/// One varied parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Draw {
    /// The parameter.
    pub param: Param,
    /// Its distribution, before truncation to the parameter's accepted range.
    pub distribution: Distribution,
    /// Whether the distribution is centred on the scenario's resolved value (a log-normal
    /// without `geometric_mean`, a normal without `mean`): a sweep axis that resolves the
    /// parameters again (species, disease, ...) moves the centre with them.
    pub centred_on_resolved: bool,
    /// For a `calibrated` draw, its position in the shipped calibration's covariance,
    /// which sets its correlations with the other calibrated draws.
    pub calibrated: Option<usize>,
    /// For a default of `physiology = "between_patient"`, the source of its spread
    /// (`presets::between_patient`); `None` for a distribution the scenario wrote.
    pub default_source: Option<Source>,
}

/// A scenario's `[variability]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Variability {
    /// Seed of every subject's draws.
    pub seed: u64,
    /// The varied parameters, sorted by name.
    pub draws: Vec<Draw>,
    /// Lower Cholesky factor of the correlation matrix of the draws' normal scores, row by
    /// row (`draws.len()` squared; the identity without correlations).
    pub cholesky: Vec<f64>,
    /// With `physiology = "between_patient"`: the species and liver condition whose
    /// spreads the default draws are.
    pub physiology: Option<(Species, Disease)>,
}

/// Why a sweep point's subjects cannot be drawn as the base scenario's are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotRecentred {
    /// A log-normal centred on the resolved value meets a value of 0 or less.
    NoLogNormal(Param),
    /// A `calibrated` draw's parameter no longer takes the calibrated value the base took.
    NotCalibrated(Param),
    /// The point's species or liver condition is not the one whose between-patient
    /// spreads the base's `physiology = "between_patient"` drew.
    Physiology,
}

impl Variability {
    /// This variability with every distribution centred on the resolved value moved to its
    /// value in `parameters`, computed as `validate` computes it, so that a sweep point's
    /// subjects are those `cellpk population` draws from that point's scenario. Err: a
    /// draw the point's values cannot take (see [`NotRecentred`]); `species` is the
    /// point's subject.
    pub fn recentred(
        &self,
        parameters: &Parameters,
        subject: &Subject,
    ) -> Result<Variability, NotRecentred> {
        let species = subject.species;
        if self
            .physiology
            .is_some_and(|p| p != (subject.species, subject.disease))
        {
            return Err(NotRecentred::Physiology);
        }
        let mut moved = self.clone();
        for d in moved.draws.iter_mut() {
            if let (Some(index), Distribution::Calibrated { mu, scale, .. }) =
                (d.calibrated, d.distribution)
            {
                let shipped = Calibration::shipped();
                let resolved = parameters.entry(d.param);
                let same = shipped.get(d.param, species).is_some_and(|e| {
                    !resolved.overridden
                        && resolved.value == e.value
                        && *resolved.source == *e.source
                        && scale.to_fit(e.value) == mu
                        && shipped
                            .covariance()
                            .and_then(|c| c.index(d.param, e.species))
                            == Some(index)
                });
                if !same {
                    return Err(NotRecentred::NotCalibrated(d.param));
                }
                continue;
            }
            if !d.centred_on_resolved {
                continue;
            }
            let centre = parameters.get(d.param);
            d.distribution = match d.distribution {
                Distribution::LogNormal { sigma, .. } if centre > 0.0 => Distribution::LogNormal {
                    mu: centre.ln(),
                    sigma,
                },
                Distribution::LogNormal { .. } => return Err(NotRecentred::NoLogNormal(d.param)),
                Distribution::Normal { sd, .. } => Distribution::Normal { mean: centre, sd },
                other => other,
            };
        }
        Ok(moved)
    }
}

/// Validates `[variability]` against the scenario's resolved `parameters` (the default
/// centre of a log-normal or normal distribution) for `subject`.
pub(super) fn validate(
    c: &Checker,
    v: &VariabilityFile,
    parameters: &Parameters,
    subject: &Subject,
) -> Result<Variability, InputError> {
    let seed = match &v.seed {
        None => DEFAULT_SEED,
        Some(s) => u64::try_from(*s.get_ref()).map_err(|_| {
            c.invalid(
                s.span(),
                "variability.seed",
                format!("{} is not a seed >= 0", s.get_ref()),
                "set `seed` to a whole number >= 0",
            )
        })?,
    };
    if v.parameters.is_empty() && v.physiology.is_none() {
        // The table's own line: where `[variability]` is written.
        let at = c.text.find("[variability").unwrap_or(0);
        return Err(c.invalid(
            at..at,
            "variability.parameters",
            "no parameter varies",
            "add a table `[variability.parameters.\"NAME\"]` with `distribution = \
             \"log_normal\"` and `cv = ...` (NAME as `cellpk params` lists it), or \
             `physiology = \"between_patient\"`",
        ));
    }
    let mut draws = v
        .parameters
        .iter()
        .map(|(key, d)| {
            let param = c.parameter(key, "variability.parameters")?;
            let key = format!("variability.parameters.\"{}\"", param.name());
            let f = d.get_ref();
            if *f.distribution.get_ref() == Family::Calibrated {
                let (distribution, index) =
                    calibrated(c, d, &key, param, parameters.entry(param), subject)?;
                return Ok(Draw {
                    param,
                    distribution,
                    centred_on_resolved: false,
                    calibrated: Some(index),
                    default_source: None,
                });
            }
            let distribution = distribution(c, d, &key, param, parameters.get(param))?;
            Ok(Draw {
                param,
                distribution,
                centred_on_resolved: f.geometric_mean.is_none()
                    && f.mean.is_none()
                    && f.range_95.is_none()
                    && f.range.is_none(),
                calibrated: None,
                default_source: None,
            })
        })
        .collect::<Result<Vec<_>, InputError>>()?;
    let physiology = v.physiology.as_ref().map(|p| match p.get_ref() {
        PhysiologyVariation::BetweenPatient => (subject.species, subject.disease),
    });
    if let Some((species, disease)) = physiology {
        let defaults = physiology_defaults(species, disease, parameters);
        // The scenario's own distribution of a parameter wins over the default.
        let written: Vec<Param> = draws.iter().map(|d| d.param).collect();
        draws.extend(defaults.into_iter().filter(|d| !written.contains(&d.param)));
        draws.sort_by_key(|d| d.param.name());
    }
    let cholesky = correlations(c, &v.correlation, &draws)?;
    Ok(Variability {
        seed,
        draws,
        cholesky,
        physiology,
    })
}

/// The draws `physiology = "between_patient"` adds for `species` in `disease`: cardiac
/// output, splenic flow and (where the condition has one) the portal shunt, spread as
/// `presets::between_patient` says, log-normals centred on the resolved value. A
/// parameter the scenario's `[parameters]` sets keeps its value: the scenario fixed it.
pub fn physiology_defaults(
    species: Species,
    disease: Disease,
    parameters: &Parameters,
) -> Vec<Draw> {
    let b = between_patient::between_patient(species, disease);
    [
        (Param::CardiacOutput, Some(b.cardiac_output)),
        (Param::SpleenFlow, Some(b.spleen_flow)),
        (Param::PortalShunt, b.portal_shunt),
    ]
    .into_iter()
    .filter_map(|(param, spread)| {
        let spread = spread?;
        let resolved = parameters.entry(param);
        if resolved.overridden {
            return None;
        }
        let (distribution, centred_on_resolved) = match spread {
            Spread::LogNormal(cv) => {
                if resolved.value <= 0.0 {
                    return None;
                }
                (
                    Distribution::LogNormal {
                        mu: resolved.value.ln(),
                        sigma: cv.value.powi(2).ln_1p().sqrt(),
                    },
                    true,
                )
            }
            Spread::Uniform { low, high, .. } => (Distribution::Uniform { low, high }, false),
        };
        Some(Draw {
            param,
            distribution,
            centred_on_resolved,
            calibrated: None,
            default_source: Some(spread.source()),
        })
    })
    .collect()
}

/// The keys each family takes; another family's key is refused rather than ignored.
fn stray_key(d: &DistributionFile, family: Family) -> Option<(&'static str, Range<usize>)> {
    let keys = [
        (
            "geometric_mean",
            d.geometric_mean.as_ref().map(Spanned::span),
        ),
        ("cv", d.cv.as_ref().map(Spanned::span)),
        ("range_95", d.range_95.as_ref().map(Spanned::span)),
        ("mean", d.mean.as_ref().map(Spanned::span)),
        ("sd", d.sd.as_ref().map(Spanned::span)),
        ("range", d.range.as_ref().map(Spanned::span)),
    ];
    let own: &[&str] = match family {
        Family::LogNormal => &["geometric_mean", "cv", "range_95"],
        Family::Normal => &["mean", "sd"],
        Family::Uniform => &["range"],
        Family::Calibrated => &[],
    };
    keys.into_iter()
        .find_map(|(key, span)| span.filter(|_| !own.contains(&key)).map(|s| (key, s)))
}

/// The name of a family as written in the file.
fn family_name(family: Family) -> &'static str {
    match family {
        Family::LogNormal => "log_normal",
        Family::Normal => "normal",
        Family::Uniform => "uniform",
        Family::Calibrated => "calibrated",
    }
}

/// The factors a derivation's text appends to its base value (`; x 0.81 share of ...
/// (source)`), without their sources: each top-level `; ` part up to its last top-level
/// parenthesis.
fn factors(appended: &str) -> String {
    let mut parts = Vec::new();
    let (mut depth, mut part, mut cut) = (0usize, String::new(), None);
    let mut finish = |part: &mut String, cut: &mut Option<usize>| {
        let text = cut.map_or(part.as_str(), |k| &part[..k]).trim();
        if !text.is_empty() {
            parts.push(text.to_owned());
        }
        part.clear();
        *cut = None;
    };
    for ch in appended.chars() {
        match ch {
            '(' => {
                if depth == 0 {
                    cut = Some(part.len());
                }
                depth += 1;
            }
            ')' => depth = depth.saturating_sub(1),
            ';' if depth == 0 => {
                finish(&mut part, &mut cut);
                continue;
            }
            _ => {}
        }
        part.push(ch);
    }
    finish(&mut part, &mut cut);
    parts.join("; ")
}

/// A `calibrated` draw of `param`, whose resolved value in the scenario is `resolved`: the
/// shipped calibration's estimate for the subject's species with its standard error on the
/// fit's scale, and its position in the calibration's covariance. Refused where the
/// scenario does not take the calibrated value itself (no entry, no covariance, an
/// override, or the subject's factors deriving another value from it), since the
/// calibration's uncertainty is of that value alone.
fn calibrated(
    c: &Checker,
    raw: &Spanned<DistributionFile>,
    key: &str,
    param: Param,
    resolved: &Resolved,
    subject: &Subject,
) -> Result<(Distribution, usize), InputError> {
    let d = raw.get_ref();
    if let Some((stray, span)) = stray_key(d, Family::Calibrated) {
        return Err(c.invalid(
            span,
            format!("{key}.{stray}"),
            format!("`{stray}` is set by the calibration, not by the scenario"),
            format!("remove `{stray}`, or change `distribution`"),
        ));
    }
    let name = param.name();
    let span = d.distribution.span();
    let at = format!("{key}.distribution");
    let own = "give it a distribution of its own (`log_normal` with `cv` or `range_95`, \
     `normal` or `uniform`)";
    let shipped = Calibration::shipped();
    let Some(entry) = shipped.get(param, subject.species) else {
        return Err(c.invalid(
            span,
            at,
            format!(
                "`{name}` is not calibrated for a {} ({SHIPPED_FILE} has no entry for it)",
                subject.species
            ),
            own,
        ));
    };
    let label = calibration::label(param, entry.species);
    let Some((covariance, index)) = shipped
        .covariance()
        .and_then(|cov| cov.index(param, entry.species).map(|i| (cov, i)))
    else {
        return Err(c.invalid(
            span,
            at,
            format!("{SHIPPED_FILE} states no covariance for `{label}`"),
            format!(
                "regenerate {SHIPPED_FILE} with `cellpk calibrate` freeing `{label}` (the \
                 command is in docs/validation.md), or {own}"
            ),
        ));
    };
    if resolved.overridden {
        return Err(c.invalid(
            span,
            at,
            format!(
                "`[parameters]` sets `{name}`, so the scenario does not take its calibrated \
                 value"
            ),
            format!("remove `\"{name}\"` from `[parameters]`, or {own}"),
        ));
    }
    if resolved.value != entry.value || *resolved.source != *entry.source {
        let how = resolved
            .source
            .strip_prefix(entry.source.as_str())
            .map(factors)
            .filter(|rest| !rest.is_empty())
            .unwrap_or_else(|| "another preset".into());
        return Err(c.invalid(
            span,
            at,
            format!(
                "this subject's `{name}` is {}, not the calibrated {}: its presets derive it \
                 from the calibrated value ({how}), and the calibration's uncertainty is of \
                 that value alone",
                readable(resolved.value),
                readable(entry.value)
            ),
            format!(
                "{own} centred on the resolved value; `calibrated` applies where the subject \
                 takes the calibrated value itself (no disease, donor, cell-source or \
                 modification factor on `{name}`)"
            ),
        ));
    }
    let scale = Scale::of(param);
    Ok((
        Distribution::Calibrated {
            mu: scale.to_fit(entry.value),
            sigma: covariance.get(index, index).sqrt(),
            scale,
        },
        index,
    ))
}

/// One `[variability.parameters."NAME"]` table; `resolved` is the parameter's value in the
/// scenario, the default centre.
fn distribution(
    c: &Checker,
    raw: &Spanned<DistributionFile>,
    key: &str,
    param: Param,
    resolved: f64,
) -> Result<Distribution, InputError> {
    let d = raw.get_ref();
    let family = *d.distribution.get_ref();
    if let Some((stray, span)) = stray_key(d, family) {
        return Err(c.invalid(
            span,
            format!("{key}.{stray}"),
            format!(
                "`{stray}` does not describe a {} distribution",
                family_name(family)
            ),
            format!("remove `{stray}`, or change `distribution`"),
        ));
    }
    let accepted = format!("{} ({})", param.kind().range(), param.unit());
    let within = |v: &Spanned<f64>, name: &str| {
        c.number(
            v,
            &format!("{key}.{name}"),
            |x| param.kind().admits(x),
            &accepted,
        )
    };
    let positive = |v: &Spanned<f64>, name: &str, max: f64, what: &str| {
        c.number(v, &format!("{key}.{name}"), |x| x > 0.0 && x <= max, what)
    };
    let distribution = match family {
        Family::LogNormal => match (&d.cv, &d.range_95) {
            (Some(cv), None) => {
                let centre = match &d.geometric_mean {
                    Some(g) => positive(g, "geometric_mean", f64::MAX, "a number > 0")?,
                    None => resolved,
                };
                let cv = positive(cv, "cv", MAX_CV, &format!("a CV > 0 and <= {MAX_CV}"))?;
                if centre <= 0.0 {
                    return Err(c.invalid(
                        raw.span(),
                        format!("{key}.geometric_mean"),
                        format!(
                            "the resolved value of `{}` is {}, which no log-normal \
                             distribution has as its geometric mean",
                            param.name(),
                            readable(centre)
                        ),
                        "set `geometric_mean` > 0, or use `distribution = \"normal\"`",
                    ));
                }
                Distribution::LogNormal {
                    mu: centre.ln(),
                    sigma: (1.0 + cv * cv).ln().sqrt(),
                }
            }
            (None, Some(range)) => {
                if let Some(g) = &d.geometric_mean {
                    return Err(c.invalid(
                        g.span(),
                        format!("{key}.geometric_mean"),
                        "a 95 % range sets the geometric mean already (its geometric centre)",
                        "remove `geometric_mean`, or give `cv` instead of `range_95`",
                    ));
                }
                let (low, high) = pair(c, range, &format!("{key}.range_95"), true)?;
                Distribution::LogNormal {
                    mu: 0.5 * (low.ln() + high.ln()),
                    sigma: (high.ln() - low.ln()) / (2.0 * Z_975),
                }
            }
            (Some(cv), Some(_)) => {
                return Err(c.invalid(
                    cv.span(),
                    format!("{key}.cv"),
                    "both `cv` and `range_95` are given",
                    "keep exactly one of them",
                ))
            }
            (None, None) => {
                return Err(c.invalid(
                    raw.span(),
                    format!("{key}.cv"),
                    "a log-normal distribution needs its spread",
                    "add `cv = ...` (e.g. 0.3 for 30 %) or `range_95 = [low, high]`",
                ))
            }
        },
        Family::Normal => {
            let mean = match &d.mean {
                Some(m) => within(m, "mean")?,
                None => resolved,
            };
            let Some(sd) = &d.sd else {
                return Err(c.invalid(
                    raw.span(),
                    format!("{key}.sd"),
                    "a normal distribution needs its standard deviation",
                    "add `sd = ...`",
                ));
            };
            let sd = positive(sd, "sd", f64::MAX, "a standard deviation > 0")?;
            Distribution::Normal { mean, sd }
        }
        Family::Uniform => {
            let Some(range) = &d.range else {
                return Err(c.invalid(
                    raw.span(),
                    format!("{key}.range"),
                    "a uniform distribution needs its range",
                    "add `range = [low, high]`",
                ));
            };
            let (low, high) = pair(c, range, &format!("{key}.range"), false)?;
            for v in [low, high] {
                if !param.kind().admits(v) {
                    return Err(c.invalid(
                        range.span(),
                        format!("{key}.range"),
                        format!("{} is not {accepted}", readable(v)),
                        format!("keep `range` within {accepted}"),
                    ));
                }
            }
            Distribution::Uniform { low, high }
        }
        Family::Calibrated => unreachable!("`validate` reads a calibrated draw with `calibrated`"),
    };
    let median = distribution.median();
    if !param.kind().admits(median) {
        return Err(c.invalid(
            raw.span(),
            key,
            format!(
                "the distribution's median, {}, is not {accepted}: draws are truncated to \
                 that range, and most of them would be cut",
                readable(median)
            ),
            format!("centre the distribution within {accepted}"),
        ));
    }
    Ok(distribution)
}

/// `[low, high]` with low < high, both finite (and > 0 if `positive`).
fn pair(
    c: &Checker,
    raw: &Spanned<Vec<f64>>,
    key: &str,
    positive: bool,
) -> Result<(f64, f64), InputError> {
    let ok = match raw.get_ref().as_slice() {
        &[low, high] if low.is_finite() && high.is_finite() && low < high => {
            (!positive || low > 0.0).then_some((low, high))
        }
        _ => None,
    };
    ok.ok_or_else(|| {
        let need = if positive {
            "two numbers > 0, the lower first"
        } else {
            "two finite numbers, the lower first"
        };
        c.invalid(
            raw.span(),
            key,
            format!("{:?} is not {need}", raw.get_ref()),
            format!("write `[low, high]`: {need}"),
        )
    })
}

/// The Cholesky factor of the draws' correlation matrix, from `[[variability.correlation]]`.
fn correlations(
    c: &Checker,
    raw: &[Spanned<CorrelationFile>],
    draws: &[Draw],
) -> Result<Vec<f64>, InputError> {
    let n = draws.len();
    let mut matrix = vec![0.0; n * n];
    for i in 0..n {
        matrix[i * n + i] = 1.0;
    }
    // Pairs of calibrated draws: the calibration's correlation.
    let calibrated = Calibration::shipped().covariance();
    for (i, a) in draws.iter().enumerate() {
        for (j, b) in draws.iter().enumerate() {
            if let (Some(cov), Some(x), Some(y), true) =
                (calibrated, a.calibrated, b.calibrated, i != j)
            {
                matrix[i * n + j] = cov.get(x, y) / (cov.get(x, x) * cov.get(y, y)).sqrt();
            }
        }
    }
    // Which entry of `raw` set each pair, to blame it.
    let mut set_by = vec![None; n * n];
    for (k, entry) in raw.iter().enumerate() {
        let e = entry.get_ref();
        let key = format!("variability.correlation[{}]", k + 1);
        let index = |name: &String| {
            draws.iter().position(|d| d.param.name() == name).ok_or_else(|| {
                c.invalid(
                    e.parameters.span(),
                    format!("{key}.parameters"),
                    format!("`{name}` has no distribution in `[variability.parameters]`"),
                    format!("add `[variability.parameters.\"{name}\"]`, or correlate only varied parameters"),
                )
            })
        };
        let (i, j) = match e.parameters.get_ref().as_slice() {
            [a, b] => (index(a)?, index(b)?),
            _ => {
                return Err(c.invalid(
                    e.parameters.span(),
                    format!("{key}.parameters"),
                    "a correlation is between two parameters",
                    "write `parameters = [\"NAME\", \"OTHER\"]`",
                ))
            }
        };
        if i == j {
            return Err(c.invalid(
                e.parameters.span(),
                format!("{key}.parameters"),
                "a parameter is correlated with itself",
                "name two different parameters",
            ));
        }
        if draws[i].calibrated.is_some() && draws[j].calibrated.is_some() {
            return Err(c.invalid(
                e.parameters.span(),
                format!("{key}.parameters"),
                "both parameters are drawn from the calibration, whose covariance sets their \
                 correlation",
                "remove this correlation",
            ));
        }
        if let Some(earlier) = set_by[i * n + j] {
            return Err(c.invalid(
                e.parameters.span(),
                format!("{key}.parameters"),
                format!(
                    "the pair is already correlated by correlation[{}]",
                    earlier + 1
                ),
                "keep one correlation per pair",
            ));
        }
        let r = c.number(
            &e.r,
            &format!("{key}.r"),
            |r| r > -1.0 && r < 1.0,
            "a correlation > -1 and < 1",
        )?;
        for (a, b) in [(i, j), (j, i)] {
            matrix[a * n + b] = r;
            set_by[a * n + b] = Some(k);
        }
    }
    let factor = cholesky::lower(&matrix, n, MIN_PIVOT).map_err(|row| {
        let name = draws[row].param.name();
        // The first correlation of the parameter whose pivot failed.
        let span = (0..row)
            .filter_map(|col| set_by[row * n + col])
            .min()
            .map_or(0..0, |k| raw[k].span());
        c.invalid(
            span,
            "variability.correlation",
            format!(
                "the correlations are not positive definite: no joint distribution has them \
                 (the matrix fails at `{name}`, against the parameters before it)"
            ),
            format!(
                "weaken the correlations of `{name}`, or make them consistent (if A and B \
                 are strongly correlated, each correlates with a third as the other does)"
            ),
        )
    })?;
    Ok(factor)
}
