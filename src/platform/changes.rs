//! One connection per instance listens for the changes other instances make (Postgres `NOTIFY`,
//! sent by triggers at commit) and hands each to the cache that follows its channel.
//!
//! Notifications sent while the connection is down are lost: a cache is told when it stops and
//! starts following, and treats what it holds as unconfirmed then.

use std::{sync::Arc, time::Duration};

use sqlx::PgPool;

/// A cache kept in step with the database by notifications.
pub trait Follower: Send + Sync {
    /// The channel its triggers notify.
    fn channel(&self) -> &'static str;
    /// Something changed; `payload` says what (a trigger's choice).
    fn changed(&self, payload: &str);
    /// Notifications are followed from now on (`true`), or may be missed (`false`).
    fn following(&self, yes: bool);
}

/// Follows the channels until the pool closes (the server is shutting down), reconnecting a
/// second after the connection is lost.
pub async fn listen(pool: PgPool, followers: Vec<Arc<dyn Follower>>) {
    let channels: Vec<&str> = followers.iter().map(|f| f.channel()).collect();
    let each = |yes: bool| followers.iter().for_each(|f| f.following(yes));
    while !pool.is_closed() {
        match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(mut listener) => {
                if let Err(e) = listener.listen_all(channels.iter().copied()).await {
                    tracing::warn!(error = %e, "cannot LISTEN for changes");
                } else {
                    each(true);
                    loop {
                        match listener.try_recv().await {
                            Ok(Some(notification)) => {
                                let channel = notification.channel();
                                followers
                                    .iter()
                                    .filter(|f| f.channel() == channel)
                                    .for_each(|f| f.changed(notification.payload()));
                            }
                            // Reconnected: what happened meanwhile is unknown.
                            Ok(None) => {
                                each(false);
                                each(true);
                            }
                            Err(_) if pool.is_closed() => return,
                            Err(e) => {
                                tracing::warn!(error = %e, "the change listener failed");
                                break;
                            }
                        }
                    }
                }
            }
            Err(_) if pool.is_closed() => return,
            Err(e) => tracing::warn!(error = %e, "cannot connect the change listener"),
        }
        each(false);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
