//! Every shell command in README.md is run: by `.ci/run` (it appears there,
//! `--locked` aside), or here. A command the README gains that neither runs
//! fails this test, so the README cannot drift from what works.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The commands of the README's `sh` blocks: continuation lines joined,
/// comments and blank lines dropped.
fn readme_commands(readme: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut in_sh = false;
    let mut pending = String::new();
    for line in readme.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_sh = trimmed == "```sh";
            continue;
        }
        if !in_sh || trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(part) => {
                pending.push_str(part.trim_end());
                pending.push(' ');
            }
            None => {
                pending.push_str(trimmed);
                commands.push(normalize(&std::mem::take(&mut pending)));
            }
        }
    }
    commands
}

fn normalize(command: &str) -> String {
    command
        .split_whitespace()
        .filter(|w| *w != "--locked")
        .collect::<Vec<_>>()
        .join(" ")
}

fn run(command: &str, out: &Path) {
    let protoc = protoc_bin_vendored::protoc_bin_path().expect("protoc-bin-vendored has a protoc");
    let plugin = env!("CARGO_BIN_EXE_protoc-gen-rust-rpc");
    let words: Vec<String> = command
        .split_whitespace()
        .map(|w| {
            w.replace("target/debug/protoc-gen-rust-rpc", plugin)
                .replace("target/readme-out", &out.display().to_string())
        })
        .collect();
    let program = match words[0].as_str() {
        "protoc" => protoc.display().to_string(),
        other => other.to_owned(),
    };
    let result = Command::new(program)
        .args(&words[1..])
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("README command {command:?} does not start: {e}"));
    assert!(
        result.status.success(),
        "README command {command:?} failed:\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
}

#[test]
fn every_readme_command_is_run() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let ci = std::fs::read_to_string(root().join(".ci/run")).expect(".ci/run");
    let ci_lines: Vec<String> = ci.lines().map(normalize).collect();
    let commands = readme_commands(&readme);
    assert!(commands.len() >= 5, "README commands found: {commands:?}");
    let mut ran_here = 0;
    for command in &commands {
        if ci_lines.iter().any(|l| l == command) || command == ".ci/run" {
            continue;
        }
        let program = command.split_whitespace().next().unwrap_or_default();
        assert!(
            matches!(program, "protoc" | "target/debug/protoc-gen-rust-rpc"),
            "README command {command:?} is run neither by .ci/run nor by this test"
        );
        let out =
            std::env::temp_dir().join(format!("rust-rpc-readme-{}-{ran_here}", std::process::id()));
        std::fs::create_dir_all(&out).expect("out dir");
        run(command, &out);
        assert!(
            out.join("greeter.v1.rs").is_file() && out.join("mod.rs").is_file(),
            "{command:?} wrote no code"
        );
        std::fs::remove_dir_all(&out).ok();
        ran_here += 1;
    }
    assert_eq!(ran_here, 2, "the protoc and the protoc-less commands");
}
