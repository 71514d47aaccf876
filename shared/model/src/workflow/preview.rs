//! Dry-run preview of a care workflow, draft or active: the occurrences that would fire in the
//! next N days (record, instant, condition result) and the messages of the first K rendered,
//! with no side effects.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::action::{Action, SettingKind};
use crate::clock::Clock;
use crate::condition::EvalContext;
use crate::ids::{RecordId, TenantId, WorkflowId};
use crate::record::Record;
use crate::record::store::{RecordFilter, RecordStore};
use crate::schedule::fire_zone;
use crate::schema::Schema;
use crate::settings::Setting;
use crate::settings::store::SettingsStore;
use crate::store::{PageRequest, StoreError};
use crate::template::{
    Directory, Escape, LoadedNames, MergeTemplate, RenderContext, look_up, setting_texts,
};
use crate::trigger::{Anchor, Trigger};
use crate::workflow::WorkflowDefinition;
use crate::workflow::store::WorkflowStore;

/// Records a preview examines at most; a larger module is reported as truncated.
pub const PREVIEW_RECORD_LIMIT: usize = 5_000;
/// Occurrences listed at most.
pub const PREVIEW_OCCURRENCE_LIMIT: usize = 500;
/// How long a preview may read records before it answers with what it found (truncated).
pub const PREVIEW_SECONDS: i64 = 10;

#[derive(Debug, Clone, Serialize)]
pub struct PreviewOccurrence {
    pub record: RecordId,
    pub record_name: String,
    pub occurrence: String,
    pub fire_at: DateTime<Utc>,
    pub condition_met: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RenderedAction {
    pub action: String,
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RenderedOccurrence {
    pub record: RecordId,
    pub fire_at: DateTime<Utc>,
    pub actions: Vec<RenderedAction>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub records_examined: usize,
    /// More records exist than a preview examines.
    pub truncated: bool,
    pub occurrences: Vec<PreviewOccurrence>,
    pub rendered: Vec<RenderedOccurrence>,
}

#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error("no such workflow")]
    NotFound,
    #[error("a preview lists time-triggered (care) workflows; work workflows run on record events")]
    NotTimeTriggered,
    #[error("storage failed")]
    Store(#[from] StoreError),
}

pub struct Previews<'a> {
    pub workflows: &'a dyn WorkflowStore,
    pub records: &'a dyn RecordStore,
    pub settings: &'a dyn SettingsStore,
    pub users: &'a dyn crate::user::directory::UserDirectory,
    pub clock: &'a dyn Clock,
}

impl Previews<'_> {
    pub async fn preview(
        &self,
        tenant: &TenantId,
        workflow: &WorkflowId,
        days: u32,
        render: usize,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<Preview, PreviewError> {
        let head = self
            .workflows
            .get(tenant, workflow)
            .await?
            .ok_or(PreviewError::NotFound)?;
        let definition = head.value.definition;
        let Trigger::Time(trigger) = &definition.trigger else {
            return Err(PreviewError::NotTimeTriggered);
        };
        let tenant_settings = self.settings.tenant_settings(tenant).await?.value;
        let schema = tenant_settings.schema();
        let condition = definition
            .compile_condition(&schema)
            .map_err(|_| StoreError::Corrupt("stored condition no longer compiles".into()))?;
        let started = self.clock.now();
        // "As of" another instant: what would fire from then on, with the records as they are now.
        let from = as_of.unwrap_or(started);
        let to = from + Duration::days(i64::from(days));
        let feb29 = trigger.feb29.unwrap_or(tenant_settings.feb29_default);

        let mut examined = 0;
        let mut truncated = false;
        let mut found: Vec<(PreviewOccurrence, Record)> = Vec::new();
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let listed = self
                .records
                .list(tenant, definition.module, &RecordFilter::default(), &page)
                .await?;
            for stored in listed.items {
                if examined == PREVIEW_RECORD_LIMIT {
                    truncated = true;
                    break;
                }
                examined += 1;
                let record = stored.value.typed(&schema);
                let tz = fire_zone(&record, &tenant_settings);
                let Some(anchor) = Anchor::of(&record, &trigger.date_field, tz) else {
                    continue;
                };
                let met = condition.matches(
                    &record,
                    &EvalContext {
                        now: from,
                        tz,
                        previous: None,
                    },
                );
                let name = record
                    .get("Name")
                    .or(record.get("Title"))
                    .or(record.get("Code"))
                    .and_then(|v| v.as_text())
                    .unwrap_or_default()
                    .to_owned();
                for occurrence in trigger.occurrences_between(anchor, tz, feb29, from, to) {
                    found.push((
                        PreviewOccurrence {
                            record: record.id.clone(),
                            record_name: name.clone(),
                            occurrence: occurrence.key.to_string(),
                            fire_at: occurrence.fire_at,
                            condition_met: met,
                        },
                        record.clone(),
                    ));
                }
            }
            // Memory stays bounded: only the earliest occurrences (and their records) are kept.
            if found.len() > 2 * PREVIEW_OCCURRENCE_LIMIT {
                earliest_first(&mut found);
                found.truncate(PREVIEW_OCCURRENCE_LIMIT);
            }
            if self.clock.now() - started > Duration::seconds(PREVIEW_SECONDS) {
                truncated |= listed.next.is_some();
                break;
            }
            match listed.next {
                Some(next) if !truncated => page.cursor = Some(next),
                _ => break,
            }
        }
        earliest_first(&mut found);
        found.truncate(PREVIEW_OCCURRENCE_LIMIT);

        let mut rendered = Vec::new();
        for (occurrence, record) in found.iter().filter(|(o, _)| o.condition_met).take(render) {
            let tz = fire_zone(record, &tenant_settings);
            let mut actions = Vec::new();
            for action in &definition.actions {
                actions.push(
                    self.render(tenant, &definition, action, record, &schema, tz)
                        .await?,
                );
            }
            rendered.push(RenderedOccurrence {
                record: occurrence.record.clone(),
                fire_at: occurrence.fire_at,
                actions,
            });
        }
        Ok(Preview {
            from,
            to,
            records_examined: examined,
            truncated,
            occurrences: found.into_iter().map(|(o, _)| o).collect(),
            rendered,
        })
    }

    async fn render(
        &self,
        tenant: &TenantId,
        definition: &WorkflowDefinition,
        action: &Action,
        record: &Record,
        schema: &Schema,
        tz: chrono_tz::Tz,
    ) -> Result<RenderedAction, StoreError> {
        let module = schema.module(definition.module);
        let names = self
            .names(tenant, action, schema, definition.module, record)
            .await?;
        let merge = |text: &str, escape: Escape| -> String {
            MergeTemplate::parse(text, schema, definition.module)
                .map(|t| {
                    t.render(
                        module,
                        record,
                        &RenderContext {
                            tz,
                            names: &names,
                            escape,
                        },
                    )
                })
                .unwrap_or_else(|_| text.to_owned())
        };
        let (subject, text) = match action {
            Action::Sms(a) => match self
                .settings
                .get(tenant, SettingKind::SmsTemplate, &a.template)
                .await?
                .map(|s| s.value)
            {
                Some(Setting::SmsTemplate(t)) => (None, merge(&t.body, Escape::Plain)),
                _ => (None, format!("(SMS template '{}' is missing)", a.template)),
            },
            Action::Email(a) => match self
                .settings
                .get(tenant, SettingKind::EmailTemplate, &a.template)
                .await?
                .map(|s| s.value)
            {
                Some(Setting::EmailTemplate(t)) => (
                    Some(merge(&t.subject, Escape::Plain)),
                    merge(&t.html_body, Escape::Html),
                ),
                _ => (
                    None,
                    format!("(email template '{}' is missing)", a.template),
                ),
            },
            Action::Zns(a) => {
                let parameters: Vec<String> = a
                    .parameters
                    .iter()
                    .map(|(k, v)| format!("{k}={}", merge(v, Escape::Plain)))
                    .collect();
                (None, parameters.join(", "))
            }
            Action::Task(a) => (
                Some(merge(&a.title, Escape::Plain)),
                merge(&a.description, Escape::Plain),
            ),
            Action::Notification(a) => (None, merge(&a.message, Escape::Plain)),
            Action::UpdateFields(a) => (
                None,
                a.values
                    .iter()
                    .map(|v| v.field.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            Action::Handover(_) => (None, "hand over the record".to_owned()),
            Action::CareCard(a) => (None, format!("care card ({})", a.layout)),
        };
        Ok(RenderedAction {
            action: action.id().to_string(),
            kind: action.kind_name(),
            subject,
            text,
        })
    }
}

impl Previews<'_> {
    /// The users and records the action's texts name for `record`, as the executor will show
    /// them.
    async fn names(
        &self,
        tenant: &TenantId,
        action: &Action,
        schema: &Schema,
        module: crate::schema::Module,
        record: &Record,
    ) -> Result<LoadedNames, StoreError> {
        let mut texts: Vec<String> = action
            .merge_texts()
            .into_iter()
            .map(str::to_owned)
            .collect();
        // The messages only: a preview prints no document.
        for (kind, id) in action.rendered_settings() {
            if kind == SettingKind::PrintTemplate {
                continue;
            }
            if let Some(setting) = self.settings.get(tenant, kind, id).await? {
                texts.extend(setting_texts(setting.value));
            }
        }
        let templates: Vec<MergeTemplate> = texts
            .iter()
            .filter_map(|text| MergeTemplate::parse(text, schema, module).ok())
            .collect();
        look_up(
            tenant,
            &templates,
            schema,
            module,
            record,
            self.records,
            &Directory(self.users),
        )
        .await
    }
}

/// Occurrences by fire instant, then record.
fn earliest_first(found: &mut [(PreviewOccurrence, Record)]) {
    found.sort_by(|a, b| {
        a.0.fire_at
            .cmp(&b.0.fire_at)
            .then_with(|| a.0.record.cmp(&b.0.record))
    });
}
