//! "Check my signature": a customer pastes a refused request's parts and sees the exact string
//! we sign; with their API secret, also the signature we expect and whether theirs matches.
//!
//! Everything is computed in the browser (the HMAC with WebCrypto): the secret is in no form and
//! no request, so it never leaves the page. That is also why it needs the WASM: before it loads,
//! "Check" is disabled (a form would send the secret somewhere).

use leptos::prelude::*;

/// How far a timestamp may be from the clock (the server's tolerance by default).
const WINDOW_SECONDS: i64 = 300;

#[island]
pub fn SignatureCheck() -> impl IntoView {
    let method = RwSignal::new("GET".to_owned());
    let path = RwSignal::new(String::new());
    let timestamp = RwSignal::new(String::new());
    let body = RwSignal::new(String::new());
    let theirs = RwSignal::new(String::new());
    let secret = RwSignal::new(String::new());
    let expected = RwSignal::new(None::<String>);
    let ready = RwSignal::new(false);
    Effect::new(move || ready.set(true));
    // Any change makes the last result stale.
    Effect::new(move || {
        for field in [method, path, timestamp, body, theirs, secret] {
            field.track();
        }
        expected.set(None);
    });
    let canonical = move || {
        format!(
            "{}{}{}{}",
            method.get().trim().to_ascii_uppercase(),
            path.get().trim(),
            timestamp.get().trim(),
            body.get()
        )
    };
    let check = move |_| {
        let (key, message) = (secret.get_untracked(), canonical());
        leptos::task::spawn_local(async move {
            expected.set(Some(hmac_sha256_hex(&key, &message).await.unwrap_or_else(
                || "(this browser cannot compute HMAC-SHA256: use the snippets in the docs)".into(),
            )));
        });
    };
    let verdict = move || {
        let expected = expected.get()?;
        let theirs = theirs.get().trim().to_ascii_lowercase();
        Some(if theirs.is_empty() {
            "Paste the X-CS-Signature you sent to compare it.".to_owned()
        } else if theirs == expected {
            "Your signature matches: this request, sent now, would be accepted.".to_owned()
        } else {
            "Your signature does not match. Compare the string above with the one your code signs, byte for byte, and check that it signs with this API secret.".to_owned()
        })
    };
    let field = |id: &'static str, label: &'static str, value: RwSignal<String>| {
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <input
                    id=id
                    class="mono"
                    type="text"
                    spellcheck="false"
                    autocomplete="off"
                    prop:value=move || value.get()
                    on:input=move |ev| value.set(event_target_value(&ev))
                />
            </div>
        }
    };
    view! {
        <section class="signature-check" aria-labelledby="signature-check-title">
            <h3 id="signature-check-title">"Check my signature"</h3>
            <p class="hint">
                "Paste the parts of a request. We sign the method in capitals, the path with its query, "
                "X-CS-Timestamp and the body, joined with nothing between them. "
                "Everything here is computed in this browser: nothing you type is sent anywhere."
            </p>
            {field("check-method", "Method", method)}
            {field("check-path", "Path and query", path)}
            {field("check-timestamp", "X-CS-Timestamp", timestamp)}
            <p class="hint" aria-live="polite">{move || timestamp_note(&timestamp.get())}</p>
            <div class="field">
                <label for="check-body">"Body"</label>
                <textarea
                    id="check-body"
                    class="mono"
                    rows="3"
                    spellcheck="false"
                    prop:value=move || body.get()
                    on:input=move |ev| body.set(event_target_value(&ev))
                ></textarea>
            </div>
            {field("check-signature", "X-CS-Signature you sent", theirs)}
            <div class="field">
                <label for="check-secret">"API secret (optional; it never leaves this browser)"</label>
                <input
                    id="check-secret"
                    class="mono"
                    type="password"
                    autocomplete="off"
                    prop:value=move || secret.get()
                    on:input=move |ev| secret.set(event_target_value(&ev))
                />
            </div>
            <div class="field">
                <label for="check-canonical">"The string we sign"</label>
                <textarea
                    id="check-canonical"
                    class="mono"
                    rows="3"
                    readonly
                    prop:value=canonical
                ></textarea>
            </div>
            <button
                type="button"
                class="secondary"
                disabled=move || !ready.get() || secret.get().is_empty()
                on:click=check
            >
                "Check"
            </button>
            <p class="hint" hidden=move || ready.get()>
                "Checking needs JavaScript: it computes the signature in this browser."
            </p>
            <div role="status" class="check-result">
                {move || {
                    expected
                        .get()
                        .map(|sig| {
                            view! {
                                <p>"Expected X-CS-Signature: " <code class="mono">{sig}</code></p>
                            }
                        })
                }}
                {move || verdict().map(|text| view! { <p>{text}</p> })}
            </div>
        </section>
    }
}

/// What is wrong with a timestamp, or how far it is from this browser's clock.
fn timestamp_note(timestamp: &str) -> String {
    let timestamp = timestamp.trim();
    if timestamp.is_empty() {
        return String::new();
    }
    let canonical = timestamp.len() <= 16
        && timestamp.bytes().all(|b| b.is_ascii_digit())
        && !timestamp.starts_with('0');
    let Some(at) = canonical.then(|| timestamp.parse::<i64>().ok()).flatten() else {
        return "Refused as malformed: X-CS-Timestamp must be milliseconds since the Unix epoch, in digits without leading zeros.".into();
    };
    let Some(now) = browser_now_ms() else {
        return String::new();
    };
    let seconds = (at - now) / 1000;
    let side = if seconds < 0 { "before" } else { "after" };
    let distance = seconds.abs();
    if distance > WINDOW_SECONDS {
        format!(
            "{distance} s {side} this browser's clock: outside the {WINDOW_SECONDS} s we accept, so refused as stale or future. Sign each request when you send it."
        )
    } else {
        format!(
            "{distance} s {side} this browser's clock: within the {WINDOW_SECONDS} s we accept."
        )
    }
}

fn browser_now_ms() -> Option<i64> {
    #[cfg(feature = "hydrate")]
    {
        Some(js_sys::Date::now() as i64)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

/// HMAC-SHA256 of `message` under `key`, in lowercase hex, by WebCrypto (browser only).
async fn hmac_sha256_hex(key: &str, message: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        use wasm_bindgen_futures::JsFuture;
        let subtle = window().crypto().ok()?.subtle();
        let algorithm = js_sys::Object::new();
        js_sys::Reflect::set(&algorithm, &"name".into(), &"HMAC".into()).ok()?;
        js_sys::Reflect::set(&algorithm, &"hash".into(), &"SHA-256".into()).ok()?;
        let usages = js_sys::Array::of1(&"sign".into());
        let key_bytes = js_sys::Uint8Array::from(key.as_bytes());
        let imported = subtle
            .import_key_with_object("raw", &key_bytes, &algorithm, false, &usages)
            .ok()?;
        let key: web_sys::CryptoKey = JsFuture::from(imported).await.ok()?.dyn_into().ok()?;
        let signed = subtle
            .sign_with_str_and_u8_array("HMAC", &key, message.as_bytes())
            .ok()?;
        let bytes = js_sys::Uint8Array::new(&JsFuture::from(signed).await.ok()?).to_vec();
        Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (key, message);
        None
    }
}
