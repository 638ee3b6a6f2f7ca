//! The dependency rule of DESIGN.md, checked: every top-level module uses only modules
//! that `lib.rs` declares before it, and no files within a module use each other in a
//! cycle. Read from the sources (outside their test modules) rather than from a tool such
//! as `cargo modules`, so that CI needs nothing beyond the toolchain.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// Module paths (`engine`, `engine::general`) to the source text before its tests.
fn sources() -> BTreeMap<String, String> {
    fn walk(dir: &Path, out: &mut BTreeMap<String, String>) {
        for entry in fs::read_dir(dir).expect("src readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(concat!(env!("CARGO_MANIFEST_DIR"), "/src"));
                let relative = relative.expect("under src").with_extension("");
                let mut parts: Vec<String> = relative
                    .iter()
                    .map(|p| p.to_string_lossy().into_owned())
                    .collect();
                if parts.last().is_some_and(|p| p == "mod") {
                    parts.pop();
                }
                let text = fs::read_to_string(&path).expect("source readable");
                let body = text.split("#[cfg(test)]").next().unwrap_or("");
                let code: String = body
                    .lines()
                    .map(|l| l.split("//").next().unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join("\n");
                out.insert(parts.join("::"), code);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")),
        &mut out,
    );
    out
}

/// The module paths a source names after `crate::` (or `super::`, resolved against
/// `module`), each cut to the longest prefix that is a module.
fn uses(module: &str, code: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let parent: Vec<&str> = module.split("::").collect();
    let parent = &parent[..parent.len() - 1];
    let mut found = BTreeSet::new();
    let mut paths = Vec::new();
    for (prefix, base) in [("crate::", Vec::new()), ("super::", parent.to_vec())] {
        for (at, _) in code.match_indices(prefix) {
            let rest = &code[at + prefix.len()..];
            let head: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let mut path: Vec<String> = base.iter().map(|s| s.to_string()).collect();
            path.extend(head.split("::").filter(|s| !s.is_empty()).map(String::from));
            // `crate::a::{b, c::d}`: each member of the group.
            if rest[head.len()..].starts_with('{') {
                let group = &rest[head.len() + 1..rest.find('}').unwrap_or(rest.len())];
                for member in group.split(',') {
                    let mut p = path.clone();
                    p.extend(member.trim().split("::").map(String::from));
                    paths.push(p);
                }
            }
            paths.push(path);
        }
    }
    for path in paths {
        for k in (1..=path.len()).rev() {
            let candidate = path[..k].join("::");
            if modules.contains(&candidate) {
                found.insert(candidate);
                break;
            }
        }
    }
    found.remove(module);
    found
}

/// The top-level modules in `lib.rs`'s order.
fn declared() -> Vec<String> {
    let lib =
        fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/lib.rs")).expect("lib.rs");
    lib.lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';').to_string())
        .collect()
}

#[test]
fn modules_use_only_modules_declared_before_them() {
    let sources = sources();
    let modules: BTreeSet<String> = sources.keys().cloned().collect();
    let order = declared();
    let rank = |m: &str| {
        order
            .iter()
            .position(|o| o == m.split("::").next().unwrap_or(""))
    };
    let mut upward = Vec::new();
    for (module, code) in &sources {
        let Some(own) = rank(module) else { continue };
        for used in uses(module, code, &modules) {
            if rank(&used).is_some_and(|r| r > own) {
                upward.push(format!("{module} uses {used}, declared after it in lib.rs"));
            }
        }
    }
    assert!(order.len() > 20, "lib.rs lists the modules: {order:?}");
    assert!(upward.is_empty(), "{}", upward.join("\n"));
}

#[test]
fn no_files_of_a_module_use_each_other_in_a_cycle() {
    let sources = sources();
    let modules: BTreeSet<String> = sources.keys().cloned().collect();
    // Edges between files of the same top-level module, leaving out a file's use of its
    // own parent or child (a `mod.rs` declares and re-exports its children).
    let mut edges: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (module, code) in &sources {
        let top = module.split("::").next();
        for used in uses(module, code, &modules) {
            let nested = used.starts_with(&format!("{module}::"))
                || module.starts_with(&format!("{used}::"));
            if used.split("::").next() == top && !nested {
                edges.entry(module).or_default().push(used);
            }
        }
    }
    // Depth-first search; a node met again while on the stack closes a cycle.
    fn visit<'a>(
        node: &'a str,
        edges: &'a BTreeMap<&str, Vec<String>>,
        stack: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<String> {
        if let Some(at) = stack.iter().position(|s| *s == node) {
            return Some(format!("{} -> {node}", stack[at..].join(" -> ")));
        }
        if !done.insert(node) {
            return None;
        }
        stack.push(node);
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        let cycle = visit(node, &edges, &mut Vec::new(), &mut done);
        assert!(
            cycle.is_none(),
            "import cycle: {}",
            cycle.unwrap_or_default()
        );
    }
}
