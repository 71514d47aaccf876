//! A record's timeline (seed 003 §3.7): its tasks, care cards, calls, meetings and notes and
//! what the automation did, newest first, a page at a time.

use serde_json::Value;

use super::customers::is_open;
use super::{Actor, RecordError, Records, instant};
use crate::ids::RecordId;
use crate::record::store::MAX_RELATED;
use crate::record::stored::StoredRecord;
use crate::run::RunRecord;
use crate::schema::Module;
use crate::store::{PageRequest, Revisioned};
use crate::user::access::Permission;

/// One entry of the activity history: a task or care card, or something the automation did.
#[derive(Debug, Clone, PartialEq)]
// A run (with its skipped SMS/ZNS recipients) is a few hundred bytes; a page holds a few dozen.
#[allow(clippy::large_enum_variant)]
pub enum Activity {
    Record(Revisioned<StoredRecord>),
    Run(RunRecord),
}

impl Activity {
    /// When it happened, or is planned for: a meeting's start, a call's, else its creation
    /// (a run: its last change).
    pub fn at(&self) -> String {
        match self {
            Activity::Record(r) => {
                let own = match r.value.module {
                    Module::Meeting => "StartsAt",
                    Module::Call => "StartedAt",
                    // As its history's index orders it (`message_key`).
                    Module::Message => "SentAt",
                    _ => "CreatedAt",
                };
                let fields = &r.value.fields;
                // One form for every instant (UTC, milliseconds), so that they order as text.
                fields
                    .get(own)
                    .or_else(|| fields.get("CreatedAt"))
                    .and_then(Value::as_str)
                    .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
                    .map(|at| instant(at.with_timezone(&chrono::Utc)))
                    .unwrap_or_default()
            }
            Activity::Run(run) => instant(run.updated_at),
        }
    }

    /// Its id in the timeline: a record's id, a run's idempotency key.
    fn key(&self) -> String {
        match self {
            Activity::Record(r) => r.value.id.to_string(),
            Activity::Run(run) => run.key.clone(),
        }
    }

    /// Where it sits in the timeline, newest first: the cursor of the page after it.
    fn position(&self) -> ActivityCursor {
        ActivityCursor {
            at: self.at(),
            key: self.key(),
        }
    }
}

/// A place in a record's timeline: the activities after it are older (or, at the same instant,
/// of a smaller key).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ActivityCursor {
    pub at: String,
    pub key: String,
}

impl ActivityCursor {
    /// `<at>|<key>`, as pages name it.
    pub fn encode(&self) -> String {
        format!("{}|{}", self.at, self.key)
    }

    /// The cursor of a position in a customer's message index (`<at>#<id>`, `message_key`).
    pub fn from_index_key(key: &str) -> Option<Self> {
        let (at, id) = key.split_once('#')?;
        Some(Self {
            at: at.to_owned(),
            key: id.to_owned(),
        })
    }

    /// A cursor as [`Self::encode`] wrote it: an instant in its form (or none) and a key.
    pub fn decode(text: &str) -> Option<Self> {
        let (at, key) = text.split_once('|')?;
        let instant = at.is_empty()
            || chrono::DateTime::parse_from_rfc3339(at)
                .is_ok_and(|t| instant(t.with_timezone(&chrono::Utc)) == at);
        (instant && !key.is_empty()).then(|| Self {
            at: at.to_owned(),
            key: key.to_owned(),
        })
    }
}

/// One page of a record's timeline, and the cursor of the next when there is one.
#[derive(Debug)]
pub struct ActivityPage {
    pub items: Vec<Activity>,
    pub next: Option<ActivityCursor>,
}

/// How many automation runs per record the timeline reads: its pages go back that far.
pub const TIMELINE_RUNS: u32 = 500;

impl Records<'_> {
    /// A record's timeline, newest first, `limit` at a time after `after`: the tasks, care
    /// cards, calls, meetings and notes of a customer (through their Customer field), the tasks
    /// a workflow made for any record (through their RelatedRecord field), and the automation's
    /// runs on it (and on customers merged into it; the latest [`TIMELINE_RUNS`] of each).
    /// `open_only` keeps what is still to do, and no run.
    pub async fn activities(
        &self,
        actor: &Actor,
        module: Module,
        id: &RecordId,
        open_only: bool,
        limit: u32,
        after: Option<&ActivityCursor>,
    ) -> Result<ActivityPage, RecordError> {
        let tenant = &actor.tenant;
        let mut records = if module == Module::Customer {
            self.customer_related(actor, id).await?
        } else {
            self.read(actor, module, id).await?;
            Vec::new()
        };
        for linked in self.records.linked(tenant, id, MAX_RELATED).await? {
            if !records.iter().any(|r| r.value.id == linked.value.id) {
                records.push(linked);
            }
        }
        let mut activities: Vec<Activity> = records
            .into_iter()
            .filter(|r| Module::ACTIVITIES.contains(&r.value.module))
            .filter(|r| {
                actor.access.reaches(&r.value) && actor.access.may(r.value.module, Permission::Read)
            })
            .filter(|r| !open_only || is_open(&r.value))
            .map(Activity::Record)
            .collect();
        // A customer's messages, from their own index: as many as a page can show.
        let mut floor = None;
        let reads_messages = actor.access.may(Module::Message, Permission::Read);
        if module == Module::Customer && !open_only && reads_messages {
            let wanted = (limit as usize).max(1);
            let (messages, unread_below) =
                self.history(actor, id, after, wanted, &|_| true).await?;
            activities.extend(messages.into_iter().map(Activity::Record));
            floor = unread_below
                .as_deref()
                .and_then(ActivityCursor::from_index_key);
        }
        if !open_only {
            let mut subjects = vec![id.clone()];
            if module == Module::Customer {
                subjects.extend(
                    self.records
                        .merges(tenant, id)
                        .await?
                        .into_iter()
                        .map(|m| m.duplicate),
                );
            }
            for subject in subjects {
                // Page by page (a page holds at most 100), the latest TIMELINE_RUNS.
                let mut read = 0;
                let mut cursor = None;
                while read < TIMELINE_RUNS {
                    let page = PageRequest {
                        limit: (TIMELINE_RUNS - read).min(PageRequest::MAX_LIMIT),
                        cursor,
                    };
                    let runs = self.runs.record_history(tenant, &subject, &page).await?;
                    read += runs.items.len() as u32;
                    activities.extend(runs.items.into_iter().map(Activity::Run));
                    match runs.next {
                        Some(next) => cursor = Some(next),
                        None => break,
                    }
                }
            }
        }
        let mut placed: Vec<(ActivityCursor, Activity)> = activities
            .into_iter()
            .map(|a| (a.position(), a))
            .filter(|(at, _)| after.is_none_or(|after| at < after))
            // Below it, some of the history was not read yet: the page stops there (the
            // message at it was read, and is shown).
            .filter(|(at, _)| floor.as_ref().is_none_or(|floor| at >= floor))
            .collect();
        placed.sort_by(|a, b| b.0.cmp(&a.0));
        let limit = (limit as usize).max(1);
        let next = match placed.len() > limit {
            true => Some(placed[limit - 1].0.clone()),
            false => floor,
        };
        placed.truncate(limit);
        Ok(ActivityPage {
            items: placed.into_iter().map(|(_, a)| a).collect(),
            next,
        })
    }
}
