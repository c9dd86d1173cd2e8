//! The README's "Verifying our requests and signing yours" snippets are these files, and they
//! compute the published vector.
#![cfg(feature = "ssr")]

mod customer {
    include!("../docs/snippets/sign.rs");
}

const VECTOR: &str = "56ac656c7f932c5b775be28949e90af9a2356eae2826539f10ab6526a0eec762";

#[test]
fn the_rust_snippet_signs_and_verifies() {
    let signature = customer::sign(
        "SECRET",
        "POST",
        "/webhook?a=1",
        "1563276169752",
        br#"{"a":1}"#,
    );
    assert_eq!(signature, VECTOR);
    // The vector's timestamp is from 2019: too old for a webhook today.
    assert!(!customer::is_genuine_webhook(
        "SECRET",
        "POST",
        "/webhook?a=1",
        "1563276169752",
        VECTOR,
        br#"{"a":1}"#
    ));
    let now = chrono::Utc::now().timestamp_millis().to_string();
    let fresh = customer::sign("SECRET", "POST", "/hook", &now, b"{}");
    assert!(customer::is_genuine_webhook(
        "SECRET", "POST", "/hook", &now, &fresh, b"{}"
    ));
    assert!(!customer::is_genuine_webhook(
        "SECRET", "POST", "/hook", &now, &fresh, b"{ }"
    ));
    // Our server's implementation agrees.
    assert_eq!(
        portal::api::signature::sign(
            b"SECRET",
            "POST",
            "/webhook?a=1",
            "1563276169752",
            br#"{"a":1}"#
        ),
        VECTOR
    );
}

#[test]
fn the_node_and_python_snippets_print_the_vector() {
    for (program, file) in [
        ("node", "docs/snippets/sign.mjs"),
        ("python3", "docs/snippets/sign.py"),
    ] {
        let output = std::process::Command::new(program)
            .arg(file)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        assert!(
            output.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            VECTOR,
            "{file}"
        );
    }
}

#[test]
fn the_readme_shows_exactly_the_tested_snippets() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    for file in ["sign.mjs", "sign.py", "sign.rs"] {
        let snippet = std::fs::read_to_string(format!("{root}/docs/snippets/{file}")).unwrap();
        assert!(
            readme.contains(snippet.trim_end()),
            "README lacks docs/snippets/{file} as it is"
        );
    }
}
