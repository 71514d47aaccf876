//! A call a user places from the CRM: written first, then asked of the switchboard, once per
//! key (asked again only when the switchboard never answered).

use super::super::messages::phone_of;
use super::super::{Actor, RecordError, check_size, instant, stamp};
use crate::action::SettingKind;
use crate::ids::{RecordId, SettingId, TenantId};
use crate::record::store::MAX_RELATED;
use crate::record::stored::StoredRecord;
use crate::run::providers::SendError;
use crate::schema::Module;
use crate::settings::{Setting, VoipProvider};
use crate::store::{PageRequest, Revisioned, StoreError};
use crate::user::access::Permission;
use crate::validation::Problems;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{CallRequest, Dialled, REDIAL_AFTER_SECONDS, Telephony, rank};

impl Telephony<'_> {
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
        if !super::super::is_client_key(&request.key) {
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
        let id = super::super::keyed_id("call", actor, &request.key)
            .ok_or(RecordError::NotFound("call"))?;
        let now = records.clock.now();
        let mut fields = Map::new();
        let name = stored.value.text("Name");
        fields.insert("Subject".into(), format!("Gọi {name}").trim().into());
        fields.insert("Customer".into(), customer.to_string().into());
        if let Some(contact) = contact {
            fields.insert("Contact".into(), contact.id.to_string().into());
        }
        fields.insert("Direction".into(), "Outbound".into());
        fields.insert("Status".into(), "Planned".into());
        fields.insert("Phone".into(), e164.clone().into());
        fields.insert("Switchboard".into(), provider_id.to_string().into());
        fields.insert("StartedAt".into(), instant(now).into());
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
        if found.value.text("Customer") != customer.as_str() || found.value.text("Phone") != e164 {
            return Err(RecordError::Conflict(
                "this key was used for another call; call under a new key".into(),
            ));
        }
        let unplaced = found.value.text("ProviderCallId").is_empty()
            && found.value.text("Status") == "Planned";
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
        attempt
            .fields
            .insert("UpdatedAt".into(), instant(now).into());
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
            let refused_too_late = status == "Failed" && !record.text("ProviderCallId").is_empty();
            if rank(record.text("Status")) < rank(status) && !refused_too_late {
                record.fields.insert("Status".into(), status.into());
            }
            if let Some(id) = &provider_call {
                record
                    .fields
                    .insert("ProviderCallId".into(), id.clone().into());
            }
            if let (Some(reason), false) = (&reason, refused_too_late) {
                let notes = record.text("Description");
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
}

/// What a repeated key comes to.
enum Replay {
    Answer(Revisioned<StoredRecord>),
    DialAgain(Revisioned<StoredRecord>),
}
