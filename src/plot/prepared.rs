//! Input validation and the figure's derived ranges, computed once before
//! drawing starts.
//!
//! Checking everything up front means a bad input fails with a precise
//! [`PlotError`] before any drawing starts. [`Prepared`] serves the time course; the checks the
//! sweep figures share (grid coordinates, series lengths, no infinities) are
//! the free functions at the end.

use super::axis::{Ticks, YAxis};
use super::{PlotError, PlotInput, Series, YScale};

/// An infusion spanning less than this fraction of the time axis (about
/// 14 px of a 1400 px axis) would be a sliver hidden beneath the curves: it
/// is marked like a bolus instead, and the legend has no "Infusion" entry
/// for it.
const MIN_BAND_FRACTION: f64 = 0.01;

/// Validated input plus the derived axes, computed once and shared by every part of the drawing.
pub(super) struct Prepared {
    /// X range in days.
    pub(super) x_range: (f64, f64),
    /// Y axis in "axis space" (log10 of the value for a log axis).
    pub(super) y_axis: YAxis,
    /// Tick positions and labels on the x axis.
    pub(super) x_ticks: Ticks,
    /// Dose marks clipped to the x range, `(start, end)` in days; an
    /// infusion too short to show as a band has `end == start` (a bolus mark).
    pub(super) doses: Vec<(f64, f64)>,
}

impl Prepared {
    /// Checks `input` (see [`PlotError`] for what is rejected) and derives the axes.
    pub(super) fn new(input: &PlotInput) -> Result<Self, PlotError> {
        let times = input.time_days;
        let (first, last) = match (times.first(), times.last()) {
            (Some(&first), Some(&last)) => (first, last),
            _ => return Err(PlotError::Empty { field: "time_days" }),
        };
        if input.series.is_empty() {
            return Err(PlotError::Empty { field: "series" });
        }
        for (index, &value) in times.iter().enumerate() {
            if !value.is_finite() {
                return Err(PlotError::NonFiniteCoordinate {
                    field: "time_days",
                    index,
                    value,
                });
            }
            if index > 0 && value < times[index - 1] {
                return Err(PlotError::TimeNotSorted { index, value });
            }
        }
        for series in input.series {
            if series.values.len() != times.len() {
                return Err(PlotError::SeriesSizeMismatch {
                    label: series.label.clone(),
                    expected: times.len(),
                    actual: series.values.len(),
                    of: "time points",
                });
            }
            if let Some((index, &value)) = series
                .values
                .iter()
                .enumerate()
                .find(|(_, v)| !v.is_finite())
            {
                return Err(PlotError::NonFiniteValue {
                    label: series.label.clone(),
                    index,
                    value,
                });
            }
        }
        for (index, dose) in input.doses.iter().enumerate() {
            let ok = dose.start_day.is_finite()
                && dose.end_day.is_finite()
                && dose.end_day >= dose.start_day;
            if !ok {
                return Err(PlotError::InvalidDose {
                    index,
                    start_day: dose.start_day,
                    end_day: dose.end_day,
                });
            }
        }

        // A single instant cannot span an axis; pad half a day either side.
        let x_range = if last > first {
            (first, last)
        } else {
            (first - 0.5, last + 0.5)
        };
        let doses = input
            .doses
            .iter()
            .filter(|d| d.end_day >= x_range.0 && d.start_day <= x_range.1)
            .map(|d| (d.start_day.max(x_range.0), d.end_day.min(x_range.1)))
            .map(|(a, b)| {
                let visible = b - a >= MIN_BAND_FRACTION * (x_range.1 - x_range.0);
                (a, if visible { b } else { a })
            })
            .collect();
        let all_values = || input.series.iter().flat_map(|s| s.values.iter().copied());
        let y_axis = match input.y_scale {
            YScale::Linear => YAxis::linear(all_values()),
            YScale::Log => YAxis::log(all_values()),
        };
        Ok(Self {
            x_range,
            y_axis,
            x_ticks: Ticks::linear(x_range.0, x_range.1, true),
            doses,
        })
    }
}

/// Checks the coordinates of a sweep figure's axis (`field` names the input
/// in errors): at least one, all finite, strictly increasing, and positive on
/// a logarithmic axis.
pub(super) fn check_coordinates(
    values: &[f64],
    log: bool,
    field: &'static str,
) -> Result<(), PlotError> {
    if values.is_empty() {
        return Err(PlotError::Empty { field });
    }
    for (index, &value) in values.iter().enumerate() {
        if !value.is_finite() {
            return Err(PlotError::NonFiniteCoordinate {
                field,
                index,
                value,
            });
        }
        if log && value <= 0.0 {
            return Err(PlotError::NonPositiveOnLogAxis {
                field,
                index,
                value,
            });
        }
        if index > 0 && value <= values[index - 1] {
            return Err(PlotError::CoordinatesNotIncreasing {
                field,
                index,
                value,
            });
        }
    }
    Ok(())
}

/// Checks the series of a sweep figure (`field` names the input in errors):
/// at least one, each with `expected` values (one per entry of `of`), none
/// infinite. NaN is allowed: it marks a missing value.
pub(super) fn check_sweep_series(
    series: &[Series],
    field: &'static str,
    expected: usize,
    of: &'static str,
) -> Result<(), PlotError> {
    if series.is_empty() {
        return Err(PlotError::Empty { field });
    }
    for s in series {
        if s.values.len() != expected {
            return Err(PlotError::SeriesSizeMismatch {
                label: s.label.clone(),
                expected,
                actual: s.values.len(),
                of,
            });
        }
        check_not_infinite(&s.label, &s.values)?;
    }
    Ok(())
}

/// Rejects infinite values (NaN is fine: it marks a missing value).
pub(super) fn check_not_infinite(label: &str, values: &[f64]) -> Result<(), PlotError> {
    match values.iter().position(|v| v.is_infinite()) {
        Some(index) => Err(PlotError::InfiniteValue {
            label: label.to_owned(),
            index,
            value: values[index],
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::input;
    use super::super::{time_course, DoseMark, Series};
    use super::*;

    #[test]
    fn an_infusion_too_short_to_see_is_marked_as_a_bolus() {
        let (times, series) = super::super::tests::demo_series(1);
        let doses = [(1.0, 1.0 + 1.0 / 24.0), (2.0, 4.0)]
            .map(|(start_day, end_day)| DoseMark { start_day, end_day });
        let prep = Prepared::new(&input(&times, &series, &doses, YScale::Log)).expect("valid");
        assert_eq!(prep.doses, [(1.0, 1.0), (2.0, 4.0)]);
        let short = time_course(&input(&times, &series, &doses[..1], YScale::Log)).expect("draws");
        assert!(short.svg.contains("Dose") && !short.svg.contains("Infusion"));
    }

    #[test]
    fn mismatched_lengths_are_rejected() {
        let times = [0.0, 1.0, 2.0];
        let series = [Series {
            label: "short".into(),
            values: vec![1.0, 2.0],
        }];
        let err = time_course(&input(&times, &series, &[], YScale::Linear)).expect_err("must fail");
        assert!(matches!(
            err,
            PlotError::SeriesSizeMismatch { ref label, expected: 3, actual: 2, .. } if label == "short"
        ));
    }

    #[test]
    fn invalid_inputs_are_rejected() {
        let times = [0.0, 1.0];
        let nan = [Series {
            label: "nan".into(),
            values: vec![1.0, f64::NAN],
        }];
        assert!(matches!(
            time_course(&input(&times, &nan, &[], YScale::Log)),
            Err(PlotError::NonFiniteValue { index: 1, .. })
        ));
        let ok = [Series {
            label: "ok".into(),
            values: vec![1.0, 2.0],
        }];
        assert!(matches!(
            time_course(&input(&[], &[], &[], YScale::Log)),
            Err(PlotError::Empty { field: "time_days" })
        ));
        assert!(matches!(
            time_course(&input(&times, &[], &[], YScale::Log)),
            Err(PlotError::Empty { field: "series" })
        ));
        assert!(matches!(
            time_course(&input(&[1.0, 0.0], &ok, &[], YScale::Log)),
            Err(PlotError::TimeNotSorted { index: 1, .. })
        ));
        let backwards = [DoseMark {
            start_day: 1.0,
            end_day: 0.5,
        }];
        assert!(matches!(
            time_course(&input(&times, &ok, &backwards, YScale::Log)),
            Err(PlotError::InvalidDose { index: 0, .. })
        ));
    }
}
