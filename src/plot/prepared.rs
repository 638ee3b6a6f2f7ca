//! Input checks and the time course's derived ranges ([`Prepared`]), computed before
//! drawing starts, so a bad input fails with a precise [`PlotError`]; the checks the
//! other figures share are the free functions.

use super::axis::{Ticks, YAxis};
use super::{PlotError, PlotInput, Series, YScale};

/// An infusion spanning less than this fraction of the time axis (about
/// 14 px of a 1400 px axis) would be a sliver hidden beneath the curves: it
/// is marked like a bolus instead, and the legend has no "Infusion" entry
/// for it.
const MIN_BAND_FRACTION: f64 = 0.01;

/// Validated input plus the derived axes, computed once and shared by every part of the drawing.
pub(super) struct Prepared {
    /// X axis in days.
    pub(super) x_axis: YAxis,
    /// Y axis in "axis space" (log10 of the value for a log axis).
    pub(super) y_axis: YAxis,
    /// Dose marks clipped to the x range, `(start, end)` in days; an
    /// infusion too short to show as a band has `end == start` (a bolus mark).
    pub(super) doses: Vec<(f64, f64)>,
}

impl Prepared {
    /// Checks `input` (see [`PlotError`] for what is rejected) and derives the axes.
    pub(super) fn new(input: &PlotInput) -> Result<Self, PlotError> {
        let times = input.time_days;
        let (Some(&first), Some(&last)) = (times.first(), times.last()) else {
            return Err(PlotError::Empty { field: "time_days" });
        };
        if input.series.is_empty() {
            return Err(PlotError::Empty { field: "series" });
        }
        check_coordinates(times, false, "time_days")?;
        for series in input.series {
            let label = &series.label;
            check_length(label, times.len(), series.values.len(), "time points")?;
            if let Some((index, value)) = first_non_finite(&series.values) {
                let label = label.clone();
                return Err(PlotError::NonFiniteValue {
                    label,
                    index,
                    value,
                });
            }
        }
        for (index, dose) in input.doses.iter().enumerate() {
            let (start_day, end_day) = (dose.start_day, dose.end_day);
            if first_non_finite(&[start_day, end_day]).is_some() || end_day < start_day {
                return Err(PlotError::InvalidDose {
                    index,
                    start_day,
                    end_day,
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
        let x_axis = YAxis {
            lo: x_range.0,
            hi: x_range.1,
            log_floor: None,
            ticks: Ticks::linear(x_range.0, x_range.1, true),
        };
        Ok(Self {
            x_axis,
            y_axis,
            doses,
        })
    }
}

/// The first value of `values` that is NaN or infinite, and where it is.
pub(super) fn first_non_finite(values: &[f64]) -> Option<(usize, f64)> {
    values
        .iter()
        .copied()
        .enumerate()
        .find(|(_, v)| !v.is_finite())
}

/// [`PlotError::SeriesSizeMismatch`] unless `label`'s `actual` number of values is the
/// `expected` one (one per entry of `of`).
pub(super) fn check_length(
    label: &str,
    expected: usize,
    actual: usize,
    of: &'static str,
) -> Result<(), PlotError> {
    if actual == expected {
        return Ok(());
    }
    let label = label.to_owned();
    Err(PlotError::SeriesSizeMismatch {
        label,
        expected,
        actual,
        of,
    })
}

/// Checks the coordinates of an axis (`field` names the input in errors): at least one,
/// all finite, positive on a logarithmic axis, and increasing: strictly on a sweep grid,
/// while the time course may repeat a time point (a run's output before and after a dose).
pub(super) fn check_coordinates(
    values: &[f64],
    log: bool,
    field: &'static str,
) -> Result<(), PlotError> {
    if values.is_empty() {
        return Err(PlotError::Empty { field });
    }
    for (index, &value) in values.iter().enumerate() {
        let rule = if !value.is_finite() {
            "coordinates must be finite numbers"
        } else if log && value <= 0.0 {
            "a logarithmic axis needs values > 0"
        } else if index == 0 {
            continue;
        } else if field == "time_days" && value < values[index - 1] {
            "time points must not decrease"
        } else if field != "time_days" && value <= values[index - 1] {
            "sweep coordinates must increase strictly"
        } else {
            continue;
        };
        return Err(PlotError::BadCoordinate {
            field,
            index,
            value,
            rule,
        });
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
        check_length(&s.label, expected, s.values.len(), of)?;
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
    use super::super::tests::{demo_series, dose, error, input, series};
    use super::super::time_course;
    use super::*;

    #[test]
    fn an_infusion_too_short_to_see_is_marked_as_a_bolus() {
        let (times, series) = demo_series(1);
        let doses = [dose(1.0, 1.0 + 1.0 / 24.0), dose(2.0, 4.0)];
        let prep = Prepared::new(&input(&times, &series, &doses, YScale::Log)).expect("valid");
        assert_eq!(prep.doses, [(1.0, 1.0), (2.0, 4.0)]);
        let short = time_course(&input(&times, &series, &doses[..1], YScale::Log)).expect("draws");
        assert!(short.svg.contains("Dose") && !short.svg.contains("Infusion"));
    }

    #[test]
    fn invalid_inputs_are_rejected() {
        let times = [0.0, 1.0];
        let fails = |times: &[f64], series: &[Series], doses| {
            error(time_course(&input(times, series, doses, YScale::Log)))
        };
        let short = [series("short", &times[..1], |_| 1.0)];
        let nan = [series("nan", &times, |t| (-t).sqrt())];
        let ok = [series("ok", &times, |t| t + 1.0)];
        let cases = [
            (
                fails(&times, &short, &[]),
                "has 1 values but there are 2 time",
            ),
            (fails(&times, &nan, &[]), "value (NaN) at time point 1"),
            (fails(&[], &[], &[]), "`time_days` is empty"),
            (fails(&times, &[], &[]), "`series` is empty"),
            (
                fails(&[1.0, 0.0], &ok, &[]),
                "`time_days[1]` is 0, but time points must not decrease",
            ),
            (
                fails(&times, &ok, &[dose(1.0, 0.5)]),
                "start 1 d, end 0.5 d",
            ),
        ];
        for (got, want) in cases {
            assert!(got.contains(want), "{got}");
        }
    }
}
