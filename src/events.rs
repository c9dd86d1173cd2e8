//! The events our webhooks carry, named as in their payloads. The outbox takes an [`Event`], so
//! a misspelt event cannot compile; webhooks subscribe to these names.

/// One kind of event a webhook can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Sent once to a webhook just added, to check it.
    Ping,
    ApiSecretCreated,
    ApiSecretRemoved,
    WebhookSignerChanged,
    /// An API secret expires in 7 days, or in 1 day (sent once each).
    ApiSecretExpiring,
    /// An API secret has expired: it verifies nothing from now on.
    ApiSecretExpired,
}

impl Event {
    pub const ALL: [Event; 6] = [
        Event::Ping,
        Event::ApiSecretCreated,
        Event::ApiSecretRemoved,
        Event::WebhookSignerChanged,
        Event::ApiSecretExpiring,
        Event::ApiSecretExpired,
    ];

    /// Every event's name, in the order of [`Event::ALL`].
    pub const NAMES: [&'static str; 6] = [
        Event::ALL[0].name(),
        Event::ALL[1].name(),
        Event::ALL[2].name(),
        Event::ALL[3].name(),
        Event::ALL[4].name(),
        Event::ALL[5].name(),
    ];

    /// The name payloads and subscriptions use.
    pub const fn name(self) -> &'static str {
        match self {
            Event::Ping => "ping",
            Event::ApiSecretCreated => "api_secret.created",
            Event::ApiSecretRemoved => "api_secret.removed",
            Event::WebhookSignerChanged => "webhook_signer.changed",
            Event::ApiSecretExpiring => "api_secret.expiring",
            Event::ApiSecretExpired => "api_secret.expired",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_and_in_order() {
        let mut names = Event::NAMES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Event::ALL.len());
        for (event, name) in Event::ALL.into_iter().zip(Event::NAMES) {
            assert_eq!(event.name(), name);
        }
    }
}
