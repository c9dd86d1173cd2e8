//! Configuration: Leptos.toml (site settings) plus environment variables (see `.env.example`).

use std::{path::PathBuf, str::FromStr};

use leptos::config::{LeptosOptions, get_config_from_str};
use sqlx::postgres::PgConnectOptions;

use super::{
    client::TrustedProxies,
    crypto::{self, Keyring, KeyringError},
};

/// Where Leptos.toml is read from unless `PORTAL_LEPTOS_TOML` says otherwise.
pub const DEFAULT_LEPTOS_TOML: &str = "Leptos.toml";
/// The development key file, created on first start when no master key is configured (DEV only).
pub const DEV_KEY_FILE: &str = ".data/secrets.keys";

pub struct Config {
    pub leptos_options: LeptosOptions,
    /// Parsed from `DATABASE_URL`; never logged (it may hold a password).
    pub database: PgConnectOptions,
    pub database_max_connections: u32,
    /// `DATABASE_MIGRATION_URL`: the schema owner's connection, for migrations only (the server
    /// itself then connects as a role that cannot change the schema); never logged.
    pub migration_database: Option<PgConnectOptions>,
    /// `PORTAL_SECURE_COOKIES`; defaults to true in PROD, false in DEV (plain http on loopback).
    pub secure_cookies: bool,
    /// The master keys that seal API secrets (`PORTAL_SECRETS_KEYS` or `PORTAL_SECRETS_KEY_FILE`).
    pub keyring: Keyring,
    /// `PORTAL_SIGNATURE_TOLERANCE_SECS` (default 300): accepted distance of `X-CS-Timestamp`.
    pub signature_tolerance: std::time::Duration,
    /// `PORTAL_KEY_CACHE_TTL_SECS` (default 60): the backstop for the key cache's invalidation.
    pub key_cache_ttl: std::time::Duration,
    /// `PORTAL_USAGE_FLUSH_MS` (default 1000): how often "last used" marks are written.
    pub usage_flush_interval: std::time::Duration,
    /// `PORTAL_JANITOR_SECS` (default 60): how often pruning and API secrets' expiry notices run.
    pub janitor_interval: std::time::Duration,
    /// `PORTAL_WEBHOOK_*`: see [`WebhookSettings`].
    pub webhooks: WebhookSettings,
    /// `PORTAL_TRUSTED_PROXIES` (default none): see [`super::client`].
    pub trusted_proxies: TrustedProxies,
    /// `PORTAL_SIGN_UPS_PER_HOUR` (default 10): sign-ups accepted per client address per hour.
    pub sign_ups_per_hour: i32,
    /// `PORTAL_PUBLIC_URL` (default: none): where customers reach the portal
    /// (`https://portal.example.com`), for links it hands out (invitations). Without it, links
    /// name the host the request was sent to.
    pub public_url: Option<String>,
}

/// The webhook settings (see `.env.example`).
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// `PORTAL_WEBHOOK_ALLOW_HTTP`: plain http URLs (default: not in production).
    pub allow_http: bool,
    /// `PORTAL_WEBHOOK_ALLOW_PRIVATE`: loopback and private-range targets (default: not in
    /// production).
    pub allow_private: bool,
    /// `PORTAL_WEBHOOK_MINUTE_MS`: how long one minute of "Retry interval" lasts (default
    /// 60000; tests shorten it).
    pub minute: std::time::Duration,
    /// `PORTAL_WEBHOOK_SIGNER_GRACE_SECS`: how long after a signer switch deliveries also carry
    /// the previous signer's signature (default 24 h; 0 turns it off).
    pub signer_grace: std::time::Duration,
    /// Per attempt, connection to last byte.
    pub timeout: std::time::Duration,
}

impl WebhookSettings {
    pub fn new(production: bool) -> WebhookSettings {
        WebhookSettings {
            allow_http: !production,
            allow_private: !production,
            minute: std::time::Duration::from_secs(60),
            signer_grace: std::time::Duration::from_secs(24 * 3600),
            timeout: std::time::Duration::from_secs(15),
        }
    }
}

/// Sign-ups accepted per client address per hour unless `PORTAL_SIGN_UPS_PER_HOUR` says otherwise:
/// a team's colleagues join by invitation, not by signing up, so a few an hour is plenty for any
/// one network.
pub const DEFAULT_SIGN_UPS_PER_HOUR: i32 = 10;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source} (set PORTAL_LEPTOS_TOML to its path)")]
    ReadLeptosToml {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid: {message}")]
    LeptosToml { path: PathBuf, message: String },
    #[error(
        "DATABASE_URL is not set: point it at PostgreSQL, or start the portal with scripts/run, \
         which starts a local database"
    )]
    MissingDatabaseUrl,
    #[error("DATABASE_URL is not a valid PostgreSQL URL")]
    InvalidDatabaseUrl,
    #[error(
        "no master key for API secrets: set PORTAL_SECRETS_KEY_FILE (a file of `id:hex` lines, \
         mode 600) or PORTAL_SECRETS_KEYS (see docs/operations.md, \"Master keys\")"
    )]
    MissingMasterKey,
    #[error("cannot read the master key file {path}: {source}")]
    ReadKeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create the development master key file {path}: {source}")]
    CreateKeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{source_name}: {error}")]
    Keyring {
        source_name: String,
        error: KeyringError,
    },
    #[error("{name} must be {expected}")]
    Invalid {
        name: &'static str,
        expected: &'static str,
    },
}

impl Config {
    /// The server's configuration, from its environment variables.
    pub fn from_env() -> Result<Self, ConfigError> {
        Config::from_vars(|name| std::env::var(name).ok())
    }

    /// The configuration that these variables describe (`var` looks one up): what the server
    /// reads from its environment, and tests from a list of their own.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let path =
            PathBuf::from(var("PORTAL_LEPTOS_TOML").unwrap_or_else(|| DEFAULT_LEPTOS_TOML.into()));
        let text =
            std::fs::read_to_string(&path).map_err(|source| ConfigError::ReadLeptosToml {
                path: path.clone(),
                source,
            })?;
        let leptos_options = leptos_options_from_str(&text)
            .map_err(|message| ConfigError::LeptosToml { path, message })?;

        let url = var("DATABASE_URL").ok_or(ConfigError::MissingDatabaseUrl)?;
        // The parse error could quote the URL, password included: do not pass it on.
        let database =
            PgConnectOptions::from_str(&url).map_err(|_| ConfigError::InvalidDatabaseUrl)?;
        let migration_database = match var("DATABASE_MIGRATION_URL") {
            Some(url) => {
                Some(
                    PgConnectOptions::from_str(&url).map_err(|_| ConfigError::Invalid {
                        name: "DATABASE_MIGRATION_URL",
                        expected: "a valid PostgreSQL URL",
                    })?,
                )
            }
            None => None,
        };
        let database_max_connections = parse_var(
            &var,
            "DATABASE_MAX_CONNECTIONS",
            10,
            "a number from 1 to 1000",
        )?;
        if !(1..=1000).contains(&database_max_connections) {
            return Err(ConfigError::Invalid {
                name: "DATABASE_MAX_CONNECTIONS",
                expected: "a number from 1 to 1000",
            });
        }
        let production = leptos_options.env == leptos::config::Env::PROD;
        let secure_cookies = parse_var(&var, "PORTAL_SECURE_COOKIES", production, "true or false")?;
        let keyring = keyring_from(
            |name| var(name).map(std::ffi::OsString::from),
            production,
            std::path::Path::new(DEV_KEY_FILE),
        )?;
        let signature_tolerance = std::time::Duration::from_secs(parse_var(
            &var,
            "PORTAL_SIGNATURE_TOLERANCE_SECS",
            300,
            "a number of seconds",
        )?);
        let key_cache_ttl = std::time::Duration::from_secs(parse_var(
            &var,
            "PORTAL_KEY_CACHE_TTL_SECS",
            60,
            "a number of seconds",
        )?);
        let janitor_interval = std::time::Duration::from_secs(parse_var(
            &var,
            "PORTAL_JANITOR_SECS",
            60,
            "a number of seconds",
        )?);
        if janitor_interval.is_zero() {
            return Err(ConfigError::Invalid {
                name: "PORTAL_JANITOR_SECS",
                expected: "a number of seconds above 0",
            });
        }
        let mut webhooks = WebhookSettings::new(production);
        webhooks.allow_http = parse_var(
            &var,
            "PORTAL_WEBHOOK_ALLOW_HTTP",
            webhooks.allow_http,
            "true or false",
        )?;
        webhooks.allow_private = parse_var(
            &var,
            "PORTAL_WEBHOOK_ALLOW_PRIVATE",
            webhooks.allow_private,
            "true or false",
        )?;
        let minute_ms: u64 = parse_var(
            &var,
            "PORTAL_WEBHOOK_MINUTE_MS",
            60_000,
            "a number of milliseconds",
        )?;
        if minute_ms == 0 {
            return Err(ConfigError::Invalid {
                name: "PORTAL_WEBHOOK_MINUTE_MS",
                expected: "a number of milliseconds above 0",
            });
        }
        webhooks.minute = std::time::Duration::from_millis(minute_ms);
        webhooks.signer_grace = std::time::Duration::from_secs(parse_var(
            &var,
            "PORTAL_WEBHOOK_SIGNER_GRACE_SECS",
            24 * 3600,
            "a number of seconds",
        )?);
        let usage_flush_interval = std::time::Duration::from_millis(parse_var(
            &var,
            "PORTAL_USAGE_FLUSH_MS",
            1000,
            "a number of milliseconds",
        )?);
        if usage_flush_interval.is_zero() {
            return Err(ConfigError::Invalid {
                name: "PORTAL_USAGE_FLUSH_MS",
                expected: "a number of milliseconds above 0",
            });
        }
        let trusted_proxies = TrustedProxies::parse(
            &var("PORTAL_TRUSTED_PROXIES").unwrap_or_default(),
        )
        .ok_or(ConfigError::Invalid {
            name: "PORTAL_TRUSTED_PROXIES",
            expected: "addresses or CIDRs (10.0.0.0/8), separated by commas",
        })?;
        let sign_ups_per_hour = parse_var(
            &var,
            "PORTAL_SIGN_UPS_PER_HOUR",
            DEFAULT_SIGN_UPS_PER_HOUR,
            "a number from 1 to 1000000",
        )?;
        if !(1..=1_000_000).contains(&sign_ups_per_hour) {
            return Err(ConfigError::Invalid {
                name: "PORTAL_SIGN_UPS_PER_HOUR",
                expected: "a number from 1 to 1000000",
            });
        }
        let public_url = match var("PORTAL_PUBLIC_URL") {
            Some(value) => Some(public_url(&value).ok_or(ConfigError::Invalid {
                name: "PORTAL_PUBLIC_URL",
                expected: "an http(s) origin like https://portal.example.com (no path)",
            })?),
            None => None,
        };
        Ok(Config {
            public_url,
            sign_ups_per_hour,
            trusted_proxies,
            usage_flush_interval,
            janitor_interval,
            webhooks,
            leptos_options,
            database,
            migration_database,
            database_max_connections,
            secure_cookies,
            keyring,
            signature_tolerance,
            key_cache_ttl,
        })
    }
}

/// `PORTAL_SECRETS_KEYS` (entries), else the file `PORTAL_SECRETS_KEY_FILE` names, else — in
/// development only — [`DEV_KEY_FILE`]. In development a key file that does not exist yet is
/// created with a new key (a local portal starts on an empty machine); production refuses to
/// start without a key, and never writes one.
fn keyring_from(
    var: impl Fn(&str) -> Option<std::ffi::OsString>,
    production: bool,
    dev_key_file: &std::path::Path,
) -> Result<Keyring, ConfigError> {
    if let Some(text) = var("PORTAL_SECRETS_KEYS") {
        let text = zeroize::Zeroizing::new(text.to_string_lossy().into_owned());
        return Keyring::parse(&text).map_err(|error| ConfigError::Keyring {
            source_name: "PORTAL_SECRETS_KEYS".into(),
            error,
        });
    }
    let path = match var("PORTAL_SECRETS_KEY_FILE") {
        Some(path) => PathBuf::from(path),
        None if production => return Err(ConfigError::MissingMasterKey),
        None => dev_key_file.to_owned(),
    };
    if !production {
        create_dev_key_file(&path)?;
    }
    keyring_from_file(&path)
}

/// Creates `path` with a new key unless it exists (another instance may be creating it now).
fn create_dev_key_file(path: &std::path::Path) -> Result<(), ConfigError> {
    let id = format!("dev-{}", chrono::Utc::now().format("%Y%m%d%H%M%S"));
    match crypto::create_key_file(path, &id) {
        Ok(()) => {
            tracing::info!(path = %path.display(), "created a development master key file");
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(ConfigError::CreateKeyFile {
            path: path.to_owned(),
            source,
        }),
    }
}

pub fn keyring_from_file(path: &std::path::Path) -> Result<Keyring, ConfigError> {
    let text = crypto::read_key_file(path).map_err(|source| ConfigError::ReadKeyFile {
        path: path.to_owned(),
        source,
    })?;
    Keyring::parse(&text).map_err(|error| ConfigError::Keyring {
        source_name: path.display().to_string(),
        error,
    })
}

/// Reads Leptos.toml's text (top-level keys, as in `[package.metadata.leptos]`), with
/// `LEPTOS_<KEY>` environment variables layered on top by leptos_config.
pub fn leptos_options_from_str(text: &str) -> Result<LeptosOptions, String> {
    let as_metadata = format!("[package.metadata.leptos]\n{text}");
    get_config_from_str(&as_metadata).map_err(|e| e.to_string())
}

/// The variable `name` parsed as a `T`, or `default` when it is not set.
fn parse_var<T: FromStr>(
    var: impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
    expected: &'static str,
) -> Result<T, ConfigError> {
    match var(name) {
        Some(value) => value
            .trim()
            .parse()
            .map_err(|_| ConfigError::Invalid { name, expected }),
        None => Ok(default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn temp_path() -> PathBuf {
        std::env::temp_dir()
            .join(format!("portal-config-{}", uuid::Uuid::new_v4()))
            .join("secrets.keys")
    }

    #[test]
    fn production_refuses_to_start_without_a_master_key() {
        let path = temp_path();
        let error = keyring_from(|_| None, true, &path).unwrap_err();
        assert!(matches!(error, ConfigError::MissingMasterKey));
        assert!(!path.exists(), "production never creates a key file");
    }

    #[test]
    fn development_creates_a_private_key_file_once() {
        use std::os::unix::fs::PermissionsExt;
        let path = temp_path();
        let first = keyring_from(|_| None, false, &path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = keyring_from(|_| None, false, &path).unwrap();
        assert_eq!(first.current_key_id(), again.current_key_id());
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn development_creates_the_named_key_file_and_production_never_does() {
        use std::os::unix::fs::PermissionsExt;
        let (named, unused) = (temp_path(), temp_path());
        let name = named.clone();
        let file = move |var: &str| (var == "PORTAL_SECRETS_KEY_FILE").then(|| name.clone().into());
        let error = keyring_from(&file, true, &unused).unwrap_err();
        assert!(matches!(error, ConfigError::ReadKeyFile { .. }), "{error}");
        assert!(!named.exists(), "production never creates a key file");

        let created = keyring_from(&file, false, &unused).unwrap();
        let mode = std::fs::metadata(&named).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!unused.exists(), "the named file, not the default");
        let opened = keyring_from(&file, true, &unused).unwrap();
        assert_eq!(created.current_key_id(), opened.current_key_id());
        std::fs::remove_dir_all(named.parent().unwrap()).unwrap();
    }

    #[test]
    fn configured_keys_win_and_bad_ones_say_where_they_came_from() {
        let unused = temp_path();
        let keys = |value: &'static str| {
            move |name: &str| (name == "PORTAL_SECRETS_KEYS").then(|| value.into())
        };
        let keyring = keyring_from(keys(KEY), true, &unused).unwrap();
        assert_eq!(keyring.current_key_id(), "k1");
        let error = keyring_from(keys("k1:nothex"), true, &unused).unwrap_err();
        assert_eq!(
            error.to_string(),
            "PORTAL_SECRETS_KEYS: master key entry 1 is not `id:hex` (an id of letters, digits, \
             '-' or '_', then 64 hex digits)"
        );
        let missing_file = |name: &str| {
            (name == "PORTAL_SECRETS_KEY_FILE").then(|| "/nonexistent/secrets.keys".into())
        };
        let error = keyring_from(missing_file, true, &unused).unwrap_err();
        assert!(matches!(error, ConfigError::ReadKeyFile { .. }), "{error}");
        assert!(!unused.exists());
    }
}

/// An origin customers reach the portal at, without a trailing slash; `None` unless it is an
/// http(s) URL with a host and no path, query, fragment or credentials.
fn public_url(value: &str) -> Option<String> {
    let url = url::Url::parse(value.trim()).ok()?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    plain.then(|| url.origin().ascii_serialization())
}

#[cfg(test)]
mod public_url_tests {
    use super::public_url;

    #[test]
    fn the_public_url_is_an_origin() {
        assert_eq!(
            public_url("https://portal.example.com/").as_deref(),
            Some("https://portal.example.com")
        );
        assert_eq!(
            public_url("http://127.0.0.1:3000").as_deref(),
            Some("http://127.0.0.1:3000")
        );
        for bad in [
            "portal.example.com",
            "ftp://portal.example.com",
            "https://portal.example.com/app",
            "https://user:pw@portal.example.com",
            "https://portal.example.com/?x=1",
            "",
        ] {
            assert_eq!(public_url(bad), None, "{bad}");
        }
    }
}
