//! Focus inside the modal, and back to where it was: DOM work done in the browser only.

use leptos::prelude::*;

use super::STATUS_ID;

/// Tab from the modal's last control goes to its first, Shift+Tab from the first to the last:
/// focus never leaves the modal for the browser's toolbar.
pub(super) fn keep_focus_inside(event: leptos::ev::KeyboardEvent) {
    use wasm_bindgen::JsCast;
    if event.key() != "Tab" {
        return;
    }
    let Some(dialog) = event
        .current_target()
        .and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok())
    else {
        return;
    };
    let Ok(list) = dialog.query_selector_all(
        "button:not([disabled]), input:not([disabled]), [tabindex]:not([tabindex='-1'])",
    ) else {
        return;
    };
    let focusable: Vec<leptos::web_sys::HtmlElement> = (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|node| node.dyn_into().ok())
        .collect();
    let (Some(first), Some(last)) = (focusable.first(), focusable.last()) else {
        return;
    };
    let active = document().active_element();
    let is = |el: &leptos::web_sys::HtmlElement| {
        let element: &leptos::web_sys::Element = el;
        active.as_ref() == Some(element)
    };
    let target = if event.shift_key() && is(first) {
        last
    } else if !event.shift_key() && is(last) {
        first
    } else {
        return;
    };
    event.prevent_default();
    let _ = target.focus();
}

/// Moves focus to the element with this id, or to the status message if it is gone or disabled.
pub(super) fn focus_back(id: &str) {
    use wasm_bindgen::JsCast;
    let focus = |id: &str| {
        document()
            .get_element_by_id(id)
            .and_then(|el| el.dyn_into::<leptos::web_sys::HtmlElement>().ok())
            .is_some_and(|el| {
                let _ = el.focus();
                let element: &leptos::web_sys::Element = &el;
                document()
                    .active_element()
                    .is_some_and(|active| active == *element)
            })
    };
    if !focus(id) {
        focus(STATUS_ID);
    }
}
