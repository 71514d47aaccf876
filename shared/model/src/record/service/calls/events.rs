//! A switchboard's call events: trusted once signed with its secret key, each call one record.

use crate::action::SettingKind;
use crate::ids::{RecordId, SettingId, TenantId, stable_hash};
use crate::record::identity::{self, IdentityKind};
use crate::record::stored::StoredRecord;
use crate::schema::Module;
use crate::settings::Setting;
use crate::store::{Revisioned, StoreError};
use crate::validation::Problems;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

use super::super::instant;
use super::{CallDirection, CallEvent, CallEventError, MAX_CALL_EVENT_BYTES, Telephony, rank};

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
                    let placed = r.value.text("ProviderCallId");
                    r.value.module == Module::Call
                        && r.value.text("Switchboard") == setting.as_str()
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
                    .map(|c| c.text("Owner").to_owned())
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
                    fields.insert("CreatedAt".into(), instant(event.at).into());
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
                .insert("UpdatedAt".into(), instant(self.records.clock.now()).into());
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
        fields.insert("StartedAt".into(), instant(event.at).into());
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
