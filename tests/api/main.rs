//! The integration tests, one binary (one link): the real router and a real Postgres
//! (`#[sqlx::test]`: a fresh database per test), a module per area. `logs.rs` and `server.rs`
//! stay binaries of their own: one installs the process-wide log subscriber, the other runs the
//! server's own binary.
#![cfg(feature = "ssr")]

mod accounts;
mod api_secrets;
mod audit_log;
mod config;
mod expiry;
mod failed_requests;
mod foundation;
mod helpers;
mod members;
mod plain_forms;
mod rest_api;
mod roles;
mod rotation;
mod sessions;
mod snippets;
mod step_up;
mod two_factor;
mod usage;
mod webhooks;
