//! Customer accounts: who is signed in, to which organization they belong. The rules here are
//! shared: the forms check them in the browser, the server checks them again.

#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod handlers;
#[cfg(feature = "ssr")]
pub mod password;
pub mod roles;
#[cfg(feature = "ssr")]
pub mod session;
pub mod sessions;
pub mod step_up;
#[cfg(feature = "ssr")]
pub mod throttle;
pub mod two_factor;
pub mod views;

use serde::{Deserialize, Serialize};

/// Passwords: at least this many characters…
pub const PASSWORD_MIN_CHARS: usize = 12;
/// …and at most this many bytes (argon2 hashes whatever it is given; this bounds the work).
pub const PASSWORD_MAX_BYTES: usize = 1024;
pub const EMAIL_MAX_BYTES: usize = 254;
pub const ORGANIZATION_NAME_MAX_CHARS: usize = 100;

/// Checks a new password against the length rule; the message is for the customer.
pub fn check_password(password: &str) -> Result<(), &'static str> {
    if password.chars().count() < PASSWORD_MIN_CHARS {
        Err("The password must be at least 12 characters long.")
    } else if password.len() > PASSWORD_MAX_BYTES {
        Err("The password must be at most 1024 bytes long.")
    } else {
        Ok(())
    }
}

/// An email address, trimmed and lower-cased: the form in which it is stored and compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Email, &'static str> {
        let email = input.trim().to_lowercase();
        let invalid = "Enter an email address like name@example.com.";
        if email.is_empty() {
            return Err("Enter your email address.");
        }
        if email.len() > EMAIL_MAX_BYTES {
            return Err("The email address must be at most 254 characters long.");
        }
        let (local, domain) = email.rsplit_once('@').ok_or(invalid)?;
        let well_formed = !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if well_formed {
            Ok(Email(email))
        } else {
            Err(invalid)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An organization's name: trimmed, 1 to 100 characters.
pub fn parse_organization_name(input: &str) -> Result<String, &'static str> {
    let name = input.trim();
    match name.chars().count() {
        0 => Err("Enter your organization's name."),
        n if n > ORGANIZATION_NAME_MAX_CHARS => {
            Err("The organization name must be at most 100 characters long.")
        }
        _ if name.chars().any(char::is_control) => {
            Err("The organization name cannot contain control characters.")
        }
        _ => Ok(name.to_owned()),
    }
}

/// The signed-in person, as the portal's pages see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub email: String,
    pub organization_id: uuid::Uuid,
    pub organization_name: String,
    /// Their role in it: what the pages let them do.
    pub role: roles::Role,
}

/// An organization a person belongs to, as the switcher lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    pub id: uuid::Uuid,
    pub name: String,
}

/// Where to go after signing in: a path on this site, never another origin.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control) =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// Percent-encodes a path or query value: everything but unreserved characters and `/`.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_need_12_characters_and_at_most_1024_bytes() {
        assert!(check_password("elevenchars").is_err());
        assert!(check_password("twelve chars").is_ok());
        // 12 characters, more than 12 bytes: characters count.
        assert!(check_password("ééééééééééé").is_err());
        assert!(check_password("éééééééééééé").is_ok());
        assert!(check_password(&"a".repeat(1024)).is_ok());
        assert!(check_password(&"a".repeat(1025)).is_err());
        assert!(check_password(&"é".repeat(513)).is_err());
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@example",
            "a da@example.com",
            "ada@.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn organization_names_are_trimmed_and_bounded() {
        assert_eq!(parse_organization_name("  Acme  ").unwrap(), "Acme");
        assert!(parse_organization_name("   ").is_err());
        assert!(parse_organization_name(&"x".repeat(100)).is_ok());
        assert!(parse_organization_name(&"x".repeat(101)).is_err());
        assert!(parse_organization_name("a\u{7}b").is_err());
    }

    #[test]
    fn percent_encoding_keeps_paths_readable_and_escapes_the_rest() {
        assert_eq!(
            percent_encode("/environments/x?a=1&b=é"),
            "/environments/x%3Fa%3D1%26b%3D%C3%A9"
        );
    }

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(
            safe_next(Some("/environments/1/api-secrets?x=1")),
            "/environments/1/api-secrets?x=1"
        );
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "evil",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
