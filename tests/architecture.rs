//! The layers of `src/` point one way. Every `crate::` path in the code (a `use` line or an
//! inline path, comments left out) is read, and a module may only name modules of its own
//! layer or below. The order is the README's ("How it fits together"), bottom first:
//!
//! 1. `domain`, and the vocabulary every layer speaks: `message` (the chat message model),
//!    `inbound` (verified inbound events), `signature`, `commands` (the command catalog),
//!    `approval_token`
//! 2. `config`, `telemetry`, `progress`, `retry` (the one retry schedule), `directory` (who is
//!    who, from the configured people)
//! 3. `store`, `nlu`, `forecast`
//! 4. `pos`, `channels`, `llm`, `accounting`
//! 5. `workflows`
//! 6. `dispatch`
//! 7. `jobs`, `http`
//! 8. `app`, `cli`, `demo`, `error`, `main`, `lib`
//!
//! Within one layer modules may use each other, except that the layer-3 and layer-4 modules do
//! not use their neighbours (the store does not forecast, a POS connector does not chat);
//! inside one folder anything goes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// (module, layer, may it use the other modules of its layer?)
const LAYERS: &[(&str, u8, bool)] = &[
    ("domain", 1, true),
    ("message", 1, true),
    ("inbound", 1, true),
    ("signature", 1, true),
    ("commands", 1, true),
    ("approval_token", 1, true),
    ("config", 2, true),
    ("telemetry", 2, true),
    ("progress", 2, true),
    ("retry", 2, true),
    ("directory", 2, true),
    ("store", 3, false),
    ("nlu", 3, false),
    ("forecast", 3, false),
    ("pos", 4, false),
    ("channels", 4, false),
    ("llm", 4, false),
    ("accounting", 4, false),
    ("workflows", 5, true),
    ("dispatch", 6, true),
    ("jobs", 7, true),
    ("http", 7, true),
    ("app", 8, true),
    ("cli", 8, true),
    ("demo", 8, true),
    ("error", 8, true),
    ("main", 8, true),
    ("lib", 8, true),
];

fn layer(module: &str) -> Option<(u8, bool)> {
    LAYERS.iter().find(|(m, ..)| *m == module).map(|(_, l, shares)| (*l, *shares))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to: `src/store/audit.rs` → `store`, `src/cli.rs` → `cli`.
fn module_of(path: &Path) -> String {
    let relative = path.strip_prefix("src").unwrap();
    let first = relative.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
    first.trim_end_matches(".rs").to_owned()
}

/// The top-level modules named by `crate::` paths in the code of `text` (line comments and
/// doc comments left out), with the line they are on.
fn named_modules(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                found.push((number + 1, name));
            }
            rest = after;
        }
        // `use crate::{a::X, b::Y}` names several.
        if let Some(group) = code.trim_start().strip_prefix("use crate::{") {
            for part in group.split(',') {
                let name: String = part.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    found.push((number + 1, name));
                }
            }
        }
    }
    found
}

#[test]
fn imports_point_down_the_layers() {
    let mut files = Vec::new();
    rust_files(Path::new("src"), &mut files);
    files.sort();
    let mut unknown = Vec::new();
    let mut upward = Vec::new();
    let mut edges: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in &files {
        let module = module_of(file);
        let Some((own, shares)) = layer(&module) else {
            unknown.push(format!("{} (module {module} has no layer)", file.display()));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for (line, named) in named_modules(&text) {
            if named == module || named == "self" || named == "super" {
                continue;
            }
            let Some((theirs, _)) = layer(&named) else {
                unknown.push(format!("{}:{line} names crate::{named}, which has no layer", file.display()));
                continue;
            };
            if theirs > own || (theirs == own && !shares) {
                upward.push(format!("{}:{line}: {module} (layer {own}) uses {named} (layer {theirs})", file.display()));
            }
            edges.entry(module.clone()).or_default().push(named);
        }
    }
    assert!(unknown.is_empty(), "modules without a layer:\n{}", unknown.join("\n"));
    assert!(
        upward.is_empty(),
        "{} imports point up (or sideways where they may not):\n{}",
        upward.len(),
        upward.join("\n")
    );
    assert!(edges.contains_key("app"), "the scan read the code");
    // Between folders the imports form no loop, not even within a layer.
    if let Some(cycle) = find_cycle(&edges) {
        panic!("modules import each other in a loop: {}", cycle.join(" → "));
    }
}

/// A loop in the module graph, if there is one.
fn find_cycle(edges: &BTreeMap<String, Vec<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, Vec<String>>,
        path: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = std::collections::BTreeSet::new();
    edges.keys().find_map(|node| visit(node, edges, &mut Vec::new(), &mut done))
}

#[test]
fn a_loop_is_found() {
    let edges: BTreeMap<String, Vec<String>> = [("a", vec!["b"]), ("b", vec!["c"]), ("c", vec!["a"]), ("d", vec!["a"])]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
        .collect();
    assert_eq!(find_cycle(&edges).unwrap().len(), 4);
    let acyclic: BTreeMap<String, Vec<String>> = [("a".to_owned(), vec!["b".to_owned()])].into();
    assert_eq!(find_cycle(&acyclic), None);
}

#[test]
fn all_sql_lives_in_the_store() {
    let mut files = Vec::new();
    rust_files(Path::new("src"), &mut files);
    let outside: Vec<String> = files
        .iter()
        .filter(|f| module_of(f) != "store")
        .filter(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .any(|l| l.split("//").next().unwrap_or_default().contains("sqlx::"))
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(outside.is_empty(), "SQL outside store/: {outside:?}");
}

#[test]
fn the_scan_sees_inline_paths_and_groups() {
    let text = "use crate::{store::Store, nlu::X};\nlet a = crate::workflows::run(); // crate::jobs in a comment\n/// crate::http in a doc\n";
    let names: Vec<String> = named_modules(text).into_iter().map(|(_, n)| n).collect();
    assert!(
        names.contains(&"store".to_owned())
            && names.contains(&"nlu".to_owned())
            && names.contains(&"workflows".to_owned())
    );
    assert!(!names.contains(&"jobs".to_owned()) && !names.contains(&"http".to_owned()));
}
