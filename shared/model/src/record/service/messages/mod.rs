//! Email and SMS from a customer's page (seed 003 §3.4, §3.5): written as a queued message on
//! the customer, once per client key, then sent by the executor (the records table's stream
//! hands it over), exactly once per recipient, its status written back on the message.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::action::SettingKind;
use crate::ids::{RecordId, SettingId, stable_hash};
use crate::record::is_plausible_email;
use crate::record::stored::StoredRecord;
use crate::schema::FieldKind;
use crate::store::Revisioned;
use crate::validation::Problems;

/// Most addresses a message goes to (each gets a message of its own).
pub const MAX_MESSAGE_RECIPIENTS: usize = 10;
/// Most copies (Cc and Bcc, each).
pub const MAX_MESSAGE_COPIES: usize = 20;
/// Longest subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 255;
/// Largest email body once merged, in bytes: the message is kept whole on the customer.
pub const MAX_EMAIL_BODY_BYTES: usize = 32 * 1024;

/// Email or SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    /// The value of the message's Channel field.
    pub fn field_value(self) -> &'static str {
        match self {
            Channel::Email => "Email",
            Channel::Sms => "Sms",
        }
    }

    fn sender_kind(self) -> SettingKind {
        match self {
            Channel::Email => SettingKind::EmailSender,
            Channel::Sms => SettingKind::SmsProvider,
        }
    }

    fn template_kind(self) -> SettingKind {
        match self {
            Channel::Email => SettingKind::EmailTemplate,
            Channel::Sms => SettingKind::SmsTemplate,
        }
    }
}

/// What a user composed: `subject` and `body` may hold merge fields (a template's texts the
/// console filled in, or typed), rendered for the customer when it is sent. `key` is the
/// client's: the same key again answers the message it made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    pub key: String,
    pub channel: Channel,
    /// An email sender (email) or SMS provider (SMS) setting.
    pub sender: SettingId,
    /// Addresses or phone numbers of the customer or of its contacts.
    pub to: Vec<String>,
    #[serde(default)]
    pub cc: Vec<String>,
    #[serde(default)]
    pub bcc: Vec<String>,
    #[serde(default)]
    pub subject: String,
    pub body: String,
    /// The contact it is for (else found by the address, when a contact has it).
    #[serde(default)]
    pub contact: Option<RecordId>,
    /// The template the texts came from, kept for the record.
    #[serde(default)]
    pub template: Option<SettingId>,
}

/// A message queued, or found again under its key (`replayed`).
#[derive(Debug, Clone)]
pub struct Queued {
    pub message: Revisioned<StoredRecord>,
    pub replayed: bool,
}

/// Which of a customer's messages to list.
#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    pub channel: Option<Channel>,
    /// `Outgoing` or `Incoming`.
    pub direction: Option<String>,
    pub contact: Option<RecordId>,
}

impl MessageFilter {
    /// Whether `message` is one the filter keeps.
    pub fn admits(&self, message: &StoredRecord) -> bool {
        self.channel
            .is_none_or(|c| message.text("Channel") == c.field_value())
            && self
                .direction
                .as_ref()
                .is_none_or(|d| message.text("Direction") == d)
            && self
                .contact
                .as_ref()
                .is_none_or(|c| message.text("Contact") == c.as_str())
    }
}

/// How many segments an SMS takes: 160 characters in one, 153 in each of a longer message's.
pub fn sms_segments(text: &str) -> usize {
    match text.chars().count() {
        0 => 0,
        n if n <= 160 => 1,
        n => n.div_ceil(153),
    }
}

/// A digest of the request and the customer it is for, so that a key used again for something
/// else is told apart.
fn digest(customer: &RecordId, request: &SendRequest) -> String {
    let text = serde_json::to_string(request).unwrap_or_default();
    let hash = stable_hash(customer.as_str().bytes().chain([0]).chain(text.bytes()));
    format!("{hash:016x}")
}

/// An address as compared: an email whatever its case, a phone number as E.164.
fn comparable(channel: Channel, address: &str) -> Option<String> {
    let address = address.trim();
    match channel {
        // A message keeps its addresses joined by commas: none may hold one.
        Channel::Email => (is_plausible_email(address) && !address.contains([',', ';']))
            .then(|| address.to_lowercase()),
        Channel::Sms => crate::phone::parse(address).map(|n| n.e164),
    }
}

/// The email addresses (email) or E.164 numbers (SMS) a record holds, in its fields of that
/// kind, as compared.
fn addresses(
    schema: &crate::schema::Schema,
    record: &StoredRecord,
    channel: Channel,
) -> Vec<String> {
    let wanted = match channel {
        Channel::Email => FieldKind::Email,
        Channel::Sms => FieldKind::Phone,
    };
    schema
        .module(record.module)
        .fields()
        .iter()
        .filter(|f| f.kind == wanted)
        .filter_map(|f| record.fields.get(&f.name).and_then(Value::as_str))
        .filter_map(|a| comparable(channel, a))
        .collect()
}

/// The E.164 numbers a record holds.
pub(super) fn phone_of(schema: &crate::schema::Schema, record: &StoredRecord) -> Vec<String> {
    addresses(schema, record, Channel::Sms)
}

mod history;
mod send;

pub use history::{MAX_MESSAGES_READ, MessagePage};

fn not_an_address(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "not an email address",
        Channel::Sms => "not a phone number",
    }
}

/// Limits and shapes, told before anything is read.
fn shape_problems(request: &SendRequest) -> Problems {
    let mut problems = Problems::default();
    if !super::is_client_key(&request.key) {
        problems.push("/key", "1 to 64 letters, digits, '-' or '_'");
    }
    if request.to.is_empty() || request.to.len() > MAX_MESSAGE_RECIPIENTS {
        problems.push(
            "/to",
            format!("1 to {MAX_MESSAGE_RECIPIENTS} addresses of the customer or its contacts"),
        );
    }
    for (name, copies) in [("cc", &request.cc), ("bcc", &request.bcc)] {
        if request.channel == Channel::Sms && !copies.is_empty() {
            problems.push(format!("/{name}"), "an SMS has no copies");
        } else if copies.len() > MAX_MESSAGE_COPIES {
            problems.push(
                format!("/{name}"),
                format!("at most {MAX_MESSAGE_COPIES} addresses"),
            );
        } else {
            for (i, address) in copies.iter().enumerate() {
                if !is_plausible_email(address) || address.contains([',', ';']) {
                    problems.push(format!("/{name}/{i}"), "not an email address");
                }
            }
        }
    }
    let subject_chars = request.subject.chars().count();
    match request.channel {
        Channel::Email if request.subject.trim().is_empty() => {
            problems.push("/subject", "an email needs a subject");
        }
        Channel::Sms if subject_chars > 0 => problems.push("/subject", "an SMS has no subject"),
        _ if subject_chars > MAX_SUBJECT_CHARS => {
            problems.push(
                "/subject",
                format!("at most {MAX_SUBJECT_CHARS} characters"),
            );
        }
        _ => {}
    }
    if request.body.trim().is_empty() {
        problems.push("/body", "write the message");
    } else if request.body.len() > crate::template::draft::MAX_DRAFT_CHARS {
        problems.push(
            "/body",
            format!(
                "at most {} characters",
                crate::template::draft::MAX_DRAFT_CHARS
            ),
        );
    }
    problems
}

/// From and Reply-To of an email sent as `user` through the tenant's `sender`: from the
/// sender's verified address under the user's name (and the sender's), replies to the user.
/// SES sends only from verified identities, and a user's own address seldom is one.
fn as_the_user(
    sender: &crate::settings::EmailSender,
    user: &crate::user::User,
) -> (String, Option<String>) {
    let clean = |s: &str| s.replace(['"', '\\', '\r', '\n'], "");
    let name = if sender.from_name.is_empty() {
        clean(&user.name)
    } else {
        format!("{} ({})", clean(&user.name), clean(&sender.from_name))
    };
    let reply_to = Some(user.email.clone())
        .filter(|e| is_plausible_email(e))
        .or_else(|| sender.reply_to.clone());
    (format!("\"{name}\" <{}>", sender.from_address), reply_to)
}
