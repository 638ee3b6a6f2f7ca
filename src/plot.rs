//! TEMPORARY stub until the plotting module lands.
#![allow(missing_docs)]
pub struct Series {
    pub label: String,
    pub values: Vec<f64>,
}
pub struct DoseMark {
    pub start_day: f64,
    pub end_day: f64,
}
pub enum YScale {
    Linear,
    Log,
}
pub struct PlotInput<'a> {
    pub title: &'a str,
    pub y_label: &'a str,
    pub time_days: &'a [f64],
    pub series: &'a [Series],
    pub doses: &'a [DoseMark],
    pub y_scale: YScale,
}
#[derive(Debug, thiserror::Error)]
#[error("stub")]
pub struct PlotError;
pub fn render_png(_input: &PlotInput) -> Result<Vec<u8>, PlotError> {
    Ok(vec![])
}
pub fn render_svg(_input: &PlotInput) -> Result<String, PlotError> {
    Ok(String::new())
}
