//! The site's bundles (stylesheet, JS, WASM) by their content-hashed names, and the scripts that
//! load them into a page.
//!
//! Leptos's `HashedStylesheet` and `HydrationScripts` read the hash file on every page view (a
//! `readlink`, a `stat` and a file read: 5% of a page's CPU time). A release server reads it
//! once, since its bundles cannot change while it runs; a debug one on every view, since
//! `scripts/run --watch` rebuilds them under it.

use std::{path::PathBuf, sync::Arc, sync::OnceLock};

use leptos::prelude::*;

/// Where cargo-leptos writes the bundles' hashes: beside the server binary.
pub fn hash_file_path(options: &LeptosOptions) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(options.hash_file.as_ref())))
        .unwrap_or_else(|| options.hash_file.as_ref().into())
}

/// The bundles' URLs, and the inline script that starts them.
#[derive(Clone)]
pub(super) struct Bundles {
    pub css: Arc<str>,
    start: Arc<str>,
}

impl Bundles {
    pub fn of(options: &LeptosOptions) -> Self {
        if cfg!(debug_assertions) {
            return Self::read(options);
        }
        static BUNDLES: OnceLock<Bundles> = OnceLock::new();
        BUNDLES.get_or_init(|| Self::read(options)).clone()
    }

    /// Without a hash file (hashing off, or a test binary), the names carry no hash.
    fn read(options: &LeptosOptions) -> Self {
        let hashes = options
            .hash_files
            .then(|| hash_file_path(options))
            .and_then(|path| std::fs::read_to_string(path).ok())
            .unwrap_or_default();
        Self::named(options, &hashes)
    }

    /// From the hash file's lines, `kind: hash`.
    fn named(options: &LeptosOptions, hashes: &str) -> Self {
        let url = |kind: &str| -> Arc<str> {
            let hash = hashes
                .lines()
                .find_map(|line| {
                    let (file, hash) = line.split_once(':')?;
                    (file.trim() == kind).then(|| format!(".{}", hash.trim()))
                })
                .unwrap_or_default();
            format!(
                "/{}/{}{hash}.{kind}",
                options.site_pkg_dir, options.output_name
            )
            .into()
        };
        let (js, wasm) = (url("js"), url("wasm"));
        // Its comments are for this repository, not for every page.
        let loader: Vec<&str> = include_str!("islands.js")
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with("//"))
            .collect();
        let start = format!(
            "({})({}, {});",
            loader.join("\n"),
            script_string(&js),
            script_string(&wasm)
        )
        .into();
        Self {
            css: url("css"),
            start,
        }
    }
}

/// A JS string literal that cannot end the inline script it is written in.
fn script_string(text: &str) -> String {
    format!("{text:?}").replace('<', "\\u003c")
}

/// Starts the islands once the page is idle. Their bundles are fetched then, not preloaded: the
/// pages work without them (links and plain forms), so the first paint gets the whole link, and
/// the 190 KB of WASM come after it.
#[component]
pub(super) fn IslandScripts(bundles: Bundles) -> impl IntoView {
    // Islands mode: the page is not hydrated, only its islands (which say so themselves), so
    // nothing outside them carries hydration markers.
    #[cfg(feature = "ssr")]
    if let Some(context) = Owner::current_shared_context() {
        hydration_context::SharedContext::set_is_hydrating(&*context, false);
    }
    view! {
        <script type="module" nonce=leptos::nonce::use_nonce()>
            {bundles.start}
        </script>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundles_are_named_by_their_hashes_and_the_script_starts_them() {
        let options = LeptosOptions::builder().output_name("portal").build();
        let bundles = Bundles::named(&options, "js: J1\nwasm: W2\ncss: C3\n");
        assert_eq!(&*bundles.css, "/pkg/portal.C3.css");
        assert!(
            bundles
                .start
                .ends_with(r#")("/pkg/portal.J1.js", "/pkg/portal.W2.wasm");"#),
            "{}",
            bundles.start
        );
        // The repository's comments stay out of the pages.
        assert!(!bundles.start.contains("//"), "{}", bundles.start);
        assert!(bundles.start.contains("requestIdleCallback"));

        let unhashed = Bundles::named(&options, "");
        assert_eq!(&*unhashed.css, "/pkg/portal.css");
        assert!(
            unhashed
                .start
                .ends_with(r#")("/pkg/portal.js", "/pkg/portal.wasm");"#)
        );
    }

    #[test]
    fn a_name_cannot_end_the_script() {
        assert_eq!(script_string("a</script>"), r#""a\u003c/script>""#);
    }
}
