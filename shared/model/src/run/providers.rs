//! The provider ports the executor sends through: SMS, Zalo ZNS, email, task apps, and the
//! printer of attachments.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::settings::secrets::{AccessToken, GatewayKeys, SigningKey, scrub};

/// The largest email the executor sends, attachments included (as encoded in the message):
/// SES v2 takes up to 40 MB, many receiving servers refuse more than 10 MB.
pub const MAX_EMAIL_BYTES: usize = 10 * 1024 * 1024;

/// Longest provider error text a run keeps: enough to act on, never a whole error page.
pub const MAX_ERROR_TEXT: usize = 500;

/// Why a provider did not take a message.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SendError {
    /// Throttling, 5xx, timeouts: worth retrying.
    #[error("temporarily unavailable: {0}")]
    Transient(String),
    /// Invalid address, rejected content: retrying will not help.
    #[error("rejected: {0}")]
    Permanent(String),
    /// The call may have reached a provider that drops no repeat (no answer in time, an
    /// answer lost on the way): the message may or may not have gone out. Treated like a send
    /// the executor stopped in: unknown under at most once, sent again under at least once.
    #[error("no answer, may have been sent: {0}")]
    InDoubt(String),
}

impl SendError {
    /// The same error with every credential value removed from its text and the text cut to
    /// [`MAX_ERROR_TEXT`]: what a run may store and show.
    pub fn scrubbed(self, credentials: &[&str]) -> Self {
        match self {
            SendError::Transient(t) => SendError::Transient(scrub(&t, credentials, MAX_ERROR_TEXT)),
            SendError::Permanent(t) => SendError::Permanent(scrub(&t, credentials, MAX_ERROR_TEXT)),
            SendError::InDoubt(t) => SendError::InDoubt(scrub(&t, credentials, MAX_ERROR_TEXT)),
        }
    }
}

/// Text messages (SMS), through the gateway a provider setting names.
#[async_trait]
pub trait SmsSender: Send + Sync {
    /// Sends `text` to an E.164 number; the provider's message id. `request_id` lets the
    /// gateway drop a duplicate of the same request. `keys` are the tenant's credentials for a
    /// brandname gateway (none for SNS).
    async fn send(
        &self,
        gateway: &crate::settings::SmsGateway,
        keys: Option<&GatewayKeys>,
        to: &str,
        text: &str,
        request_id: &str,
    ) -> Result<String, SendError>;
}

/// Zalo ZNS template messages, through a Zalo Official Account.
#[async_trait]
pub trait ZnsSender: Send + Sync {
    /// Sends template `template_id` with `data` to a phone number (`84…`, no plus); the message
    /// id Zalo returns. `tracking_id` is echoed back by Zalo for reconciliation.
    async fn send(
        &self,
        provider: &crate::settings::ZnsProvider,
        token: &AccessToken,
        phone: &str,
        template_id: &str,
        data: &std::collections::BTreeMap<String, String>,
        tracking_id: &str,
    ) -> Result<String, SendError>;
}

/// Outbound sync of created tasks to an external task app.
#[async_trait]
pub trait TaskSync: Send + Sync {
    /// Posts `task` to the connection's URL, signed with the tenant's key; the id the app
    /// answers with. `idempotency_key` travels along so the app can drop a duplicate.
    async fn push(
        &self,
        connection: &crate::settings::TaskConnection,
        key: &SigningKey,
        task: &serde_json::Value,
        idempotency_key: &str,
    ) -> Result<String, SendError>;
}

/// A VOIP switchboard: places the calls users start from the CRM.
#[async_trait]
pub trait Switchboard: Send + Sync {
    /// Asks the switchboard to ring `extension` and, once it answers, to call `phone` (E.164);
    /// the switchboard's call id. `call_ref` is the CRM's own id of the call: the switchboard
    /// drops a second request with the same one, and sends it back with the call's events.
    async fn dial(
        &self,
        provider: &crate::settings::VoipProvider,
        keys: &GatewayKeys,
        extension: &str,
        phone: &str,
        call_ref: &str,
    ) -> Result<String, SendError>;
}

/// An email ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub from: String,
    /// The one recipient the message is for.
    pub to: String,
    /// Copies the recipient sees.
    pub cc: Vec<String>,
    /// Copies the recipient does not see.
    pub bcc: Vec<String>,
    pub reply_to: Option<String>,
    pub subject: String,
    pub html: String,
    pub attachments: Vec<Attachment>,
}

impl Email {
    /// The message's size as sent: its texts, and its attachments in base64.
    pub fn encoded_bytes(&self) -> usize {
        let attachments: usize = self
            .attachments
            .iter()
            .map(|a| a.data.len().div_ceil(3) * 4 + a.file_name.len())
            .sum();
        self.from.len()
            + self.to.len()
            + self
                .cc
                .iter()
                .chain(&self.bcc)
                .map(String::len)
                .sum::<usize>()
            + self.subject.len()
            + self.html.len()
            + attachments
    }
}

/// A file sent with an email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub file_name: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

/// Prints a document (a print template rendered for a record) as a PDF.
pub trait DocumentPrinter: Send + Sync {
    /// `paragraphs` are plain text; the PDF keeps every character (Vietnamese included) as text
    /// that can be searched and copied. Fails with the reason when a character cannot be printed.
    fn pdf(&self, title: &str, paragraphs: &[String]) -> Result<Vec<u8>, String>;
}

/// Email (SES v2).
#[async_trait]
pub trait EmailSender: Send + Sync {
    async fn send(&self, email: &Email) -> Result<String, SendError>;
}

/// The time, as the executor's lease arithmetic needs it.
pub fn lease(now: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
    now + chrono::Duration::seconds(seconds)
}
