//! A user's mailbox (seed 003 §3.6): the CRM reads its folders over IMAP (always TLS), matches
//! each message's addresses to customers and their contacts, and keeps the message's headers, a
//! text excerpt and the names of its attachments on each customer it concerns. A mailbox is a
//! setting: an administrator connects one per user (or several), and its password or OAuth2
//! access token (Gmail) lives in the vault under the name the tenant and the setting give.

mod keep;
pub mod ports;
pub mod sync;

pub use keep::{EXCERPT_CHARS, MAX_ADDRESSES, MAX_CUSTOMERS_PER_MESSAGE};

use serde::{Deserialize, Serialize};

use crate::ids::UserId;
use crate::record::is_plausible_email;
use crate::settings::outbound::OutboundPolicy;
use crate::settings::secrets::CredentialShape;
use crate::validation::Problems;

/// Most aliases one mailbox lists.
pub const MAX_ALIASES: usize = 20;
/// Longest folder name accepted.
pub const MAX_FOLDER_CHARS: usize = 200;

/// How the CRM logs in to the mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailboxAuth {
    /// IMAP LOGIN with a password (an app password for Gmail): credentials `{password}`.
    Password,
    /// SASL XOAUTH2 with an access token (Gmail, Microsoft 365): credentials `{access_token}`.
    Oauth2,
}

/// A mailbox the CRM reads a user's email history from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mailbox {
    pub name: String,
    /// Whose mailbox it is: the messages it brings are theirs.
    pub user: UserId,
    /// The IMAP server (`imap.gmail.com` for Gmail), reached over TLS only.
    pub host: String,
    #[serde(default = "imaps_port")]
    pub port: u16,
    /// The login, usually the address.
    pub username: String,
    pub auth: MailboxAuth,
    /// With `oauth2`: the token endpoint that trades the refresh token for access tokens
    /// (`https://oauth2.googleapis.com/token` for Gmail). Without it, the credentials are an
    /// access token, which expires (an hour for Gmail) and must then be set again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    /// The folder mail arrives in.
    #[serde(default = "inbox")]
    pub inbox: String,
    /// The folder sent mail is kept in (`[Gmail]/Sent Mail` on Gmail); none reads the inbox only.
    #[serde(default = "sent")]
    pub sent: Option<String>,
    /// The user's other addresses in this mailbox: mail from them is the user's own.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Stops the sync without forgetting where it was.
    #[serde(default)]
    pub paused: bool,
}

fn imaps_port() -> u16 {
    993
}

fn inbox() -> String {
    "INBOX".into()
}

fn sent() -> Option<String> {
    Some("Sent".into())
}

/// Whether `host` is written as a host name: letters, digits, '-' and '.', at most 253.
fn is_host_name(host: &str) -> bool {
    (1..=253).contains(&host.len())
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

impl Mailbox {
    /// The folders read, in order.
    pub fn folders(&self) -> Vec<&str> {
        std::iter::once(self.inbox.as_str())
            .chain(self.sent.as_deref())
            .collect()
    }

    /// The credentials it logs in with: a password, an access token, or (with a token
    /// endpoint) the refresh token and client that trade for access tokens.
    pub fn credential_shape(&self) -> CredentialShape {
        match (self.auth, &self.token_url) {
            (MailboxAuth::Password, _) => CredentialShape::Password,
            (MailboxAuth::Oauth2, None) => CredentialShape::AccessToken,
            (MailboxAuth::Oauth2, Some(_)) => CredentialShape::OAuthRefresh,
        }
    }

    /// What the checkpoints belong to: the server, the login and the user.
    pub fn source(&self) -> String {
        format!(
            "{}:{}/{}/{}",
            self.host.to_lowercase(),
            self.port,
            self.username,
            self.user
        )
    }

    /// The server as a URL, so that the outbound policy checks it as it checks providers.
    pub fn server_url(&self) -> String {
        format!("https://{}:{}/", self.host, self.port)
    }

    /// The addresses that are the user's own here, lower-cased: the login (when an address),
    /// the aliases and the user's address in the CRM.
    pub fn own_addresses(&self, user_email: &str) -> Vec<String> {
        let mut own: Vec<String> = std::iter::once(self.username.as_str())
            .chain(self.aliases.iter().map(String::as_str))
            .chain([user_email])
            .map(|a| a.trim().to_lowercase())
            .filter(|a| is_plausible_email(a))
            .collect();
        own.sort();
        own.dedup();
        own
    }

    /// Every problem of the mailbox as written; what its host resolves to is checked by the
    /// settings use case.
    pub fn validate(
        &self,
        user_exists: &dyn Fn(&UserId) -> bool,
        outbound: OutboundPolicy,
    ) -> Problems {
        let mut problems = Problems::default();
        if self.name.trim().is_empty() || self.name.chars().count() > 255 {
            problems.push("/name", "is required, at most 255 characters");
        }
        if !user_exists(&self.user) {
            problems.push("/user", format!("no user '{}'", self.user));
        }
        if !is_host_name(&self.host) {
            problems.push("/host", "a host name, such as imap.gmail.com");
        } else if let Err(reason) = outbound.check_url(&self.server_url()) {
            problems.push("/host", reason);
        }
        match (&self.token_url, self.auth) {
            (Some(url), MailboxAuth::Oauth2) => {
                if let Err(reason) = outbound.check_url(url) {
                    problems.push("/token_url", reason);
                }
            }
            (Some(_), MailboxAuth::Password) => {
                problems.push(
                    "/token_url",
                    "only a mailbox that logs in with OAuth2 has one",
                );
            }
            (None, _) => {}
        }
        if self.port == 0 {
            problems.push("/port", "a port from 1 to 65535 (IMAP over TLS is 993)");
        }
        if self.username.trim().is_empty()
            || self.username.len() > 320
            || self.username.chars().any(char::is_control)
        {
            problems.push(
                "/username",
                "is required, at most 320 characters, no control characters",
            );
        }
        let folder_problem = |name: &str| {
            (name.trim().is_empty()
                || name.chars().count() > MAX_FOLDER_CHARS
                || name.chars().any(char::is_control))
            .then(|| format!("a folder name of 1 to {MAX_FOLDER_CHARS} characters"))
        };
        if let Some(problem) = folder_problem(&self.inbox) {
            problems.push("/inbox", problem);
        }
        if let Some(problem) = self.sent.as_deref().and_then(folder_problem) {
            problems.push("/sent", problem);
        }
        if self.sent.as_deref() == Some(self.inbox.as_str()) {
            problems.push("/sent", "the sent folder cannot be the inbox");
        }
        if self.aliases.len() > MAX_ALIASES {
            problems.push("/aliases", format!("at most {MAX_ALIASES} addresses"));
        }
        for (i, alias) in self.aliases.iter().enumerate() {
            if !is_plausible_email(&alias.trim().to_lowercase()) {
                problems.push(format!("/aliases/{i}"), "not an email address");
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn gmail() -> Mailbox {
        serde_json::from_value(json!({
            "name": "Lan's Gmail", "user": "lan", "host": "imap.gmail.com",
            "username": "Lan@Example.vn", "auth": "oauth2", "sent": "[Gmail]/Sent Mail",
            "aliases": ["lan.nguyen@example.vn"]
        }))
        .unwrap()
    }

    #[test]
    fn a_mailbox_reads_its_inbox_and_sent_folder_over_tls_by_default() {
        let mailbox = gmail();
        assert_eq!(mailbox.port, 993);
        assert_eq!(mailbox.folders(), ["INBOX", "[Gmail]/Sent Mail"]);
        assert_eq!(
            mailbox.own_addresses("LAN@example.vn"),
            ["lan.nguyen@example.vn", "lan@example.vn"]
        );
        let exists = |_: &UserId| true;
        assert!(mailbox.validate(&exists, OutboundPolicy::PUBLIC).is_empty());
    }

    #[test]
    fn a_private_host_a_bad_folder_or_a_stranger_is_refused_by_field() {
        let mut mailbox = gmail();
        mailbox.host = "169.254.169.254".into();
        mailbox.inbox = String::new();
        mailbox.aliases = vec!["not an address".into()];
        let nobody = |_: &UserId| false;
        let problems = mailbox.validate(&nobody, OutboundPolicy::PUBLIC);
        for field in ["/host", "/inbox", "/aliases/0", "/user"] {
            assert!(problems.has(field), "{field}: {problems}");
        }
        mailbox.host = "imap.gmail.com/evil".into();
        assert!(
            mailbox
                .validate(&nobody, OutboundPolicy::PUBLIC)
                .has("/host")
        );
        mailbox.host = "localhost".into();
        assert!(
            mailbox
                .validate(&nobody, OutboundPolicy::PUBLIC)
                .has("/host")
        );
    }
}
