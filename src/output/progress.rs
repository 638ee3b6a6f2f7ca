//! The progress bar of long parallel work (a sweep's points, a population's subjects).

use std::io::IsTerminal;

/// A progress bar on stderr counting `len` `unit`s when stderr is a terminal, hidden
/// otherwise (a log file would fill with redraws).
pub fn progress_bar(len: u64, unit: &'static str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{bar:40}} {{pos}}/{{len}} {unit}  {{rate}}  eta {{eta}}"
        ))
        .expect("the progress template is valid")
        // indicatif's own `{per_sec}` prints four decimals of a rate in the millions.
        .with_key(
            "rate",
            move |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0} {unit}/s", state.per_sec());
            },
        ),
    );
    bar
}
