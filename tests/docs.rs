//! Documentation generated from the code stays in step with it.

use std::path::Path;

use cellpk::output::resolved;
use cellpk::scenario;

/// docs/parameters.md holds `cellpk params --markdown` of its two reference scenarios, as
/// the code resolves them now: regenerate the file's tables when this fails.
#[test]
fn the_parameter_tables_in_the_docs_match_the_code() {
    let doc = std::fs::read_to_string("docs/parameters.md").expect("docs/parameters.md");
    for file in [
        "scenarios/mouse_tail_vein.toml",
        "scenarios/human_decompensated_peripheral_vein.toml",
    ] {
        let s = scenario::load(Path::new(file)).expect("a shipped scenario");
        let table = resolved::params_markdown(&s);
        assert!(
            doc.contains(&table),
            "docs/parameters.md is out of date for {file}: regenerate it with \
             `cellpk params {file} --markdown`"
        );
    }
}
