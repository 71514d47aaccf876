//! Calls through the tenant's VOIP switchboard (seed 003 §3.3): a user calls a customer's (or
//! contact's) number from the CRM, the switchboard rings the user's extension first; the
//! switchboard's call events, signed with the setting's secret key, become one Call record per
//! call, however often an event is repeated.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::Sha256;

use super::messages::phone_of;
use super::{Actor, RecordError, Records, check_size, stamp};
use crate::action::SettingKind;
use crate::ids::{RecordId, SettingId, TenantId, stable_hash};
use crate::record::identity::{self, IdentityKind};
use crate::record::store::MAX_RELATED;
use crate::record::stored::StoredRecord;
use crate::run::providers::{SendError, Switchboard};
use crate::schema::Module;
use crate::settings::secrets::{GatewayKeys, SecretName, SecretVault};
use crate::settings::{Setting, VoipProvider};
use crate::store::{PageRequest, Revisioned, StoreError};
use crate::user::access::Permission;
use crate::validation::Problems;

/// Largest call event the webhook reads, in bytes.
pub const MAX_CALL_EVENT_BYTES: usize = 16 * 1024;
/// How long a call asked for may stay unplaced before a request with its key asks again.
const REDIAL_AFTER_SECONDS: i64 = 30;

/// What a user asks for: a call to `phone` (the customer's or a contact's), under their key.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallRequest {
    pub key: String,
    pub phone: String,
    #[serde(default)]
    pub contact: Option<RecordId>,
    /// The switchboard; the tenant's only one when absent.
    #[serde(default)]
    pub provider: Option<SettingId>,
}

/// A call placed, or found again under its key (`replayed`). A call the switchboard refused
/// reads `Failed`, with its reason in Description.
#[derive(Debug, Clone)]
pub struct Dialled {
    pub call: Revisioned<StoredRecord>,
    pub replayed: bool,
}

/// One event of a call, as the switchboard posts it.
/// Members it does not name are ignored: a switchboard adding one loses no event.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CallEvent {
    /// The switchboard's id of the call: one Call record per id.
    pub call_id: String,
    pub event: CallStage,
    pub direction: CallDirection,
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub extension: Option<String>,
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub duration_seconds: Option<u32>,
    #[serde(default)]
    pub recording_url: Option<String>,
    /// The CRM's id of a call a user placed from it.
    #[serde(default)]
    pub call_ref: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallStage {
    Ringing,
    Answered,
    Ended,
    Missed,
}

impl CallStage {
    fn status(self) -> &'static str {
        match self {
            CallStage::Ringing => "Ringing",
            CallStage::Answered => "Answered",
            CallStage::Ended => "Ended",
            CallStage::Missed => "Missed",
        }
    }
}

/// How far a call's status has come: an event never takes it back.
fn rank(status: &str) -> u8 {
    match status {
        "Ringing" => 1,
        "Answered" => 2,
        "Ended" | "Missed" | "Failed" => 3,
        _ => 0,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallDirection {
    Inbound,
    Outbound,
}

/// Why a call event was not taken.
#[derive(Debug, thiserror::Error)]
pub enum CallEventError {
    /// No such switchboard, or one without credentials.
    #[error("no such switchboard")]
    NotFound,
    #[error("the signature does not match the switchboard's secret key")]
    BadSignature,
    #[error("the call event is not valid")]
    Invalid(Problems),
    #[error("storage failed")]
    Store(#[from] StoreError),
}

/// The call use cases: the records, the switchboard, and the vault its keys are read from
/// (under the caller's tenant, or the tenant a valid signature proves).
pub struct Telephony<'a> {
    pub records: Records<'a>,
    pub switchboard: &'a dyn Switchboard,
    pub secrets: &'a dyn SecretVault,
}

fn text<'a>(record: &'a StoredRecord, name: &str) -> &'a str {
    record
        .fields
        .get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn instant(at: DateTime<Utc>) -> Value {
    Value::String(at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

impl Telephony<'_> {
    /// The one customer whose phone number `e164` is (none when no customer, or several, has
    /// it): the identity index is read, then each candidate checked as it is now.
    async fn customer_of(
        &self,
        tenant: &TenantId,
        e164: Option<&str>,
    ) -> Result<Option<StoredRecord>, StoreError> {
        let Some(key) = e164.and_then(|p| identity::key(IdentityKind::Phone, p)) else {
            return Ok(None);
        };
        let records = self.records.records;
        let ids = records
            .find_by_identity(tenant, std::slice::from_ref(&key))
            .await?;
        let mut matching = Vec::new();
        for found in records.get_many(tenant, &ids).await? {
            let current = identity::keys(Module::Customer, &found.value.fields);
            if found.value.module == Module::Customer && current.contains(&key) {
                matching.push(found.value);
            }
        }
        Ok(if matching.len() == 1 {
            matching.pop()
        } else {
            None
        })
    }

    async fn keys(
        &self,
        tenant: &TenantId,
        id: &SettingId,
    ) -> Result<Option<GatewayKeys>, StoreError> {
        let name = SecretName::for_setting(tenant, SettingKind::VoipProvider, id);
        Ok(self.secrets.get(&name).await?.and_then(|v| v.parse()))
    }

    /// The switchboard named, or the tenant's only one.
    async fn provider(
        &self,
        tenant: &TenantId,
        named: Option<&SettingId>,
        problems: &mut Problems,
    ) -> Result<Option<(SettingId, VoipProvider)>, RecordError> {
        let settings = self.records.settings;
        if let Some(id) = named {
            return Ok(
                match settings.get(tenant, SettingKind::VoipProvider, id).await? {
                    Some(Revisioned {
                        value: Setting::VoipProvider(p),
                        ..
                    }) => Some((id.clone(), p)),
                    _ => {
                        problems.push("/provider", "no such switchboard");
                        None
                    }
                },
            );
        }
        let found = settings
            .list(tenant, SettingKind::VoipProvider, &PageRequest::first(2))
            .await?;
        let mut all = found.items.into_iter().filter_map(|(id, s)| match s.value {
            Setting::VoipProvider(p) => Some((id, p)),
            _ => None,
        });
        match (all.next(), all.next()) {
            (Some(only), None) => Ok(Some(only)),
            (None, _) => {
                problems.push(
                    "/provider",
                    "no switchboard is set up; an administrator adds one in the settings",
                );
                Ok(None)
            }
            (Some(_), Some(_)) => {
                problems.push("/provider", "choose the switchboard to call through");
                Ok(None)
            }
        }
    }

    /// Calls `request.phone` for the actor: the switchboard rings their extension, then the
    /// customer. The call is a Call record on the customer, written before the switchboard is
    /// asked, whose id comes from the actor's key: the same key again answers it, and asks the
    /// switchboard again (with the same call id, which it drops if it placed it) only when the
    /// first request never got the switchboard's answer.
    pub async fn click_to_call(
        &self,
        actor: &Actor,
        customer: &RecordId,
        request: &CallRequest,
    ) -> Result<Dialled, RecordError> {
        let records = &self.records;
        let tenant = &actor.tenant;
        actor.require(Module::Call, Permission::Create)?;
        let mut problems = Problems::default();
        if !super::messages::is_key(&request.key) {
            problems.push("/key", "1 to 64 letters, digits, '-' or '_'");
        }
        let stored = records.read(actor, Module::Customer, customer).await?;
        let related = records
            .records
            .related(tenant, customer, MAX_RELATED)
            .await?;
        let contacts: Vec<&StoredRecord> = related
            .iter()
            .map(|r| &r.value)
            .filter(|r| r.module == Module::Contact && actor.access.reaches(r))
            .collect();
        let schema = records.tenant_settings(tenant).await?.schema();
        let wanted = crate::phone::parse(&request.phone).map(|n| n.e164);
        let mut contact = None;
        if let Some(id) = &request.contact {
            match contacts.iter().find(|c| &c.id == id) {
                Some(found) => contact = Some(*found),
                None => problems.push("/contact", "not one of this customer's contacts"),
            }
        }
        match (&wanted, contact) {
            (None, _) => problems.push("/phone", "not a phone number"),
            (Some(e164), Some(named)) => {
                if !phone_of(&schema, named).contains(e164) {
                    problems.push("/contact", "the number is not this contact's");
                }
            }
            (Some(e164), None) if phone_of(&schema, &stored.value).contains(e164) => {}
            (Some(e164), None) => match contacts
                .iter()
                .find(|c| phone_of(&schema, c).contains(e164))
            {
                Some(of) => contact = Some(*of),
                None => problems.push("/phone", "not a number of this customer or of its contacts"),
            },
        }
        let provider = self
            .provider(tenant, request.provider.as_ref(), &mut problems)
            .await?;
        let (Some(e164), Some((provider_id, provider)), true) =
            (wanted, provider, problems.is_empty())
        else {
            return Err(RecordError::Invalid(problems));
        };
        let Some(extension) = provider.extensions.get(&actor.user).cloned() else {
            return Err(RecordError::Conflict(format!(
                "you have no extension on the switchboard '{}'; an administrator sets it in its settings",
                provider.name
            )));
        };
        let Some(keys) = self.keys(tenant, &provider_id).await? else {
            return Err(RecordError::Conflict(format!(
                "no credentials are set for the switchboard '{}'; an administrator sets them",
                provider.name
            )));
        };
        let hash = stable_hash(
            actor
                .user
                .as_str()
                .bytes()
                .chain([0])
                .chain(request.key.bytes()),
        );
        let id = RecordId::new(format!("call-{hash:016x}"))
            .map_err(|_| RecordError::NotFound("call"))?;
        let now = records.clock.now();
        let mut fields = Map::new();
        let name = text(&stored.value, "Name");
        fields.insert("Subject".into(), format!("Gọi {name}").trim().into());
        fields.insert("Customer".into(), customer.to_string().into());
        if let Some(contact) = contact {
            fields.insert("Contact".into(), contact.id.to_string().into());
        }
        fields.insert("Direction".into(), "Outbound".into());
        fields.insert("Status".into(), "Planned".into());
        fields.insert("Phone".into(), e164.clone().into());
        fields.insert("Switchboard".into(), provider_id.to_string().into());
        fields.insert("StartedAt".into(), instant(now));
        fields.insert("Owner".into(), actor.user.to_string().into());
        stamp(&mut fields, actor, now, true);
        check_size(&fields)?;
        let record = StoredRecord {
            id: id.clone(),
            module: Module::Call,
            fields,
        };
        let call = match records.records.create(tenant, &record).await {
            Ok(created) => created,
            Err(StoreError::AlreadyExists) => {
                let found = records.get(tenant, Module::Call, &id).await?;
                match self.replay(tenant, found, customer, &e164, now).await? {
                    Replay::Answer(call) => {
                        return Ok(Dialled {
                            call,
                            replayed: true,
                        });
                    }
                    Replay::DialAgain(call) => call,
                }
            }
            Err(other) => return Err(other.into()),
        };
        let answer = self
            .switchboard
            .dial(&provider, &keys, &extension, &e164, id.as_str())
            .await
            .map_err(|e| e.scrubbed(&[&keys.api_key, &keys.secret_key]));
        let (status, provider_call, reason) = match answer {
            Ok(call_id) => ("Ringing", Some(call_id), None),
            Err(SendError::Permanent(reason)) => ("Failed", None, Some(reason)),
            Err(SendError::Transient(reason) | SendError::InDoubt(reason)) => {
                tracing::warn!(%reason, "the switchboard did not answer; the call stays asked for");
                return Err(RecordError::Store(StoreError::Unavailable(reason.into())));
            }
        };
        let call = self
            .settle_dial(tenant, call, status, provider_call, reason)
            .await?;
        tracing::info!(call = %id, status, "call asked of the switchboard");
        Ok(Dialled {
            call,
            replayed: false,
        })
    }

    /// What a request finds under a key already used: the same call, answered as it is; or one
    /// never placed (the switchboard did not answer) that this request asks for again, having
    /// claimed the attempt with a write at its revision (a concurrent one loses, and waits).
    async fn replay(
        &self,
        tenant: &TenantId,
        found: Revisioned<StoredRecord>,
        customer: &RecordId,
        e164: &str,
        now: DateTime<Utc>,
    ) -> Result<Replay, RecordError> {
        if text(&found.value, "Customer") != customer.as_str()
            || text(&found.value, "Phone") != e164
        {
            return Err(RecordError::Conflict(
                "this key was used for another call; call under a new key".into(),
            ));
        }
        let unplaced = text(&found.value, "ProviderCallId").is_empty()
            && text(&found.value, "Status") == "Planned";
        if !unplaced {
            return Ok(Replay::Answer(found));
        }
        // The last attempt's time: another request may be asking the switchboard right now.
        let last = found
            .value
            .fields
            .get("UpdatedAt")
            .and_then(Value::as_str)
            .and_then(|t| t.parse::<DateTime<Utc>>().ok());
        let busy =
            last.is_none_or(|at| now - at <= chrono::Duration::seconds(REDIAL_AFTER_SECONDS));
        let placing =
            || RecordError::Conflict("the call is being placed; try again in a moment".into());
        if busy {
            return Err(placing());
        }
        let mut attempt = found.value.clone();
        attempt.fields.insert("UpdatedAt".into(), instant(now));
        match self
            .records
            .records
            .replace(tenant, &attempt, found.revision)
            .await
        {
            Ok(claimed) => Ok(Replay::DialAgain(claimed)),
            Err(StoreError::Conflict { .. }) => Err(placing()),
            Err(other) => Err(other.into()),
        }
    }

    /// Writes the switchboard's answer on the call, unless its events took it further already.
    async fn settle_dial(
        &self,
        tenant: &TenantId,
        mut call: Revisioned<StoredRecord>,
        status: &str,
        provider_call: Option<String>,
        reason: Option<String>,
    ) -> Result<Revisioned<StoredRecord>, RecordError> {
        for _ in 0..5 {
            let mut record = call.value.clone();
            // A refusal says nothing of a call an event or another attempt already placed.
            let refused_too_late =
                status == "Failed" && !text(&record, "ProviderCallId").is_empty();
            if rank(text(&record, "Status")) < rank(status) && !refused_too_late {
                record.fields.insert("Status".into(), status.into());
            }
            if let Some(id) = &provider_call {
                record
                    .fields
                    .insert("ProviderCallId".into(), id.clone().into());
            }
            if let (Some(reason), false) = (&reason, refused_too_late) {
                let notes = text(&record, "Description");
                let described = if notes.is_empty() {
                    reason.clone()
                } else {
                    format!("{notes}\n{reason}")
                };
                record.fields.insert("Description".into(), described.into());
            }
            if record.fields == call.value.fields {
                return Ok(call);
            }
            match self
                .records
                .records
                .replace(tenant, &record, call.revision)
                .await
            {
                Ok(written) => return Ok(written),
                Err(StoreError::Conflict { .. }) => {
                    call = self
                        .records
                        .get(tenant, Module::Call, &call.value.id)
                        .await?;
                }
                Err(other) => return Err(other.into()),
            }
        }
        Err(RecordError::Stale {
            expected: call.revision,
        })
    }

    /// Takes one event the switchboard `endpoint` (`<tenant>.<setting>`) posted: trusted only
    /// once `signature` (`sha256=<hex>`, HMAC-SHA256 of `body` with the setting's secret key)
    /// matches. The call's record is created or brought up to date; an event already taken
    /// changes nothing.
    pub async fn call_event(
        &self,
        endpoint: &str,
        signature: &str,
        body: &[u8],
    ) -> Result<RecordId, CallEventError> {
        let (tenant, setting) = endpoint
            .split_once('.')
            .and_then(|(t, s)| Some((TenantId::new(t).ok()?, SettingId::new(s).ok()?)))
            .ok_or(CallEventError::NotFound)?;
        let provider = match self
            .records
            .settings
            .get(&tenant, SettingKind::VoipProvider, &setting)
            .await?
        {
            Some(Revisioned {
                value: Setting::VoipProvider(p),
                ..
            }) => p,
            _ => return Err(CallEventError::NotFound),
        };
        let keys = self
            .keys(&tenant, &setting)
            .await?
            .ok_or(CallEventError::NotFound)?;
        if body.len() > MAX_CALL_EVENT_BYTES || !signed(&keys.secret_key, body, signature) {
            return Err(CallEventError::BadSignature);
        }
        let event: CallEvent = serde_json::from_slice(body).map_err(|e| {
            CallEventError::Invalid(Problems::single("", format!("not a call event: {e}")))
        })?;
        check_event(&event)?;
        let phone = match event.direction {
            CallDirection::Outbound => &event.to,
            CallDirection::Inbound => &event.from,
        };
        let e164 = crate::phone::parse(phone).map(|n| n.e164);
        let records = self.records.records;
        // Only a call this switchboard was asked to place, and not another call since.
        let referred = match event.call_ref.as_deref().map(RecordId::new) {
            Some(Ok(id)) if id.as_str().starts_with("call-") => records
                .get(&tenant, &id)
                .await?
                .filter(|r| {
                    let placed = text(&r.value, "ProviderCallId");
                    r.value.module == Module::Call
                        && text(&r.value, "Switchboard") == setting.as_str()
                        && (placed.is_empty() || placed == event.call_id)
                })
                .map(|r| r.value.id),
            _ => None,
        };
        let id = match referred {
            Some(id) => id,
            None => {
                let hash = stable_hash(
                    setting
                        .as_str()
                        .bytes()
                        .chain([0])
                        .chain(event.call_id.bytes()),
                );
                RecordId::new(format!("voip-{hash:016x}")).map_err(|_| CallEventError::NotFound)?
            }
        };
        let customer = self.customer_of(&tenant, e164.as_deref()).await?;
        // The extension's user, else the customer's owner: someone sees the call.
        let owner = event
            .extension
            .as_deref()
            .and_then(|e| provider.user_of(e))
            .map(|u| u.to_string())
            .or_else(|| {
                customer
                    .as_ref()
                    .map(|c| text(c, "Owner").to_owned())
                    .filter(|o| !o.is_empty())
            });
        let customer = customer.map(|c| c.id);
        for _ in 0..5 {
            let found = records.get(&tenant, &id).await?;
            let mut record = match &found {
                Some(found) => found.value.clone(),
                None => {
                    let mut fields = Map::new();
                    let subject = match event.direction {
                        CallDirection::Outbound => format!("Cuộc gọi đi {phone}"),
                        CallDirection::Inbound => format!("Cuộc gọi đến từ {phone}"),
                    };
                    fields.insert("Subject".into(), subject.into());
                    fields.insert(
                        "Direction".into(),
                        match event.direction {
                            CallDirection::Outbound => "Outbound",
                            CallDirection::Inbound => "Inbound",
                        }
                        .into(),
                    );
                    fields.insert("Phone".into(), e164.clone().unwrap_or(phone.clone()).into());
                    if let Some(customer) = &customer {
                        fields.insert("Customer".into(), customer.to_string().into());
                    }
                    if let Some(owner) = &owner {
                        fields.insert("Owner".into(), owner.clone().into());
                    }
                    fields.insert("Switchboard".into(), setting.to_string().into());
                    fields.insert("CreatedAt".into(), instant(event.at));
                    StoredRecord {
                        id: id.clone(),
                        module: Module::Call,
                        fields,
                    }
                }
            };
            let before = record.fields.clone();
            apply(&mut record.fields, &event);
            if found.is_some() && record.fields == before {
                return Ok(id);
            }
            record
                .fields
                .insert("UpdatedAt".into(), instant(self.records.clock.now()));
            let written = match &found {
                Some(found) => records.replace(&tenant, &record, found.revision).await,
                None => records.create(&tenant, &record).await,
            };
            match written {
                Ok(_) => {
                    tracing::info!(tenant = %tenant, call = %id, stage = ?event.event, "call event taken");
                    return Ok(id);
                }
                Err(StoreError::Conflict { .. } | StoreError::AlreadyExists) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(CallEventError::Store(StoreError::Unavailable(
            "the call kept changing; send the event again".into(),
        )))
    }
}

/// What a repeated key comes to.
enum Replay {
    Answer(Revisioned<StoredRecord>),
    DialAgain(Revisioned<StoredRecord>),
}

/// Whether `signature` is `sha256=<hex>` of the body's HMAC-SHA256 under `secret`.
fn signed(secret: &str, body: &[u8], signature: &str) -> bool {
    let Some(hex) = signature.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Some(bytes) = crate::approval::links::unhex(hex) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&bytes).is_ok()
}

fn check_event(event: &CallEvent) -> Result<(), CallEventError> {
    let mut problems = Problems::default();
    if event.call_id.is_empty() || event.call_id.len() > 128 {
        problems.push("/call_id", "1 to 128 characters");
    }
    for (path, number) in [("/from", &event.from), ("/to", &event.to)] {
        if number.is_empty() || number.len() > 32 {
            problems.push(path, "1 to 32 characters");
        }
    }
    if event.duration_seconds.is_some_and(|d| d > 86_400) {
        problems.push("/duration_seconds", "at most a day");
    }
    if let Some(url) = &event.recording_url {
        let https = url::Url::parse(url).is_ok_and(|u| u.scheme() == "https");
        if !https || url.len() > 2048 {
            problems.push("/recording_url", "an https link of at most 2048 characters");
        }
    }
    problems.into_result(()).map_err(CallEventError::Invalid)
}

/// The event's news on the call's fields: a status further along, the earliest start, the
/// longest duration, the recording.
fn apply(fields: &mut Map<String, Value>, event: &CallEvent) {
    let status = fields
        .get("Status")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if rank(status) < rank(event.event.status()) {
        fields.insert("Status".into(), event.event.status().into());
    }
    fields.insert("ProviderCallId".into(), event.call_id.clone().into());
    let started = fields
        .get("StartedAt")
        .and_then(Value::as_str)
        .and_then(|t| t.parse::<DateTime<Utc>>().ok());
    if started.is_none_or(|s| event.at < s) {
        fields.insert("StartedAt".into(), instant(event.at));
    }
    if let Some(duration) = event.duration_seconds {
        let known = fields
            .get("DurationSeconds")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        if u64::from(duration) > known {
            fields.insert("DurationSeconds".into(), duration.into());
        }
    }
    if let Some(url) = &event.recording_url {
        fields.insert("Recording".into(), url.clone().into());
    }
}
