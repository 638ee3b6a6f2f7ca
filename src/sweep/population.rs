//! Population sweeps: with `[population]` in the sweep file, every point runs N virtual
//! subjects of the base scenario's `[variability]`, and its row holds quantiles of each
//! metric and the share of subjects reaching a target instead of one value.
//!
//! The subjects are the same at every point (common random numbers): subject i's draws
//! come from the seed and i alone (`population::sample`), so the difference between two
//! points is the difference the axes make to the same patients, not sampling noise, and a
//! point's quantiles are those `cellpk population` gives for that point's scenario, to the
//! bit (both solve a subject through `population::subject_metrics`).

use std::ops::Range;

use toml::Spanned;

use super::file::PopulationFile;
use super::{metric_by_name, Axis};
use crate::error::InputError;
use crate::metrics::Metric;
use crate::population::{self, QUANTILES};
use crate::scenario::{Checker, Scenario};

/// Fewest subjects a point accepts: quantiles of one subject are its value.
pub const MIN_SUBJECTS: usize = 2;

/// What a sweep's `[population]` asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Population {
    /// Subjects per point.
    pub n: usize,
    /// The targets whose share of subjects is reported, in metric order.
    pub goals: Vec<Goal>,
}

/// A target a subject reaches: a metric at least a value, or (for a time above a
/// threshold with no value given) above zero: the threshold crossed at all.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Goal {
    /// The metric.
    pub metric: Metric,
    /// The least value that reaches it; `None`: any value above 0.
    pub at_least: Option<f64>,
}

impl Goal {
    /// Whether `value` reaches the target (a missing value, NaN, does not).
    pub fn reached(self, value: f64) -> bool {
        match self.at_least {
            Some(t) => value >= t,
            None => value > 0.0,
        }
    }

    /// The target in words, e.g. "days liver above threshold >= 14 days".
    pub fn words(self) -> String {
        let name = self.metric.words().to_lowercase();
        match self.at_least {
            Some(t) => format!("{name} >= {t} {}", self.metric.unit()),
            None => format!("{name} > 0"),
        }
    }
}

/// Metrics that are a time above a threshold: a share of subjects reaching them is
/// reported even without a target (any time above it).
const TIMES_ABOVE: [Metric; 2] = [Metric::DaysLiverAboveThreshold, Metric::DaysImproved];

/// What a CSV column holds for its metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    /// The value (a sweep without `[population]`).
    Value,
    /// `QUANTILES[k]` over the point's subjects.
    Quantile(usize),
    /// The share of the point's subjects reaching the metric's goal.
    Reached,
}

/// One metric column of a sweep's CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The metric.
    pub metric: Metric,
    /// Which statistic of it.
    pub stat: Stat,
}

impl Column {
    /// The CSV header: `liver_auc`, `liver_auc_p50`, `days_liver_above_threshold_reached`.
    pub fn name(self) -> String {
        let m = self.metric.name();
        match self.stat {
            Stat::Value => m.to_string(),
            Stat::Quantile(k) => format!("{m}_p{}", (QUANTILES[k] * 100.0).round()),
            Stat::Reached => format!("{m}_reached"),
        }
    }

    /// The unit of the column's values.
    pub fn unit(self) -> &'static str {
        match self.stat {
            Stat::Reached => "share of subjects",
            _ => self.metric.unit(),
        }
    }
}

/// The metric columns: each metric's value, or with a population its quantiles and, when
/// it has a goal, the share reaching it.
pub fn columns(metrics: &[Metric], population: Option<&Population>) -> Vec<Column> {
    let Some(p) = population else {
        return metrics
            .iter()
            .map(|&metric| Column {
                metric,
                stat: Stat::Value,
            })
            .collect();
    };
    let mut columns = Vec::new();
    for &metric in metrics {
        columns.extend((0..QUANTILES.len()).map(|k| Column {
            metric,
            stat: Stat::Quantile(k),
        }));
        if p.goals.iter().any(|g| g.metric == metric) {
            columns.push(Column {
                metric,
                stat: Stat::Reached,
            });
        }
    }
    columns
}

/// The column values of one point of a population sweep, `scenario` being the point's
/// (with its `[variability]`) and `columns` those of `metrics`: subject by subject on this
/// thread, since the sweep runs points in parallel. Each metric's values are kept once
/// (N doubles), whatever its number of columns. Err: the message for the row's `error`.
pub fn point_values(
    p: &Population,
    scenario: &Scenario,
    metrics: &[Metric],
    columns: &[Column],
) -> Result<Vec<f64>, String> {
    let variability = scenario
        .variability
        .as_ref()
        .expect("a population sweep's base has `[variability]` (checked at load)");
    let mut values: Vec<Vec<f64>> = vec![Vec::with_capacity(p.n); metrics.len()];
    for i in 0..p.n {
        let (_, m) = population::subject_metrics(scenario, variability, i)
            .map_err(|e| format!("population: {e}"))?;
        for (v, metric) in values.iter_mut().zip(metrics) {
            v.push(metric.value(&m));
        }
    }
    // Per metric: the share reaching its goal (a missing value, NaN, does not), then the
    // quantiles, which sort the values and leave NaN out.
    let stats: Vec<(f64, [f64; 5])> = metrics
        .iter()
        .zip(values)
        .map(|(&metric, mut v)| {
            let goal = p.goals.iter().find(|g| g.metric == metric);
            let reached = goal.map_or(f64::NAN, |g| {
                v.iter().filter(|&&x| g.reached(x)).count() as f64 / p.n as f64
            });
            (reached, population::sorted_quantiles(&mut v))
        })
        .collect();
    Ok(columns
        .iter()
        .map(|c| {
            let (reached, quantiles) = stats[metrics
                .iter()
                .position(|&m| m == c.metric)
                .expect("every column is of a reported metric")];
            match c.stat {
                Stat::Quantile(k) => quantiles[k],
                Stat::Reached => reached,
                Stat::Value => unreachable!("a population sweep has no value columns"),
            }
        })
        .collect())
}

/// Reads `[population]`: `n` and `targets`, checked against the base scenario (which
/// must have `[variability]`), the metric columns and the axes (none may set a varied
/// parameter, whose value the subjects draw).
pub(super) fn parse(
    c: &Checker,
    raw: &Spanned<PopulationFile>,
    base: &Scenario,
    axes: &[(Axis, Range<usize>)],
    metrics: &[Metric],
) -> Result<Population, InputError> {
    let Some(variability) = &base.variability else {
        return Err(c.invalid(
            raw.span(),
            "population",
            "the base scenario has no `[variability]`: every subject would be the same",
            "add `[variability.parameters.\"NAME\"]` with a distribution to the base scenario \
             (docs/uncertainty.md), or remove `[population]`",
        ));
    };
    let f = raw.get_ref();
    let max = population::MAX_SUBJECTS;
    let n = usize::try_from(*f.n.get_ref())
        .ok()
        .filter(|n| (MIN_SUBJECTS..=max).contains(n))
        .ok_or_else(|| {
            c.invalid(
                f.n.span(),
                "population.n",
                format!(
                    "{} is not a number of subjects from {MIN_SUBJECTS} to {max}",
                    f.n.get_ref()
                ),
                format!(
                    "set `n` from {MIN_SUBJECTS} (quantiles need two subjects) to {max} \
                     (every point keeps its subjects' metrics in memory); a few hundred \
                     put the 5 % quantile within a few percentage points"
                ),
            )
        })?;
    for (i, (axis, span)) in axes.iter().enumerate() {
        if let super::Target::Parameter(p) = axis.target {
            if variability.draws.iter().any(|d| d.param == p) {
                return Err(c.invalid(
                    span.clone(),
                    format!("axis[{}].path", i + 1),
                    format!(
                        "`{}` is set by this axis and drawn for every subject by the base \
                         scenario's `[variability.parameters.\"{}\"]`",
                        axis.path,
                        p.name()
                    ),
                    format!(
                        "remove the axis, or the parameter's distribution from the base \
                         scenario's `[variability]` (a sweep cannot set a value every subject \
                         draws); to sweep the centre of `{}`, use one base scenario per centre",
                        p.name()
                    ),
                ));
            }
        }
    }
    let mut goals = Vec::new();
    let given = f.targets.as_ref();
    if let Some(targets) = given {
        for (name, &value) in targets.get_ref() {
            let key = format!("population.targets.{name}");
            let metric = metric_by_name(name)
                .filter(|m| metrics.contains(m))
                .ok_or_else(|| {
                    c.invalid(
                        targets.span(),
                        &key,
                        format!("`{name}` is not a metric column of this sweep"),
                        "name a metric listed in `[output] metrics` (every metric when it is \
                         absent), e.g. `days_liver_above_threshold = 14`",
                    )
                })?;
            if !value.is_finite() {
                return Err(c.invalid(
                    targets.span(),
                    &key,
                    format!("{value} is not a finite number"),
                    format!("give the least value of `{name}` that reaches the target"),
                ));
            }
            goals.push(Goal {
                metric,
                at_least: Some(value),
            });
        }
    }
    for &metric in &TIMES_ABOVE {
        if metrics.contains(&metric) && !goals.iter().any(|g| g.metric == metric) {
            goals.push(Goal {
                metric,
                at_least: None,
            });
        }
    }
    goals.sort_by_key(|g| Metric::ALL.iter().position(|&m| m == g.metric));
    Ok(Population { n, goals })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_named_for_their_statistic_and_goals_count_missing_values_out() {
        let p = Population {
            n: 2,
            goals: vec![Goal {
                metric: Metric::DaysLiverAboveThreshold,
                at_least: Some(14.0),
            }],
        };
        let metrics = [Metric::LiverAuc, Metric::DaysLiverAboveThreshold];
        let names: Vec<String> = columns(&metrics, Some(&p))
            .into_iter()
            .map(Column::name)
            .collect();
        assert_eq!(
            names[..5],
            [
                "liver_auc_p5",
                "liver_auc_p25",
                "liver_auc_p50",
                "liver_auc_p75",
                "liver_auc_p95"
            ]
        );
        assert_eq!(
            names[9..],
            [
                "days_liver_above_threshold_p95",
                "days_liver_above_threshold_reached"
            ]
        );
        assert_eq!(
            columns(&metrics, None)[1].name(),
            "days_liver_above_threshold"
        );
        let goal = p.goals[0];
        assert!(goal.reached(14.0) && !goal.reached(13.9) && !goal.reached(f64::NAN));
        let any = Goal {
            at_least: None,
            ..goal
        };
        assert!(any.reached(1e-9) && !any.reached(0.0));
        assert_eq!(goal.words(), "days liver above threshold >= 14 days");
    }
}
