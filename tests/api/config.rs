//! Leptos.toml is the one source of the server's site settings: it parses, its values are the
//! ones cargo-leptos uses, and Cargo.toml's build metadata does not repeat them.

use portal::platform::config::leptos_options_from_str;

const LEPTOS_TOML: &str = include_str!("../../Leptos.toml");
const CARGO_TOML: &str = include_str!("../../Cargo.toml");

/// `key = value` pairs of a flat TOML section (comments and quotes stripped).
fn pairs(section: &str) -> Vec<(String, String)> {
    section
        .lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .take_while(|line| !line.starts_with('['))
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().trim_matches('"').to_owned()))
        .collect()
}

#[test]
fn leptos_toml_parses_into_leptos_options() {
    let options = leptos_options_from_str(LEPTOS_TOML).expect("valid");
    // Environment variables may override the rest (scripts/test sets the address and env).
    assert_eq!(&*options.output_name, "portal");
    assert_eq!(&*options.site_pkg_dir, "pkg");
}

#[test]
fn cargo_metadata_does_not_repeat_a_runtime_setting() {
    let (_, metadata) = CARGO_TOML
        .split_once("[package.metadata.leptos]")
        .expect("Cargo.toml has build metadata for cargo-leptos");
    let build_keys: Vec<String> = pairs(metadata).into_iter().map(|(k, _)| k).collect();
    for (key, _) in pairs(LEPTOS_TOML) {
        assert!(
            !build_keys.contains(&key),
            "`{key}` is in Leptos.toml; remove it from Cargo.toml's [package.metadata.leptos]"
        );
    }
}

#[test]
fn leptos_toml_matches_what_a_bare_cargo_leptos_would_use() {
    // cargo-leptos's defaults for the keys it is not given: then `cargo leptos watch` without
    // the scripts builds into, and serves from, the same place.
    let defaults = [
        ("output-name", env!("CARGO_PKG_NAME")),
        ("site-root", "target/site"),
        ("site-pkg-dir", "pkg"),
        ("site-addr", "127.0.0.1:3000"),
        ("reload-port", "3001"),
    ];
    let ours = pairs(LEPTOS_TOML);
    for (key, default) in defaults {
        let value = ours
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("Leptos.toml lacks {key}"));
        assert_eq!(value, default, "Leptos.toml `{key}`");
    }
}
