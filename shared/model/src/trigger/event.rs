//! Record-event triggers of work workflows: created, updated, with watched fields.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::record::Record;
use crate::schema::ModuleSchema;
use crate::validation::Problems;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordEvent {
    Created,
    Updated,
    CreatedOrUpdated,
}

/// Whether an edit must touch any or all of the watched fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WatchMode {
    #[default]
    Any,
    All,
}

/// A work workflow's "when".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordEventTrigger {
    pub on: RecordEvent,
    /// Fields whose change counts as an edit; empty means any change.
    #[serde(default)]
    pub watched_fields: Vec<String>,
    #[serde(default)]
    pub watch: WatchMode,
    /// Off: the workflow runs for a record only the first time the record matches.
    #[serde(default)]
    pub repeat_on_every_edit: bool,
    /// At most once per this many minutes for one record.
    #[serde(default)]
    pub throttle_minutes: Option<u32>,
}

/// What happened to a record, as the records table's stream tells it.
#[derive(Debug, Clone, Copy)]
pub enum RecordChange<'a> {
    Created(&'a Record),
    Updated { old: &'a Record, new: &'a Record },
}

impl RecordChange<'_> {
    pub fn record(&self) -> &Record {
        match self {
            RecordChange::Created(r) | RecordChange::Updated { new: r, .. } => r,
        }
    }

    pub fn previous(&self) -> Option<&Record> {
        match self {
            RecordChange::Created(_) => None,
            RecordChange::Updated { old, .. } => Some(old),
        }
    }
}

/// Whether a work workflow runs for one change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventDecision {
    Fire,
    /// Not this kind of event, or no watched field changed.
    NotThisEvent,
    ConditionNotMet,
    /// Repeat is off and the workflow already ran for this record.
    AlreadyRan,
    /// Within the throttle period of the last run for this record.
    Throttled,
}

impl RecordEventTrigger {
    pub(super) fn validate(&self, schema: &ModuleSchema, path: &str) -> Problems {
        let mut problems = Problems::default();
        for (i, name) in self.watched_fields.iter().enumerate() {
            if schema.field(name).is_none() {
                problems.push(
                    format!("{path}/watched_fields/{i}"),
                    format!("{} has no field '{name}'", schema.module()),
                );
            }
        }
        if !self.watched_fields.is_empty() && self.on == RecordEvent::Created {
            problems.push(
                format!("{path}/watched_fields"),
                "watched fields apply to edits; a creation has no previous value",
            );
        }
        if self.throttle_minutes == Some(0) {
            problems.push(format!("{path}/throttle_minutes"), "must be at least 1");
        }
        problems
    }

    /// Whether the change is an event this trigger listens to (kind and watched fields).
    pub fn listens_to(&self, change: &RecordChange<'_>) -> bool {
        match (*change, self.on) {
            (RecordChange::Created(_), RecordEvent::Created | RecordEvent::CreatedOrUpdated) => {
                true
            }
            (
                RecordChange::Updated { old, new },
                RecordEvent::Updated | RecordEvent::CreatedOrUpdated,
            ) => {
                let changed = |f: &String| old.get(f) != new.get(f);
                if self.watched_fields.is_empty() {
                    old.fields != new.fields
                } else {
                    match self.watch {
                        WatchMode::Any => self.watched_fields.iter().any(changed),
                        WatchMode::All => self.watched_fields.iter().all(changed),
                    }
                }
            }
            _ => false,
        }
    }

    /// The full decision for one change, given the condition's result now and what is known of
    /// earlier runs for this record.
    pub fn decide(
        &self,
        change: &RecordChange<'_>,
        condition_met: bool,
        last_run: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> EventDecision {
        if !self.listens_to(change) {
            return EventDecision::NotThisEvent;
        }
        if !condition_met {
            return EventDecision::ConditionNotMet;
        }
        match last_run {
            Some(_) if !self.repeat_on_every_edit => EventDecision::AlreadyRan,
            Some(at)
                if self
                    .throttle_minutes
                    .is_some_and(|m| now - at < Duration::minutes(i64::from(m))) =>
            {
                EventDecision::Throttled
            }
            _ => EventDecision::Fire,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::RecordId;
    use crate::record::FieldValue;
    use crate::schema::Module;

    fn record(status: &str, phone: &str) -> Record {
        let mut fields = crate::record::Fields::new();
        fields.insert("Status".into(), FieldValue::Text(status.into()));
        fields.insert("Phone".into(), FieldValue::Text(phone.into()));
        Record {
            id: RecordId::new("r1").unwrap(),
            module: Module::Lead,
            fields,
        }
    }

    fn trigger(on: RecordEvent, watched: &[&str], watch: WatchMode) -> RecordEventTrigger {
        RecordEventTrigger {
            on,
            watched_fields: watched.iter().map(|s| s.to_string()).collect(),
            watch,
            repeat_on_every_edit: true,
            throttle_minutes: None,
        }
    }

    #[test]
    fn event_kinds() {
        let a = record("New", "0912345678");
        let b = record("Contacted", "0912345678");
        let created = RecordChange::Created(&a);
        let updated = RecordChange::Updated { old: &a, new: &b };
        let unchanged = RecordChange::Updated { old: &a, new: &a };
        let on = |e| trigger(e, &[], WatchMode::Any);
        assert!(on(RecordEvent::Created).listens_to(&created));
        assert!(!on(RecordEvent::Created).listens_to(&updated));
        assert!(on(RecordEvent::Updated).listens_to(&updated));
        assert!(!on(RecordEvent::Updated).listens_to(&created));
        assert!(!on(RecordEvent::Updated).listens_to(&unchanged));
        assert!(on(RecordEvent::CreatedOrUpdated).listens_to(&created));
        assert!(on(RecordEvent::CreatedOrUpdated).listens_to(&updated));
    }

    #[test]
    fn watched_fields_any_or_all() {
        let a = record("New", "0912345678");
        let status_only = record("Contacted", "0912345678");
        let both = record("Contacted", "0987654321");
        let any = trigger(RecordEvent::Updated, &["Status", "Phone"], WatchMode::Any);
        let all = trigger(RecordEvent::Updated, &["Status", "Phone"], WatchMode::All);
        let one = RecordChange::Updated {
            old: &a,
            new: &status_only,
        };
        let two = RecordChange::Updated {
            old: &a,
            new: &both,
        };
        assert!(any.listens_to(&one));
        assert!(!all.listens_to(&one));
        assert!(all.listens_to(&two));
    }

    #[test]
    fn repeat_toggle_and_throttle() {
        let a = record("New", "0912345678");
        let b = record("Contacted", "0912345678");
        let change = RecordChange::Updated { old: &a, new: &b };
        let now = DateTime::from_timestamp(2_000_000_000, 0).unwrap();
        let mut t = trigger(RecordEvent::Updated, &[], WatchMode::Any);
        t.repeat_on_every_edit = false;
        assert_eq!(t.decide(&change, true, None, now), EventDecision::Fire);
        assert_eq!(
            t.decide(&change, true, Some(now), now),
            EventDecision::AlreadyRan
        );
        assert_eq!(
            t.decide(&change, false, None, now),
            EventDecision::ConditionNotMet
        );
        t.repeat_on_every_edit = true;
        t.throttle_minutes = Some(60);
        let recent = now - Duration::minutes(59);
        let old = now - Duration::minutes(60);
        assert_eq!(
            t.decide(&change, true, Some(recent), now),
            EventDecision::Throttled
        );
        assert_eq!(t.decide(&change, true, Some(old), now), EventDecision::Fire);
    }
}
