//! "Copy" buttons: the Clipboard API, then a visible "Copied" (or what to do instead).

use leptos::prelude::*;

/// "Copy" (Clipboard API), then a visible "Copied".
#[island]
pub fn CopyButton(text: String) -> impl IntoView {
    let copied = RwSignal::new(None::<bool>);
    view! {
        <button type="button" class="secondary" on:click=copy_on_click(text, copied)>
            "Copy"
        </button>
        <span class="copied" role="status">
            {copy_outcome(copied)}
        </span>
    }
}

/// A "Copy" button's click: copies `text` (Clipboard API), then records in `copied` whether it
/// worked.
pub fn copy_on_click(
    text: String,
    copied: RwSignal<Option<bool>>,
) -> impl Fn(leptos::ev::MouseEvent) + 'static {
    move |_| {
        let text = text.clone();
        leptos::task::spawn_local(async move {
            copied.set(Some(copy_to_clipboard(&text).await));
        });
    }
}

/// What a "Copy" button's status says.
pub fn copy_outcome(copied: RwSignal<Option<bool>>) -> impl Fn() -> &'static str + 'static {
    move || match copied.get() {
        Some(true) => "Copied",
        Some(false) => "Could not copy: select the value and copy it yourself.",
        None => "",
    }
}

/// Writes to the clipboard through the Clipboard API; whether it worked (browser only).
async fn copy_to_clipboard(text: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        let promise = window().navigator().clipboard().write_text(text);
        wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = text;
        false
    }
}
