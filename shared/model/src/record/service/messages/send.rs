//! Queuing a person's message, and reading a customer's messages.

use serde_json::{Map, Value};

use super::super::{Actor, RecordError, Records, check_size, stamp};
use crate::ids::RecordId;
use crate::record::ParseMode;
use crate::record::store::MAX_RELATED;
use crate::record::stored::StoredRecord;
use crate::schema::Module;
use crate::settings::Setting;
use crate::store::StoreError;
use crate::template::draft::{Draft, Drafts, RenderedDraft};
use crate::template::{Escape, MAX_SMS_CHARS};
use crate::user::access::Permission;

use super::{
    Channel, MAX_EMAIL_BODY_BYTES, MAX_SUBJECT_CHARS, Queued, SendRequest, addresses, as_the_user,
    comparable, digest, not_an_address, shape_problems, sms_segments,
};

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
        let id = super::super::keyed_id("msg", actor, &request.key);
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
}
