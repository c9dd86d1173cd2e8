//! docs/signing.md's "Verifying our requests and signing yours" snippets are these files, and they
//! compute the published vector.

mod customer {
    include!("../../docs/snippets/sign.rs");
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
        portal::platform::signature::sign(
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
    let readme = std::fs::read_to_string(format!("{root}/docs/signing.md")).unwrap();
    for file in ["sign.mjs", "sign.py", "sign.rs"] {
        let snippet = std::fs::read_to_string(format!("{root}/docs/snippets/{file}")).unwrap();
        assert!(
            readme.contains(snippet.trim_end()),
            "docs/signing.md lacks docs/snippets/{file} as it is"
        );
    }
}

/// What a verifier gets is the sender's: each snippet answers false (never throws, never
/// panics) on hostile headers, and true only for the genuine one.
#[test]
fn the_snippets_refuse_hostile_webhook_headers_without_failing() {
    let now = chrono::Utc::now().timestamp_millis().to_string();
    let signed = |timestamp: &str| customer::sign("SECRET", "POST", "/hook", timestamp, b"{}");
    let zero_padded = format!("0{now}");
    let fullwidth: String = now
        .chars()
        .map(|c| char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap())
        .collect();
    // (timestamp, signature, genuine); None = header missing.
    let cases: Vec<(Option<String>, Option<String>, bool)> = vec![
        (Some(now.clone()), Some(signed(&now)), true),
        (Some(now.clone()), None, false),
        (None, Some(signed(&now)), false),
        (Some(String::new()), Some(String::new()), false),
        (Some("²".into()), Some(signed("²")), false),
        (Some(fullwidth.clone()), Some(signed(&fullwidth)), false),
        (Some(zero_padded.clone()), Some(signed(&zero_padded)), false),
        (
            Some(format!("+{now}")),
            Some(signed(&format!("+{now}"))),
            false,
        ),
        (
            Some(format!(" {now}")),
            Some(signed(&format!(" {now}"))),
            false,
        ),
        (Some("1e12".into()), Some(signed("1e12")), false),
        (
            Some("-9223372036854775808".into()),
            Some(signed("-9223372036854775808")),
            false,
        ),
        (
            Some("99999999999999999999999".into()),
            Some(signed("9")),
            false,
        ),
        (Some(now.clone()), Some("é".repeat(64)), false),
        (Some(now.clone()), Some("Ａ".repeat(64)), false),
        (
            Some(now.clone()),
            Some(format!("{}\u{0}", signed(&now))),
            false,
        ),
        (Some(now.clone()), Some("zz".repeat(32)), false),
    ];
    for (timestamp, signature, genuine) in &cases {
        let answer = customer::is_genuine_webhook(
            "SECRET",
            "POST",
            "/hook",
            timestamp.as_deref().unwrap_or(""),
            signature.as_deref().unwrap_or(""),
            b"{}",
        );
        assert_eq!(answer, *genuine, "Rust: {timestamp:?} {signature:?}");
    }
    let table = |timestamp_name: &str, signature_name: &str| -> String {
        let rows: Vec<serde_json::Value> = cases
            .iter()
            .map(|(timestamp, signature, _)| {
                let mut headers = serde_json::Map::new();
                if let Some(t) = timestamp {
                    headers.insert(timestamp_name.into(), t.clone().into());
                }
                if let Some(s) = signature {
                    headers.insert(signature_name.into(), s.clone().into());
                }
                headers.into()
            })
            .collect();
        serde_json::Value::from(rows).to_string()
    };
    let python = r#"
import json, sys
ns = {}
exec(open("docs/snippets/sign.py").read(), ns)
print(json.dumps([ns["is_genuine_webhook"]("SECRET", "POST", "/hook", h, b"{}") for h in json.load(sys.stdin)]))
"#;
    let node = r#"
import { readFileSync } from "node:fs";
const { isGenuineWebhook } = await import(process.cwd() + "/docs/snippets/sign.mjs");
const rows = JSON.parse(readFileSync(0, "utf8"));
console.log(JSON.stringify(rows.map((h) => isGenuineWebhook("SECRET", "POST", "/hook", h, "{}"))));
"#;
    for (program, args, input) in [
        (
            "python3",
            vec!["-c", python],
            table("X-CS-Timestamp", "X-CS-Signature"),
        ),
        (
            "node",
            vec!["--input-type=module", "-e", node],
            table("x-cs-timestamp", "x-cs-signature"),
        ),
    ] {
        use std::io::Write;
        let mut child = std::process::Command::new(program)
            .args(&args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{program}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        // The snippet prints the vector first.
        let answers: Vec<bool> = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
        for ((timestamp, signature, genuine), answer) in cases.iter().zip(answers) {
            assert_eq!(answer, *genuine, "{program}: {timestamp:?} {signature:?}");
        }
    }
}
