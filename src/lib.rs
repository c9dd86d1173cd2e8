//! The Customer Portal's "API secrets" tab: one crate, built twice by cargo-leptos, as the
//! server (feature `ssr`) and as the WASM that hydrates its pages (feature `hydrate`).

pub mod accounts;
pub mod app;
pub mod environments;
pub mod error;
pub mod secrets;
pub mod status;

#[cfg(feature = "ssr")]
pub mod server;

/// Entry point of the WASM bundle: takes over the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
