//! Page pieces every feature uses.

pub mod copy;
pub mod time;

use leptos::{either::EitherOf3, prelude::*};

use crate::error::{AppError, UNAVAILABLE};

/// The document's `<title>`. Use this, never `leptos_meta::Title`: leptos_meta 0.8 writes a
/// server-rendered title into the `<head>` as it is, unescaped, so a name with `</title>` in it
/// would end the title and start markup of its author's choosing. Escaped here, it is shown as
/// typed. (In the browser, a title is set as text and needs no escaping; pages are rendered on
/// the server only, so this runs there.)
#[component]
pub fn PageTitle(#[prop(into)] text: String) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let text = escape_text(&text);
    view! { <leptos_meta::Title text /> }
}

/// Text made safe to put between HTML tags (and in a quoted attribute).
pub fn escape_text(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// The message of a server action's last error, if its last call failed.
pub fn error_of<T: Clone + Send + Sync + 'static>(
    value: impl Get<Value = Option<Result<T, AppError>>> + Clone + Send + Sync + 'static,
) -> impl Fn() -> Option<String> + Clone + Send + Sync + 'static {
    move || value.get().and_then(Result::err).map(|e| e.to_string())
}

/// A page's data once `data` has loaded: `view` renders it; a missing (or someone else's) one
/// is "Page not found" with 404; any other error is said in an alert.
///
/// Pages are rendered on the server only, whole (`SsrMode::Async`), and read their data once:
/// a plain future, [`start`]ed at once and awaited in place. A `Resource` under a `Suspense`
/// would add what only a view that loads again in the browser needs: a reactive node registered
/// for hydration, and a boundary that walks its children once more to find their reads.
pub fn loaded<T, V>(
    data: impl Future<Output = Result<T, AppError>> + Send + 'static,
    view: impl FnOnce(T) -> V + Send + 'static,
) -> impl IntoView
where
    T: Send + 'static,
    V: IntoView + 'static,
{
    let data = start(data);
    Suspend::new(async move {
        match data.await {
            Ok(data) => EitherOf3::A(view(data)),
            Err(AppError::NotFound) => EitherOf3::B(view! { <NotFound /> }),
            Err(error) => {
                EitherOf3::C(view! { <p class="error" role="alert">{error.to_string()}</p> })
            }
        }
    })
}

/// `load`, started now. What is cached is there at once; a load that has to wait (for the
/// database) goes on by itself, with the page's context, while the page renders. The render
/// awaits a page's loads one after the other, so a load begun and then left unpolled would keep
/// its database connection while the render waits on another, and enough pages at once would
/// hold the whole pool.
pub fn start<T: Send + 'static>(
    load: impl Future<Output = Result<T, AppError>> + Send + 'static,
) -> impl Future<Output = Result<T, AppError>> + Send + 'static {
    #[cfg(feature = "ssr")]
    {
        use futures_util::{FutureExt, future::Either};
        use leptos::reactive::computed::ScopedFuture;

        let mut load = Box::pin(load);
        if let Some(loaded) = load.as_mut().now_or_never() {
            return Either::Left(std::future::ready(loaded));
        }
        let (done, loaded) = tokio::sync::oneshot::channel();
        leptos::reactive::spawn(ScopedFuture::new(async move {
            // The page may be gone (its client left): then nobody awaits this.
            let _ = done.send(load.await);
        }));
        // The sender went without sending: the load panicked, or the server is shutting down.
        Either::Right(async move { loaded.await.unwrap_or(Err(AppError::Internal)) })
    }
    #[cfg(not(feature = "ssr"))]
    load
}

/// A data table: its (visually hidden) caption names it for assistive technology and tests,
/// one header cell per column, and the rows.
#[component]
pub fn DataTable(
    /// Classes besides `grid`.
    #[prop(optional)]
    class: &'static str,
    caption: &'static str,
    columns: &'static [&'static str],
    children: Children,
) -> impl IntoView {
    view! {
        <table class=format!("grid {class}")>
            <caption class="visually-hidden">{caption}</caption>
            <thead>
                <tr>
                    {columns
                        .iter()
                        .map(|column| view! { <th scope="col">{*column}</th> })
                        .collect_view()}
                </tr>
            </thead>
            <tbody>{children()}</tbody>
        </table>
    }
}

/// "Page not found", with the 404 status when rendered on the server.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <PageTitle text="Page not found · Customer Portal" />
        <h1>"Page not found"</h1>
        <p>
            <a href="/" rel="external">"Go to the portal's home"</a>
        </p>
    }
}

/// Given as context to a page rendered while the database cannot be reached: the layout shows
/// [`Unavailable`] in place of the page (whose data could not be read).
#[derive(Debug, Clone, Copy)]
pub struct DatabaseUnavailable;

/// What a person sees while the database cannot be reached (status 503, set by the server).
#[component]
pub fn Unavailable() -> impl IntoView {
    view! {
        <PageTitle text="Temporarily unavailable · Customer Portal" />
        <h1>"Temporarily unavailable"</h1>
        <p class="error" role="alert">
            {UNAVAILABLE}
        </p>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped_and_plain_text_kept() {
        assert_eq!(
            escape_text(r#"</title><script>alert("1")</script> & 'x'"#),
            "&lt;/title&gt;&lt;script&gt;alert(&quot;1&quot;)&lt;/script&gt; &amp; &#39;x&#39;"
        );
        assert_eq!(escape_text("Production · café"), "Production · café");
    }

    /// Every page sets its title through [`PageTitle`]: a file that names leptos_meta's `Title`
    /// itself would bring the unescaped one back.
    #[test]
    fn no_page_uses_leptos_metas_title_directly() {
        fn visit(dir: &std::path::Path, offenders: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    visit(&path, offenders);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && !path.ends_with("ui/mod.rs")
                {
                    let source = std::fs::read_to_string(&path).unwrap();
                    if source.contains("<Title") || source.contains("meta::Title") {
                        offenders.push(path.display().to_string());
                    }
                }
            }
        }
        let mut offenders = Vec::new();
        visit(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut offenders,
        );
        assert!(offenders.is_empty(), "use ui::PageTitle in {offenders:?}");
    }
}
