//! The crate's layers, lowest first, and the test that keeps every import pointing down
//! (comments aside).
//!
//! How "upward" is decided: every file belongs to its top-level module (`src/secrets/db.rs` to
//! `secrets`), and each top-level module has a rank in [`LAYERS`]. A path a file names, `crate::x…`
//! (in a `use` line, a `crate::{…}` group or inline) or `super::x…` that climbs to the crate
//! root, imports the module `x`. That import is upward when `x` ranks above the file's module, or
//! ranks the same and is another module (two modules of one rank know nothing of each other).
//! Within a module, its files may use each other freely. `lib.rs` and `main.rs` declare the
//! modules and start them: they are above everything.

/// Lowest first.
const LAYERS: &[&[&str]] = &[
    // The ground: no feature. What the browser and the server share (the error type, page
    // pieces), then the server's platform (state, configuration, keys, signatures, outbox).
    &["error"],
    &["events"],
    &["ui"],
    &["platform"],
    // What happened, appended by every feature below which it sits.
    &["audit"],
    // The features, each above the ones it builds on: who is signed in, where (environments),
    // what they did (the audit log), who else is in the team (members), the secrets there, the webhooks those secrets sign, and the REST API over
    // both, beside the status page.
    &["accounts"],
    &["environments"],
    &["audit_log"],
    &["members"],
    &["secrets"],
    &["webhooks"],
    &["api", "status"],
    // The roof: the app's routes and shell, then the server that serves them.
    &["app"],
    &["server"],
];

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::LAYERS;

    fn rank(module: &str) -> Option<usize> {
        LAYERS.iter().position(|layer| layer.contains(&module))
    }

    fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }

    /// The module path of a file below `src`: `secrets/db.rs` → [secrets, db],
    /// `secrets/mod.rs` → [secrets].
    fn module_path(relative: &Path) -> Vec<String> {
        let mut parts: Vec<String> = relative
            .with_extension("")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if parts.last().is_some_and(|last| last == "mod") {
            parts.pop();
        }
        parts
    }

    /// The top-level modules a file's source names: `crate::x`, each name of a
    /// `crate::{x…, y…}` group, and `super::x` where `super` is the crate root.
    fn imported(source: &str, depth: usize) -> Vec<String> {
        let mut names = Vec::new();
        let identifier = |text: &str| -> String {
            text.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        };
        for (at, _) in source.match_indices("crate::") {
            let rest = &source[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                // The group's own top-level names (nested groups belong to them).
                let mut level = 0;
                let mut start = true;
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => level += 1,
                        '}' if level == 0 => break,
                        '}' => level -= 1,
                        ',' if level == 0 => start = true,
                        c if start && !c.is_whitespace() => {
                            start = false;
                            names.push(identifier(&group[i..]));
                        }
                        _ => {}
                    }
                }
            } else {
                names.push(identifier(rest));
            }
        }
        // `super::` from a file one level down (`src/audit.rs`, `src/x/mod.rs`'s children use
        // it within their module) reaches the root; `super::*` is a test module's.
        if depth == 1 {
            for (at, _) in source.match_indices("super::") {
                let name = identifier(&source[at + "super::".len()..]);
                if !name.is_empty() {
                    names.push(name);
                }
            }
        }
        names.retain(|name| !name.is_empty() && name != "self");
        names
    }

    #[test]
    fn imports_point_down_the_layers() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let mut upward = Vec::new();
        for file in files {
            let relative = file.strip_prefix(&src).unwrap();
            let path = module_path(relative);
            let top = path[0].as_str();
            if matches!(top, "lib" | "main" | "layers") {
                continue;
            }
            let Some(own) = rank(top) else {
                panic!(
                    "{} is in no layer: add `{top}` to LAYERS",
                    relative.display()
                );
            };
            // Code only: a comment may name any module.
            let source: String = std::fs::read_to_string(&file)
                .unwrap()
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            for name in imported(&source, path.len()) {
                if name == top {
                    continue;
                }
                let Some(theirs) = rank(&name) else {
                    // Not a module of ours (e.g. `crate::hydrate`, a function in lib.rs).
                    continue;
                };
                if theirs >= own {
                    upward.push(format!("{} imports {name}", relative.display()));
                }
            }
        }
        upward.sort();
        upward.dedup();
        assert!(
            upward.is_empty(),
            "imports that point up:\n{}",
            upward.join("\n")
        );
    }

    #[test]
    fn the_test_sees_groups_nested_paths_and_the_root_through_super() {
        let source = "use crate::{\n    accounts::db::Member,\n    platform::{client::{self, X}, state::AppState},\n};\nlet x = crate::webhooks::db::claim();\nuse super::status;";
        assert_eq!(
            imported(source, 1),
            ["accounts", "platform", "webhooks", "status"]
        );
        assert_eq!(imported(source, 2), ["accounts", "platform", "webhooks"]);
    }
}
