//! Documentation generated from the code stays in step with it.

use std::path::Path;

use cellpk::observe::{self, Organ};
use cellpk::output::resolved;
use cellpk::presets::Choice;
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

/// The model's columns of docs/validation.md's held-out table are what
/// `docs/heldout/gholamrezanezhad2011.toml` predicts now (lungs, liver and spleen at 1 h
/// and day 10): rerun `cellpk run` on it and update the table when this fails. Only the
/// model's columns are checked; the study's are data.
#[test]
fn the_held_out_table_shows_the_current_model() {
    let doc = std::fs::read_to_string("docs/validation.md").expect("docs/validation.md");
    let s = scenario::load(Path::new("docs/heldout/gholamrezanezhad2011.toml"))
        .expect("the held-out design is valid");
    let signals = observe::predict(&s, &[1.0, 240.0]).expect("simulates");
    let shown = |v: f64| {
        if v >= 1.0 {
            format!("{v:.0} %")
        } else {
            format!("{v:.2} %")
        }
    };
    for (region, organ) in [
        ("lungs", Organ::Lung),
        ("liver", Organ::Liver),
        ("spleen", Organ::Spleen),
    ] {
        let row = doc
            .lines()
            .find(|l| l.starts_with(&format!("| {region} | ")))
            .unwrap_or_else(|| panic!("no {region} row in the held-out table"));
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let p = organ.position();
        let model = [shown(signals.percent[0][p]), shown(signals.percent[1][p])];
        assert_eq!(
            [cells[3], cells[5]],
            [model[0].as_str(), model[1].as_str()],
            "docs/validation.md's held-out {region} row is out of date: the model now gives \
             {} at 1 h and {} at day 10",
            model[0],
            model[1]
        );
    }
}

/// The Kubernetes indexed Job in docs/cluster.md (its ```yaml block), checked for what the
/// recipe relies on: indexed completions, 1-based shards from the 0-based
/// `JOB_COMPLETION_INDEX` covering every slice once, `--resume` with results on a persistent
/// volume (so a retried pod continues its partial file), and a configMap layout that keeps
/// the sweep's relative path to its base scenario (the sweep loads from the mounted files).
/// The Slurm recipe is run for real by tests/slurm/run.sh.
#[test]
fn the_kubernetes_manifest_in_the_cluster_docs_holds_together() {
    let doc = std::fs::read_to_string("docs/cluster.md").expect("docs/cluster.md");
    let yaml = doc
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("docs/cluster.md has a ```yaml block");
    let job = yaml::parse(yaml);
    assert_eq!(job.str("apiVersion"), "batch/v1");
    assert_eq!(job.str("kind"), "Job");
    assert_eq!(
        job.str("spec.completionMode"),
        "Indexed",
        "JOB_COMPLETION_INDEX is only set for indexed Jobs"
    );
    let completions: u64 = job.str("spec.completions").parse().expect("a count");
    let backoff: u64 = job.str("spec.backoffLimit").parse().expect("a count");
    assert!(
        backoff >= 1,
        "a failed pod must be retried: that is what --resume is for"
    );
    let pod = job.get("spec.template.spec");
    assert!(matches!(pod.str("restartPolicy"), "OnFailure" | "Never"));
    let container = pod.get("containers.0");
    assert_eq!(
        container.strings("command"),
        ["/bin/sh", "-c"],
        "the shard's $((...)) arithmetic needs a shell"
    );
    let line = container.str("args.0");
    let words = shell_words(line);
    let after = |flag: &str| {
        let i = words.iter().position(|w| w == flag);
        i.and_then(|i| words.get(i + 1))
            .map(String::as_str)
            .unwrap_or_else(|| panic!("the Job's command has no {flag} VALUE: {line}"))
    };
    assert_eq!(words[..2], ["cellpk", "sweep"], "{line}");
    assert!(
        words.iter().any(|w| w == "--resume"),
        "a retried pod must continue its partial file: {line}"
    );

    // Shards: `$((JOB_COMPLETION_INDEX + C))/D`, evaluated for every index 0..completions,
    // must give each of the shards 1..=completions exactly once.
    let shard = after("--shard");
    let (sum, of) = shard
        .strip_prefix("$((JOB_COMPLETION_INDEX + ")
        .and_then(|s| s.split_once("))/"))
        .unwrap_or_else(|| panic!("--shard {shard} is not $((JOB_COMPLETION_INDEX + C))/N"));
    let (plus, of): (u64, u64) = (sum.parse().expect("C"), of.parse().expect("N"));
    let shards: Vec<u64> = (0..completions)
        .map(|index| {
            let text = format!("{}/{of}", index + plus);
            let parsed = cellpk::sweep::run::Shard::parse(&text)
                .unwrap_or_else(|e| panic!("index {index} gives {e}"));
            assert_eq!(parsed.n, completions, "--shard K/N with N = completions");
            parsed.k
        })
        .collect();
    assert_eq!(shards, (1..=completions).collect::<Vec<_>>());

    // Threads as many as the CPUs the pod may use.
    assert_eq!(after("--threads"), container.str("resources.limits.cpu"));

    // Volumes: results on a persistent claim, writable; the sweep and its base scenario
    // from a configMap, laid out so the sweep's relative `base` resolves.
    let mounts = container.get("volumeMounts").items();
    let volumes = pod.get("volumes").items();
    let volume_at = |dir: &str| {
        let mount = mounts
            .iter()
            .find(|m| {
                dir == m.str("mountPath") || dir.starts_with(&format!("{}/", m.str("mountPath")))
            })
            .unwrap_or_else(|| panic!("no volume is mounted at {dir}"));
        let volume = volumes
            .iter()
            .find(|v| v.str("name") == mount.str("name"))
            .unwrap_or_else(|| panic!("no volume named {}", mount.str("name")));
        (mount, volume)
    };
    let (results_mount, results) = volume_at(after("--out"));
    assert!(
        results.has("persistentVolumeClaim"),
        "shards must outlive pods"
    );
    assert!(!results_mount.has("readOnly"));

    let sweep_path = &words[2];
    let (work_mount, work) = volume_at(sweep_path);
    let sweep_rel = &sweep_path[work_mount.str("mountPath").len() + 1..];
    let root = tempfile::tempdir().expect("a temporary directory");
    for item in work.get("configMap.items").items() {
        // Each key holds the repository's file at the item's path.
        let path = item.str("path");
        let to = root.path().join(path);
        std::fs::create_dir_all(to.parent().expect("a directory")).expect("mkdir");
        std::fs::copy(path, &to).unwrap_or_else(|e| {
            panic!("configMap item {path}: not in the repository ({e}), whose layout it keeps")
        });
    }
    let sweep = cellpk::sweep::load(&root.path().join(sweep_rel));
    assert!(
        sweep.is_ok(),
        "the sweep does not load from the configMap's layout: {:?}",
        sweep.err()
    );
}

/// A shell command line's words, with their quotes removed (no escapes or expansions).
fn shell_words(line: &str) -> Vec<String> {
    let (mut words, mut word, mut quote, mut started) = (Vec::new(), String::new(), None, false);
    for c in line.chars() {
        match (quote, c) {
            (None, '"' | '\'') => (quote, started) = (Some(c), true),
            (Some(q), _) if q == c => quote = None,
            (None, c) if c.is_whitespace() => {
                if std::mem::take(&mut started) {
                    words.push(std::mem::take(&mut word));
                }
            }
            _ => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        words.push(word);
    }
    words
}

/// Just enough YAML for the manifest in docs/cluster.md: block mappings and sequences,
/// flow mappings and sequences of plain or quoted scalars, folded scalars (`>-`) and
/// comments.
mod yaml {
    /// A parsed node.
    #[derive(Debug)]
    pub enum Node {
        Scalar(String),
        Seq(Vec<Node>),
        Map(Vec<(String, Node)>),
    }

    pub fn parse(text: &str) -> Node {
        let mut lines: Vec<(usize, String)> = text
            .lines()
            .map(strip_comment)
            .filter(|l| !l.trim().is_empty())
            .map(|l| (l.len() - l.trim_start().len(), l.trim().to_string()))
            .collect();
        let mut i = 0;
        let node = block(&mut lines, &mut i, 0);
        assert_eq!(i, lines.len(), "unparsed YAML from: {:?}", lines.get(i));
        node
    }

    fn strip_comment(line: &str) -> &str {
        let mut quote = None;
        let mut previous = ' ';
        for (at, c) in line.char_indices() {
            match (quote, c) {
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), _) if q == c => quote = None,
                (None, '#') if previous.is_whitespace() => return &line[..at],
                _ => {}
            }
            previous = c;
        }
        line
    }

    fn block(lines: &mut [(usize, String)], i: &mut usize, indent: usize) -> Node {
        if lines[*i].1.starts_with('-') {
            let mut items = Vec::new();
            while *i < lines.len() && lines[*i].0 == indent && lines[*i].1.starts_with('-') {
                // The item's text stands at its own column, as if on a line of its own.
                let after = &lines[*i].1[1..];
                let column = indent + 1 + after.len() - after.trim_start().len();
                lines[*i] = (column, after.trim_start().to_string());
                items.push(block(lines, i, column));
            }
            return Node::Seq(items);
        }
        let first = lines[*i].1.clone();
        if first == ">-" || first == ">" {
            // A sequence item's folded scalar: its lines stand at the item's column.
            *i += 1;
            return folded(lines, i, indent);
        }
        if first.starts_with(['{', '[']) || key_value(&first).is_none() {
            *i += 1;
            return flow(&first);
        }
        let mut map = Vec::new();
        while *i < lines.len() && lines[*i].0 == indent {
            let (key, rest) = key_value(&lines[*i].1)
                .unwrap_or_else(|| panic!("not `key: value`: {}", lines[*i].1));
            *i += 1;
            let value = match rest.as_str() {
                "" => {
                    let next = lines.get(*i).map(|l| (l.0, l.1.starts_with('-')));
                    let child = match next {
                        Some((child, dash)) if child > indent || dash => child,
                        _ => panic!("{key} has no value"),
                    };
                    block(lines, i, child)
                }
                ">-" | ">" => folded(lines, i, indent + 1),
                _ => flow(&rest),
            };
            map.push((key, value));
        }
        Node::Map(map)
    }

    /// A folded scalar (`>-`): the following lines indented at least `min`, joined by spaces.
    fn folded(lines: &[(usize, String)], i: &mut usize, min: usize) -> Node {
        let mut text = Vec::new();
        while *i < lines.len() && lines[*i].0 >= min {
            text.push(lines[*i].1.as_str());
            *i += 1;
        }
        Node::Scalar(text.join(" "))
    }

    /// `key: rest` or `key:`, outside quotes and brackets.
    fn key_value(line: &str) -> Option<(String, String)> {
        if line.starts_with(['"', '\'', '{', '[']) {
            return None;
        }
        let (key, rest) = line
            .split_once(": ")
            .or_else(|| line.strip_suffix(':').map(|k| (k, "")))?;
        (!key.contains(' ')).then(|| (key.to_string(), rest.trim().to_string()))
    }

    fn flow(text: &str) -> Node {
        let text = text.trim();
        if let Some(inner) = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
            Node::Map(
                split(inner)
                    .iter()
                    .map(|entry| {
                        let (k, v) = entry
                            .split_once(':')
                            .unwrap_or_else(|| panic!("not `key: value`: {entry}"));
                        (k.trim().to_string(), flow(v))
                    })
                    .collect(),
            )
        } else if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            Node::Seq(split(inner).iter().map(|item| flow(item)).collect())
        } else {
            let unquoted = text
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .or_else(|| text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')));
            Node::Scalar(unquoted.unwrap_or(text).to_string())
        }
    }

    /// Splits a flow collection's inside at its top-level commas.
    fn split(inner: &str) -> Vec<String> {
        let (mut parts, mut part, mut depth, mut quote) = (Vec::new(), String::new(), 0, None);
        for c in inner.chars() {
            match (quote, c) {
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), _) if q == c => quote = None,
                (None, '{' | '[') => depth += 1,
                (None, '}' | ']') => depth -= 1,
                (None, ',') if depth == 0 => {
                    parts.push(std::mem::take(&mut part));
                    continue;
                }
                _ => {}
            }
            part.push(c);
        }
        parts.push(part);
        parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
    }

    impl Node {
        /// The node at a dotted path of keys and sequence indices (`a.b.0.c`).
        pub fn get(&self, path: &str) -> &Node {
            path.split('.').fold(self, |node, step| {
                let next = match node {
                    Node::Map(entries) => entries.iter().find(|(k, _)| k == step).map(|e| &e.1),
                    Node::Seq(items) => step.parse().ok().and_then(|i: usize| items.get(i)),
                    Node::Scalar(_) => None,
                };
                next.unwrap_or_else(|| panic!("the manifest has no `{path}` (at `{step}`)"))
            })
        }

        pub fn has(&self, key: &str) -> bool {
            matches!(self, Node::Map(entries) if entries.iter().any(|(k, _)| k == key))
        }

        pub fn str(&self, path: &str) -> &str {
            match self.get(path) {
                Node::Scalar(s) => s,
                other => panic!("`{path}` is not a scalar: {other:?}"),
            }
        }

        pub fn items(&self) -> &[Node] {
            match self {
                Node::Seq(items) => items,
                other => panic!("not a sequence: {other:?}"),
            }
        }

        pub fn strings(&self, path: &str) -> Vec<&str> {
            self.get(path)
                .items()
                .iter()
                .map(|n| match n {
                    Node::Scalar(s) => s.as_str(),
                    other => panic!("not a scalar: {other:?}"),
                })
                .collect()
        }
    }
}
