//! Email and SMS from a customer's page (seed 003 §3.4, §3.5): written as a queued message on
//! the customer, once per client key, then sent by the executor (the records table's stream
//! hands it over), exactly once per recipient, its status written back on the message.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Actor, RecordError, Records, check_size, stamp};
use crate::action::SettingKind;
use crate::ids::{RecordId, SettingId, stable_hash};
use crate::record::store::MAX_RELATED;
use crate::record::stored::StoredRecord;
use crate::record::{ParseMode, is_plausible_email};
use crate::schema::{FieldKind, Module};
use crate::settings::Setting;
use crate::store::{Revisioned, StoreError};
use crate::template::draft::{Draft, Drafts, RenderedDraft};
use crate::template::{Escape, MAX_SMS_CHARS};
use crate::user::access::Permission;
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

/// How many segments an SMS takes: 160 characters in one, 153 in each of a longer message's.
pub fn sms_segments(text: &str) -> usize {
    match text.chars().count() {
        0 => 0,
        n if n <= 160 => 1,
        n => n.div_ceil(153),
    }
}

/// The message id of a user's key: a double click, or a reply lost and sent again, names the
/// same message.
fn message_id(actor: &Actor, key: &str) -> Option<RecordId> {
    let hash = stable_hash(actor.user.as_str().bytes().chain([0]).chain(key.bytes()));
    RecordId::new(format!("msg-{hash:016x}")).ok()
}

/// A digest of the request and the customer it is for, so that a key used again for something
/// else is told apart.
fn digest(customer: &RecordId, request: &SendRequest) -> String {
    let text = serde_json::to_string(request).unwrap_or_default();
    let hash = stable_hash(customer.as_str().bytes().chain([0]).chain(text.bytes()));
    format!("{hash:016x}")
}

pub(super) fn is_key(key: &str) -> bool {
    (1..=64).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
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

impl Records<'_> {
    /// Queues an email or SMS to the customer (or one of its contacts) as the actor: checked,
    /// rendered for the customer and written as a queued message, which the executor sends.
    pub async fn send_message(
        &self,
        actor: &Actor,
        customer: &RecordId,
        request: &SendRequest,
    ) -> Result<Queued, RecordError> {
        actor.require(Module::Message, Permission::Create)?;
        let mut problems = shape_problems(request);
        let id = message_id(actor, &request.key).filter(|_| is_key(&request.key));
        let digest = digest(customer, request);
        // A replay is answered before anything is read again: what was sent stays as sent.
        if let Some(id) = &id {
            if let Some(found) = self.replayed(actor, id, &request.key, &digest).await? {
                return Ok(found);
            }
        }
        let tenant = &actor.tenant;
        let stored = self.read(actor, Module::Customer, customer).await?;
        let settings = self.tenant_settings(tenant).await?;
        let schema = settings.schema();
        let related = self.records.related(tenant, customer, MAX_RELATED).await?;
        let contacts: Vec<&StoredRecord> = related
            .iter()
            .map(|r| &r.value)
            .filter(|r| r.module == Module::Contact && actor.access.reaches(r))
            .collect();
        let channel = request.channel;
        let addresses_of = |record: &StoredRecord| addresses(&schema, record, channel);
        let mut contact = None;
        if let Some(wanted) = &request.contact {
            match contacts.iter().find(|c| &c.id == wanted) {
                Some(found) => contact = Some(*found),
                None => problems.push("/contact", "not one of this customer's contacts"),
            }
        }
        let on_file = addresses_of(&stored.value);
        for (i, to) in request.to.iter().enumerate() {
            let Some(address) = comparable(channel, to) else {
                problems.push(format!("/to/{i}"), not_an_address(channel));
                continue;
            };
            if on_file.contains(&address) {
                continue;
            }
            match contacts.iter().find(|c| addresses_of(c).contains(&address)) {
                Some(of) if contact.is_none() => contact = Some(*of),
                Some(_) => {}
                None => problems.push(
                    format!("/to/{i}"),
                    "not an address of this customer or of its contacts",
                ),
            }
        }
        let sender = self
            .settings
            .get(tenant, channel.sender_kind(), &request.sender);
        let sender = match sender.await?.map(|s| s.value) {
            Some(setting) => Some(setting),
            None => {
                problems.push("/sender", "no such sender setting for this channel");
                None
            }
        };
        if let Some(template) = &request.template {
            let found = self.settings.get(tenant, channel.template_kind(), template);
            if found.await?.is_none() {
                problems.push("/template", "no such template for this channel");
            }
        }
        let drafts = Drafts {
            settings: self.settings,
            records: self.records,
            users: self.users,
        };
        let escape = match channel {
            Channel::Email => Escape::Html,
            Channel::Sms => Escape::Plain,
        };
        let rendered = drafts
            .render(
                tenant,
                &actor.access,
                Module::Customer,
                customer,
                &[
                    Draft {
                        text: request.subject.clone(),
                        escape: Escape::Plain,
                    },
                    Draft {
                        text: request.body.clone(),
                        escape,
                    },
                ],
            )
            .await
            .map_err(|e| match e {
                crate::template::draft::DraftError::Store(e) => RecordError::from(e),
                crate::template::draft::DraftError::RecordNotFound { .. } => {
                    RecordError::NotFound("customer")
                }
            })?;
        let mut texts = Vec::new();
        for (rendered, pointer) in rendered.into_iter().zip(["/subject", "/body"]) {
            match rendered {
                RenderedDraft::Rendered(text) => texts.push(text),
                RenderedDraft::Refused(errors) => {
                    for error in errors {
                        problems.push(pointer, error.to_string());
                    }
                    texts.push(String::new());
                }
            }
        }
        let (subject, body) = (texts.remove(0), texts.remove(0));
        match channel {
            Channel::Sms if body.chars().count() > MAX_SMS_CHARS => problems.push(
                "/body",
                format!(
                    "{} characters once merged; at most {MAX_SMS_CHARS} (five segments)",
                    body.chars().count()
                ),
            ),
            Channel::Email if body.len() > MAX_EMAIL_BODY_BYTES => problems.push(
                "/body",
                format!("at most {} KB once merged", MAX_EMAIL_BODY_BYTES / 1024),
            ),
            _ => {}
        }
        if subject.chars().count() > MAX_SUBJECT_CHARS {
            problems.push(
                "/subject",
                format!("at most {MAX_SUBJECT_CHARS} characters once merged"),
            );
        }
        // Copies go where the message may go, and to the company's own people.
        let mut strangers = Vec::new();
        for (name, copies) in [("cc", &request.cc), ("bcc", &request.bcc)] {
            for (i, address) in copies.iter().enumerate() {
                let Some(address) = comparable(Channel::Email, address) else {
                    continue; // told by its shape already
                };
                let known = on_file.contains(&address)
                    || contacts.iter().any(|c| addresses_of(c).contains(&address));
                if !known {
                    strangers.push((format!("/{name}/{i}"), address));
                }
            }
        }
        if !strangers.is_empty() {
            let staff = self.staff_addresses(tenant).await?;
            for (pointer, address) in strangers {
                if !staff.contains(&address) {
                    problems.push(
                        pointer,
                        "copies go to the customer, its contacts or the company's users",
                    );
                }
            }
        }
        let (Some(id), true) = (id, problems.is_empty()) else {
            return Err(RecordError::Invalid(problems));
        };
        let user = self.users.get(tenant, &actor.user).await?;
        let (from, reply_to) = match (&sender, &user) {
            (Some(Setting::EmailSender(s)), Some(user)) => as_the_user(s, user),
            (Some(Setting::EmailSender(s)), None) => (s.from_header(), s.reply_to.clone()),
            (Some(Setting::SmsProvider(p)), _) => (p.name.clone(), None),
            _ => (String::new(), None),
        };
        let mut fields = Map::new();
        let mut put = |name: &str, value: Value| {
            if !value.is_null() && value != Value::String(String::new()) {
                fields.insert(name.to_owned(), value);
            }
        };
        put("Channel", channel.field_value().into());
        put("Direction", "Outgoing".into());
        put("Status", "Queued".into());
        put("Customer", customer.to_string().into());
        put(
            "Contact",
            contact.map_or(Value::Null, |c| c.id.to_string().into()),
        );
        put("From", from.into());
        put("ReplyTo", reply_to.map_or(Value::Null, Value::String));
        put("To", request.to.join(", ").into());
        put("Cc", request.cc.join(", ").into());
        put("Bcc", request.bcc.join(", ").into());
        put("Subject", subject.into());
        if channel == Channel::Sms {
            put("Segments", sms_segments(&body).into());
        }
        put("Body", body.into());
        put("Sender", request.sender.to_string().into());
        put(
            "Template",
            request
                .template
                .as_ref()
                .map_or(Value::Null, |t| t.to_string().into()),
        );
        put("RequestDigest", digest.clone().into());
        put("Owner", actor.user.to_string().into());
        stamp(&mut fields, actor, self.clock.now(), true);
        // Written as the schema reads it: a stored message is always a valid record.
        crate::record::parse_fields(
            schema.module(Module::Message),
            &fields,
            "/fields",
            ParseMode::Stored,
        )?;
        check_size(&fields)?;
        let record = StoredRecord {
            id: id.clone(),
            module: Module::Message,
            fields,
        };
        match self.records.create(tenant, &record).await {
            Ok(message) => Ok(Queued {
                message,
                replayed: false,
            }),
            Err(StoreError::AlreadyExists) => self
                .replayed(actor, &id, &request.key, &digest)
                .await?
                .ok_or(RecordError::NotFound("message")),
            Err(other) => Err(other.into()),
        }
    }

    /// The email addresses of the tenant's users, lower-cased.
    async fn staff_addresses(
        &self,
        tenant: &crate::ids::TenantId,
    ) -> Result<Vec<String>, RecordError> {
        let mut addresses = Vec::new();
        let mut page = crate::store::PageRequest::first(crate::store::PageRequest::MAX_LIMIT);
        loop {
            let found = self.users.list(tenant, &page).await?;
            addresses.extend(found.items.iter().map(|u| u.email.to_lowercase()));
            match found.next {
                Some(next) => page.cursor = Some(next),
                None => return Ok(addresses),
            }
        }
    }

    /// The message a key made, when it made one: the same request answers it, another is a
    /// conflict.
    async fn replayed(
        &self,
        actor: &Actor,
        id: &RecordId,
        key: &str,
        digest: &str,
    ) -> Result<Option<Queued>, RecordError> {
        let Some(found) = self.records.get(&actor.tenant, id).await? else {
            return Ok(None);
        };
        let same = found.value.module == Module::Message
            && found
                .value
                .fields
                .get("RequestDigest")
                .and_then(Value::as_str)
                == Some(digest);
        if !same {
            return Err(RecordError::Conflict(format!(
                "the key '{key}' was used for another message; send this one under a new key"
            )));
        }
        Ok(Some(Queued {
            message: found,
            replayed: true,
        }))
    }

    /// A customer's emails and SMS, sent and received, newest first, as the actor may see them.
    pub async fn messages(
        &self,
        actor: &Actor,
        customer: &RecordId,
        filter: &MessageFilter,
    ) -> Result<Vec<Revisioned<StoredRecord>>, RecordError> {
        actor.require(Module::Message, Permission::Read)?;
        let text = |r: &StoredRecord, name: &str| {
            r.fields
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let mut messages: Vec<_> =
            self.customer_related(actor, customer)
                .await?
                .into_iter()
                .filter(|r| r.value.module == Module::Message)
                .filter(|r| {
                    filter.channel.is_none_or(|c| {
                        text(&r.value, "Channel").as_deref() == Some(c.field_value())
                    }) && filter
                        .direction
                        .as_ref()
                        .is_none_or(|d| text(&r.value, "Direction").as_ref() == Some(d))
                        && filter.contact.as_ref().is_none_or(|c| {
                            text(&r.value, "Contact").as_deref() == Some(c.as_str())
                        })
                })
                .collect();
        let at = |r: &Revisioned<StoredRecord>| {
            text(&r.value, "SentAt").or_else(|| text(&r.value, "CreatedAt"))
        };
        messages.sort_by_key(|m| std::cmp::Reverse(at(m)));
        Ok(messages)
    }
}

fn not_an_address(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "not an email address",
        Channel::Sms => "not a phone number",
    }
}

/// Limits and shapes, told before anything is read.
fn shape_problems(request: &SendRequest) -> Problems {
    let mut problems = Problems::default();
    if !is_key(&request.key) {
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
