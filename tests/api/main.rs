//! The integration tests, one binary (one link): the real router and a real Postgres
//! (`#[sqlx::test]`: a fresh database per test), a module per area; `logs` and `server` run the
//! server's own binary (`process`).
#![cfg(feature = "ssr")]

mod accounts;
mod api_secrets;
mod audit_log;
mod config;
mod expiry;
mod failed_requests;
mod foundation;
mod helpers;
mod logs;
mod members;
mod plain_forms;
mod process;
mod rest_api;
mod roles;
mod rotation;
mod server;
mod sessions;
mod snippets;
mod step_up;
mod two_factor;
mod usage;
mod webhooks;
