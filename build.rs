//! Embeds `commands/*.toml` and `prompts/*` in the binary, so the shipped bot carries its
//! command definitions and prompt templates and a newly added file needs no code change.

use std::fmt::Write as _;
use std::path::Path;

fn embed(dir: &str, name: &str, out: &mut String) {
    println!("cargo:rerun-if-changed={dir}");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    files.sort();
    let _ = writeln!(out, "pub static {name}: &[(&str, &str)] = &[");
    for path in files {
        println!("cargo:rerun-if-changed={}", path.display());
        let file = path.file_name().and_then(|f| f.to_str()).unwrap_or_default();
        let _ = writeln!(out, "    ({file:?}, include_str!({:?})),", path.display().to_string());
    }
    let _ = writeln!(out, "];");
}

fn main() {
    let mut out = String::new();
    embed("commands", "COMMAND_FILES", &mut out);
    embed("prompts", "PROMPT_FILES", &mut out);
    let target = Path::new(&std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into())).join("embedded.rs");
    if let Err(err) = std::fs::write(&target, out) {
        panic!("cannot write {}: {err}", target.display());
    }
}
