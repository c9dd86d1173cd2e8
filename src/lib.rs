//! The Customer Portal's "API secrets" tab: one crate, built twice by cargo-leptos, as the
//! server (feature `ssr`) and as the WASM that hydrates its pages (feature `hydrate`).

#![recursion_limit = "256"]

pub mod accounts;
pub mod app;
pub mod audit;
pub mod audit_log;
pub mod environments;
pub mod error;
pub mod events;
pub mod members;
pub mod secrets;
pub mod status;
pub mod ui;
pub mod webhooks;

#[cfg(feature = "ssr")]
pub mod api;
#[cfg(feature = "ssr")]
pub mod platform;
#[cfg(feature = "ssr")]
pub mod server;

#[cfg(test)]
mod layers;

/// Entry point of the WASM bundle. Pages are rendered on the server; only their interactive
/// parts (`#[island]` components) are hydrated, so the WASM carries only their code. Then
/// `<html data-hydrated>` tells scripts and tests that clicks are handled.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    open_dialogs_without_invoker_commands();
    if let Some(root) = leptos::prelude::document().document_element() {
        let _ = root.set_attribute("data-hydrated", "");
    }
}

/// Dialogs open with HTML invoker commands (`<button commandfor=… command="show-modal">`), no
/// script needed. Browsers that predate them (Chrome 135, Firefox 144, Safari 26.2) ignore
/// those buttons: there, once the WASM runs, a click on one does what it says.
#[cfg(feature = "hydrate")]
fn open_dialogs_without_invoker_commands() {
    use wasm_bindgen::{JsCast, closure::Closure};
    let document = leptos::prelude::document();
    let supported = js_sys::Reflect::get(&leptos::prelude::window(), &"HTMLButtonElement".into())
        .and_then(|class| js_sys::Reflect::get(&class, &"prototype".into()))
        .and_then(|prototype| js_sys::Reflect::has(&prototype, &"command".into()))
        .unwrap_or(true);
    if supported {
        return;
    }
    let on_click = Closure::<dyn Fn(web_sys::Event)>::new(|event: web_sys::Event| {
        let Some(button) = event
            .target()
            .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
            .and_then(|element| element.closest("button[commandfor]").ok().flatten())
        else {
            return;
        };
        let Some(dialog) = button
            .get_attribute("commandfor")
            .and_then(|id| leptos::prelude::document().get_element_by_id(&id))
            .and_then(|element| element.dyn_into::<web_sys::HtmlDialogElement>().ok())
        else {
            return;
        };
        match button.get_attribute("command").as_deref() {
            Some("show-modal") => {
                let _ = dialog.show_modal();
            }
            Some("close") => dialog.close(),
            _ => return,
        }
        event.prevent_default();
    });
    let _ = document.add_event_listener_with_callback("click", on_click.as_ref().unchecked_ref());
    // Listens for the page's lifetime.
    on_click.forget();
}
