//! The Customer Portal's "API secrets" tab: one crate, built twice by cargo-leptos, as the
//! server (feature `ssr`) and as the WASM that hydrates its pages (feature `hydrate`).

#![recursion_limit = "256"]

pub mod accounts;
pub mod app;
pub mod environments;
pub mod error;
pub mod secrets;
pub mod status;
pub mod webhooks;

#[cfg(feature = "ssr")]
pub mod api;
#[cfg(feature = "ssr")]
pub mod audit;
#[cfg(feature = "ssr")]
pub mod server;

/// Entry point of the WASM bundle. Pages are rendered on the server; only their interactive
/// parts (`#[island]` components) are hydrated, so the WASM carries only their code. Then
/// `<html data-hydrated>` tells scripts and tests that clicks are handled.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    if let Some(root) = leptos::prelude::document().document_element() {
        let _ = root.set_attribute("data-hydrated", "");
    }
}
