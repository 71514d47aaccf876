//! What the mailbox sync needs of the outside world: an IMAP reader, and a place for each
//! mailbox's checkpoints and last outcome.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::Mailbox;
use crate::ids::{SettingId, TenantId};
use crate::store::StoreError;

/// How the reader logs in: the secret of the mailbox's setting.
#[derive(Clone, PartialEq, Eq)]
pub enum MailCredential {
    Password(String),
    AccessToken(String),
}

impl std::fmt::Debug for MailCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MailCredential::Password(_) => f.write_str("Password(***)"),
            MailCredential::AccessToken(_) => f.write_str("AccessToken(***)"),
        }
    }
}

/// Why a mailbox could not be read. Each is retried by the next scheduled run; the last one is
/// kept in the mailbox's status for its administrator to see.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// The server refused the login: the credentials need to be set again.
    #[error("the server refused the login: {0}")]
    Login(String),
    /// No connection, a TLS failure, a timeout, or an address the outbound policy refuses.
    #[error("the server could not be reached: {0}")]
    Unreachable(String),
    #[error("the server has no folder '{0}'")]
    NoFolder(String),
    /// An answer the reader could not understand.
    #[error("the server's answer was not understood: {0}")]
    Protocol(String),
}

/// A folder as selected: its UIDVALIDITY (a change means every UID was renumbered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FolderState {
    pub uid_validity: u32,
}

/// One message as the reader parsed it: headers, a text excerpt and what it carries.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FetchedMail {
    pub uid: u32,
    /// The Message-ID header, without its angle brackets.
    pub message_id: Option<String>,
    pub date: Option<DateTime<Utc>>,
    /// Addresses as written in the headers (the reader drops display names).
    pub from: Vec<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    /// The start of the text (the HTML part as text when there is no plain one).
    pub excerpt: String,
    /// The attachments' file names (never their content).
    pub attachments: Vec<String>,
}

/// Trades a mailbox's refresh token for an access token at its token endpoint (OAuth2's
/// `refresh_token` grant).
#[async_trait]
pub trait TokenExchange: Send + Sync {
    /// A fresh access token; `Login` when the endpoint refuses the refresh token or client.
    async fn access_token(
        &self,
        token_url: &str,
        refresh: &crate::settings::secrets::OAuthRefresh,
    ) -> Result<Exchanged, MailError>;
}

/// What a token endpoint gave: the access token, and the next refresh token when it rotates
/// them.
#[derive(Clone, PartialEq, Eq)]
pub struct Exchanged {
    pub access_token: String,
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for Exchanged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Exchanged(***)")
    }
}

/// Reads mailboxes.
#[async_trait]
pub trait MailReader: Send + Sync {
    /// Connects over TLS and logs in.
    async fn open(
        &self,
        mailbox: &Mailbox,
        credential: &MailCredential,
    ) -> Result<Box<dyn MailSession>, MailError>;
}

/// A logged-in connection to one mailbox.
#[async_trait]
pub trait MailSession: Send {
    /// Opens `folder` read-only.
    async fn select(&mut self, folder: &str) -> Result<FolderState, MailError>;

    /// The messages of the selected folder whose UID is above `after`, lowest first, at most
    /// `limit`.
    async fn fetch_after(&mut self, after: u32, limit: u32) -> Result<Vec<FetchedMail>, MailError>;

    /// Logs out (best effort).
    async fn logout(&mut self);
}

/// Where a folder's sync stands: the messages up to `last_uid` of the folder as numbered by
/// `uid_validity` have been read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderCheckpoint {
    pub uid_validity: u32,
    pub last_uid: u32,
}

/// A mailbox's sync: each folder's checkpoint and the last run's outcome.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SyncStatus {
    #[serde(default)]
    pub folders: BTreeMap<String, FolderCheckpoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run_at: Option<DateTime<Utc>>,
    /// Why the last run stopped short; none when it read everything it could.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Messages kept on customers since the mailbox was connected.
    #[serde(default)]
    pub stored: u64,
    /// Messages skipped because they would not fit a record (each logged).
    #[serde(default)]
    pub skipped: u64,
    /// The server, login and user the checkpoints are of (`Mailbox::source`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// Each mailbox's sync status, tenant-scoped.
#[async_trait]
pub trait SyncStatusStore: Send + Sync {
    async fn get(
        &self,
        tenant: &TenantId,
        mailbox: &SettingId,
    ) -> Result<Option<SyncStatus>, StoreError>;

    async fn put(
        &self,
        tenant: &TenantId,
        mailbox: &SettingId,
        status: &SyncStatus,
    ) -> Result<(), StoreError>;
}

/// A connected mailbox, as the scheduled sync lists them across tenants.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MailboxRef {
    pub tenant: TenantId,
    pub id: SettingId,
}
