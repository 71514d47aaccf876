//! Keeping one fetched message: its addresses other than the user's own are matched to
//! customers (by their email) and to contacts (by theirs, and so to their customer); the
//! message is written once on each customer it concerns, with the contact it went to or came
//! from.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

use super::Mailbox;
use super::ports::FetchedMail;
use crate::clock::Clock;
use crate::ids::{RecordId, SettingId, TenantId};
use crate::record::identity::{self, IdentityKind};
use crate::record::service::{check_size, hashed_id, instant, stamp_as};
use crate::record::store::RecordStore;
use crate::record::stored::StoredRecord;
use crate::record::{ParseMode, is_plausible_email};
use crate::schema::{Module, Schema};
use crate::store::StoreError;

/// Most addresses of one message that are matched (a mailing to hundreds names no one).
pub const MAX_ADDRESSES: usize = 50;
/// Most customers one message is kept on.
pub const MAX_CUSTOMERS_PER_MESSAGE: usize = 20;
/// The longest text excerpt kept, in characters.
pub const EXCERPT_CHARS: usize = 2_000;
/// The most attachment names kept.
pub const MAX_ATTACHMENT_NAMES: usize = 50;
/// The longest address list (From, To, Cc) or list of attachment names kept, in characters: a
/// message to hundreds of people still fits its record.
pub const MAX_LIST_CHARS: usize = 2_000;

/// What keeping one message did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Kept {
    pub stored: u32,
    pub already: u32,
    /// Records that would not fit the Message module (logged, skipped: never a stuck sync).
    pub refused: u32,
}

/// What every message of one run is kept with.
pub(super) struct Keeper<'a> {
    pub records: &'a dyn RecordStore,
    pub clock: &'a dyn Clock,
    pub schema: &'a Schema,
    pub tenant: &'a TenantId,
    pub mailbox_id: &'a SettingId,
    pub mailbox: &'a Mailbox,
    /// The user's own addresses, lower-cased.
    pub own: Vec<String>,
}

/// At most `limit` characters of `text`.
fn cut(text: &str, limit: usize) -> String {
    text.chars().take(limit).collect()
}

impl Keeper<'_> {
    /// Writes `mail` on every customer it concerns; one already there is left as it is.
    pub async fn keep(&self, folder: &str, mail: &FetchedMail) -> Result<Kept, StoreError> {
        let lower = |list: &[String]| -> Vec<String> {
            list.iter().map(|a| a.trim().to_lowercase()).collect()
        };
        let from = lower(&mail.from);
        // What the user sent: the sent folder's mail, or mail from one of their addresses.
        let outgoing = self.mailbox.sent.as_deref() == Some(folder)
            || from.iter().any(|a| self.own.contains(a));
        let mut others: Vec<String> = from
            .iter()
            .chain(&lower(&mail.to))
            .chain(&lower(&mail.cc))
            .filter(|a| is_plausible_email(a) && !self.own.contains(a))
            .cloned()
            .collect();
        others.sort();
        others.dedup();
        others.truncate(MAX_ADDRESSES);
        let concerned = self.concerned(&others).await?;
        let mut kept = Kept::default();
        // The message's own id when it has one; else what it says (not where it sits in the
        // folder, which a renumbering changes).
        let message_key = mail
            .message_id
            .clone()
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| {
                let date = mail.date.map(|d| d.timestamp()).unwrap_or_default();
                let (from, to) = (mail.from.join(","), mail.to.join(","));
                let text = crate::ids::stable_hash(mail.excerpt.bytes());
                let cc = mail.cc.join(",");
                format!("no-id:{date}|{from}|{to}|{cc}|{}|{text:016x}", mail.subject)
            });
        for (customer, contact) in concerned.into_iter().take(MAX_CUSTOMERS_PER_MESSAGE) {
            let record = match self.message(
                mail,
                &message_key,
                outgoing,
                &customer,
                contact.as_ref(),
            ) {
                Ok(record) => record,
                Err(reason) => {
                    tracing::warn!(tenant = %self.tenant, mailbox = %self.mailbox_id, uid = mail.uid, %reason, "synced message skipped");
                    kept.refused += 1;
                    continue;
                }
            };
            match self.records.create(self.tenant, &record).await {
                Ok(_) => kept.stored += 1,
                Err(StoreError::AlreadyExists) => kept.already += 1,
                Err(other) => return Err(other),
            }
        }
        Ok(kept)
    }

    /// The customers `addresses` belong to (theirs or one of their contacts'), each with the
    /// first contact matched. The index names candidates: each record's current email decides.
    async fn concerned(
        &self,
        addresses: &[String],
    ) -> Result<BTreeMap<RecordId, Option<RecordId>>, StoreError> {
        let found = self.candidates(addresses).await?;
        let mut concerned: BTreeMap<RecordId, Option<RecordId>> = BTreeMap::new();
        for record in &found {
            match record.module {
                Module::Customer => {
                    concerned.entry(record.id.clone()).or_insert(None);
                }
                Module::Contact => {
                    let Ok(customer) = RecordId::new(record.text("Customer")) else {
                        continue; // a contact of no customer
                    };
                    let contact = concerned.entry(customer).or_insert(None);
                    if contact.is_none() {
                        *contact = Some(record.id.clone());
                    }
                }
                _ => {}
            }
        }
        // A contact's customer may be gone: nothing is kept on a deleted customer.
        let unread: Vec<RecordId> = concerned
            .keys()
            .filter(|id| !found.iter().any(|r| &r.id == *id))
            .cloned()
            .collect();
        if !unread.is_empty() {
            let existing = self.records.get_many(self.tenant, &unread).await?;
            concerned.retain(|id, _| {
                !unread.contains(id)
                    || existing
                        .iter()
                        .any(|r| &r.value.id == id && r.value.module == Module::Customer)
            });
        }
        Ok(concerned)
    }

    /// The customers and contacts whose current email is one of `addresses`, by id. The index
    /// names candidates: each record's current email decides.
    async fn candidates(&self, addresses: &[String]) -> Result<Vec<StoredRecord>, StoreError> {
        let mut keys: Vec<String> = Vec::new();
        for address in addresses {
            keys.extend(identity::key(IdentityKind::Email, address));
            keys.extend(identity::contact_key(address));
        }
        let mut ids = self.records.find_by_identity(self.tenant, &keys).await?;
        ids.sort();
        ids.dedup();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut found: Vec<StoredRecord> = self
            .records
            .get_many(self.tenant, &ids)
            .await?
            .into_iter()
            .map(|r| r.value)
            .filter(|record| {
                identity::keys(record.module, &record.fields)
                    .iter()
                    .any(|k| keys.contains(k))
            })
            .collect();
        found.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(found)
    }

    /// The message record of `mail` on `customer`.
    fn message(
        &self,
        mail: &FetchedMail,
        message_key: &str,
        outgoing: bool,
        customer: &RecordId,
        contact: Option<&RecordId>,
    ) -> Result<StoredRecord, String> {
        let user = &self.mailbox.user;
        let id = hashed_id("mail", &[user.as_str(), message_key, customer.as_str()])
            .ok_or("no record id for the message")?;
        let now = self.clock.now();
        let list = |addresses: &[String]| {
            let kept: Vec<&str> = addresses
                .iter()
                .take(MAX_ADDRESSES)
                .map(String::as_str)
                .collect();
            cut(&kept.join(", "), MAX_LIST_CHARS)
        };
        let mut fields = Map::new();
        let mut put = |name: &str, value: String| {
            if !value.is_empty() {
                fields.insert(name.to_owned(), Value::String(value));
            }
        };
        put("Channel", "Email".into());
        put(
            "Direction",
            if outgoing { "Outgoing" } else { "Incoming" }.into(),
        );
        put("Status", if outgoing { "Sent" } else { "Received" }.into());
        put("Customer", customer.to_string());
        put(
            "Contact",
            contact.map(ToString::to_string).unwrap_or_default(),
        );
        put("From", list(&mail.from));
        put("To", list(&mail.to));
        put("Cc", list(&mail.cc));
        put(
            "Subject",
            cut(&mail.subject, crate::record::service::MAX_SUBJECT_CHARS),
        );
        put("Body", cut(&mail.excerpt, EXCERPT_CHARS));
        // A date in the future (a wrong clock, a forged header) would sit atop the history
        // for years: such a message is placed when it was read.
        let sent_at = mail
            .date
            .filter(|d| *d <= now + chrono::Duration::days(1))
            .unwrap_or(now);
        put("SentAt", instant(sent_at));
        put("MessageId", cut(message_key, 998));
        let names: Vec<String> = mail
            .attachments
            .iter()
            .take(MAX_ATTACHMENT_NAMES)
            .map(|name| cut(name, 255))
            .collect();
        put("Attachments", cut(&names.join("\n"), MAX_LIST_CHARS));
        put("Mailbox", self.mailbox_id.to_string());
        put("Owner", user.to_string());
        stamp_as(&mut fields, user, now, true);
        // Written as the schema reads it: a stored message is always a valid record.
        crate::record::parse_fields(
            self.schema.module(Module::Message),
            &fields,
            "/fields",
            ParseMode::Stored,
        )
        .map_err(|p| p.to_string())?;
        check_size(&fields).map_err(|e| e.to_string())?;
        Ok(StoredRecord {
            id,
            module: Module::Message,
            fields,
        })
    }
}
