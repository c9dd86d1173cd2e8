//! Moments and how they are shown: relative ("3 hours ago", "in 10 minutes"), exact in the
//! viewer's time zone once hydrated, and the browser clock that keeps them fresh.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// "just now", "5 minutes ago", "3 hours ago", "2 days ago"… from two epoch milliseconds.
/// A moment in the future (clock skew) is "just now".
pub fn relative_time(now_ms: i64, then_ms: i64) -> String {
    const MINUTE: i64 = 60;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;
    let seconds = (now_ms - then_ms).max(0) / 1000;
    let (count, unit) = match seconds {
        s if s < 45 => return "just now".into(),
        s if s < HOUR => (s / MINUTE, "minute"),
        s if s < DAY => (s / HOUR, "hour"),
        s if s < 30 * DAY => (s / DAY, "day"),
        s if s < 365 * DAY => (s / (30 * DAY), "month"),
        s => (s / (365 * DAY), "year"),
    };
    let count = count.max(1);
    if count == 1 {
        format!("1 {unit} ago")
    } else {
        format!("{count} {unit}s ago")
    }
}

/// A moment, as the server describes it: milliseconds since the epoch (for relative times),
/// RFC 3339 (for `<time datetime>`), and a readable UTC text until the browser shows local time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moment {
    pub ms: i64,
    pub iso: String,
    pub utc: String,
}

/// RFC 3339 in UTC to the millisecond: how moments are written for machines (`<time datetime>`,
/// the REST API).
#[cfg(feature = "ssr")]
pub fn iso(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(feature = "ssr")]
impl From<chrono::DateTime<chrono::Utc>> for Moment {
    fn from(at: chrono::DateTime<chrono::Utc>) -> Self {
        Moment {
            ms: at.timestamp_millis(),
            iso: iso(at),
            utc: at.format("%-d %b %Y, %H:%M UTC").to_string(),
        }
    }
}

/// "now", "in 40 seconds", "in 10 minutes", "in 3 hours": when the next attempt is due.
pub fn time_until(now_ms: i64, then_ms: i64) -> String {
    let seconds =
        u64::try_from(then_ms.saturating_sub(now_ms).saturating_add(999) / 1000).unwrap_or(0);
    let (count, unit) = match seconds {
        0 => return "now".into(),
        s if s < 60 => (s, "second"),
        s if s < 3600 => (s.div_ceil(60), "minute"),
        s => (s.div_ceil(3600), "hour"),
    };
    if count == 1 {
        format!("in 1 {unit}")
    } else {
        format!("in {count} {unit}s")
    }
}

/// Starts the browser clock that keeps relative times fresh (browser only).
pub fn start_clock(now_ms: RwSignal<i64>) {
    #[cfg(feature = "hydrate")]
    {
        let tick = move || now_ms.set(js_sys::Date::now() as i64);
        tick();
        if let Ok(handle) = set_interval_with_handle(tick, std::time::Duration::from_secs(15)) {
            on_cleanup(move || handle.clear());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = now_ms;
}

/// The exact date and time in the viewer's locale and time zone (browser only).
pub fn local_time(ms: i64) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsValue;
        let options = js_sys::Object::new();
        js_sys::Reflect::set(&options, &"dateStyle".into(), &"medium".into()).ok()?;
        js_sys::Reflect::set(&options, &"timeStyle".into(), &"long".into()).ok()?;
        let date = js_sys::Date::new(&JsValue::from_f64(ms as f64));
        let locale = window()
            .navigator()
            .language()
            .unwrap_or_else(|| "en".into());
        Some(date.to_locale_string(&locale, &options).into())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ms;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_naturally() {
        let now = 1_800_000_000_000;
        let ago = |s: i64| relative_time(now, now - s * 1000);
        assert_eq!(ago(-30), "just now");
        assert_eq!(ago(10), "just now");
        assert_eq!(ago(50), "1 minute ago");
        assert_eq!(ago(5 * 60), "5 minutes ago");
        assert_eq!(ago(59 * 60 + 50), "59 minutes ago");
        assert_eq!(ago(3 * 3600), "3 hours ago");
        assert_eq!(ago(23 * 3600 + 40 * 60), "23 hours ago");
        assert_eq!(ago(2 * 86400), "2 days ago");
        assert_eq!(ago(45 * 86400), "1 month ago");
        assert_eq!(ago(800 * 86400), "2 years ago");
    }

    #[test]
    fn next_attempts_read_naturally() {
        let now = 1_800_000_000_000;
        assert_eq!(time_until(now, now - 5_000), "now");
        assert_eq!(time_until(now, now), "now");
        assert_eq!(time_until(now, now + 1), "in 1 second");
        assert_eq!(time_until(now, now + 40_000), "in 40 seconds");
        assert_eq!(time_until(now, now + 60_000), "in 1 minute");
        assert_eq!(time_until(now, now + 9 * 60_000 + 1), "in 10 minutes");
        assert_eq!(time_until(now, now + 3 * 3_600_000), "in 3 hours");
    }
}
