//! Rescoring one record under the active scoring rules of its module: read once, computed, and
//! written once (the score fields and their breakdowns only) when anything changed. The same
//! step serves the records stream, the day a criterion flips and the backfill.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{CompiledScoring, rescored_fields};
use crate::condition::{CompiledCondition, EvalContext};
use crate::ids::{RecordId, TenantId, WorkflowId};
use crate::record::origin::AutomationWrite;
use crate::record::store::RecordStore;
use crate::record::stored::StoredRecord;
use crate::schedule::fire_zone;
use crate::schema::Schema;
use crate::settings::TenantSettings;
use crate::store::{Revisioned, StoreError};
use crate::trigger::Trigger;
use crate::workflow::Workflow;

/// A scoring rule at its active version, compiled.
#[derive(Debug, Clone)]
pub struct ScoringRule {
    pub id: WorkflowId,
    pub version: u32,
    /// Which records it scores (the workflow's condition); the others carry no score from it.
    pub scope: CompiledCondition,
    pub scoring: CompiledScoring,
}

impl ScoringRule {
    /// The rule a workflow is, when it is a scoring rule that still compiles.
    pub fn of(workflow: &Workflow, schema: &Schema) -> Option<ScoringRule> {
        Self::at(&workflow.id, workflow.version, &workflow.definition, schema)
    }

    /// The rule at one of its versions, when that is a scoring rule that still compiles.
    pub fn at(
        id: &WorkflowId,
        version: u32,
        definition: &crate::workflow::WorkflowDefinition,
        schema: &Schema,
    ) -> Option<ScoringRule> {
        let Trigger::Score(spec) = &definition.trigger else {
            return None;
        };
        let module = schema.module(definition.module);
        Some(ScoringRule {
            id: id.clone(),
            version,
            scope: definition.compile_condition(schema).ok()?,
            scoring: spec.compile(module, "").ok()?,
        })
    }

    /// What the rule writes into `fields`, if anything changed.
    pub fn rescored(
        &self,
        fields: &Map<String, Value>,
        record: &crate::record::Record,
        ctx: &EvalContext<'_>,
    ) -> Option<Map<String, Value>> {
        let scored = self
            .scope
            .matches(record, ctx)
            .then(|| self.scoring.score(record, ctx));
        rescored_fields(
            fields,
            self.id.as_str(),
            self.version,
            self.scoring.score_field(),
            scored,
            ctx.now,
        )
    }
}

/// What rescoring one record did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rescored {
    /// Every score was already right: nothing written.
    Unchanged,
    /// Written: the score fields and their new values (`None`: cleared).
    Written(Vec<(String, Option<i64>)>),
    /// The record no longer exists.
    Gone,
    /// The record with its scores would exceed the record limit: nothing written.
    TooLarge(String),
}

/// Rescoring records, over the record store.
pub struct Rescorer<'a> {
    pub records: &'a dyn RecordStore,
}

impl Rescorer<'_> {
    /// Rescores `id` under `rules` at `now`, starting from `read` when the caller has just read
    /// it; a write that lost to another reads the record again, a few times. `depth` is the
    /// automation depth of the write (one more than the change that set it off).
    #[allow(clippy::too_many_arguments)]
    pub async fn rescore(
        &self,
        tenant: &TenantId,
        settings: &TenantSettings,
        schema: &Schema,
        rules: &[ScoringRule],
        id: &RecordId,
        mut read: Option<Revisioned<StoredRecord>>,
        now: DateTime<Utc>,
        depth: u8,
    ) -> Result<Rescored, StoreError> {
        if rules.is_empty() {
            return Ok(Rescored::Unchanged);
        }
        for _ in 0..4 {
            let stored = match read.take() {
                Some(stored) => stored,
                None => match self.records.get(tenant, id).await? {
                    Some(stored) => stored,
                    None => return Ok(Rescored::Gone),
                },
            };
            let record = stored.value.typed(schema);
            let ctx = EvalContext {
                now,
                tz: fire_zone(&record, settings),
                previous: None,
            };
            let mut fields = stored.value.fields.clone();
            let mut changes = Map::new();
            let mut writer = None;
            for rule in rules {
                if let Some(out) = rule.rescored(&fields, &record, &ctx) {
                    writer.get_or_insert_with(|| rule.id.clone());
                    for (name, value) in out {
                        fields.insert(name.clone(), value.clone());
                        changes.insert(name, value);
                    }
                }
            }
            let Some(writer) = writer else {
                return Ok(Rescored::Unchanged);
            };
            if let Some(problem) = crate::record::limits::record_problem(&fields) {
                tracing::warn!(record = %id, "scores not written: {problem}");
                return Ok(Rescored::TooLarge(problem));
            }
            let origin = AutomationWrite {
                workflow: writer,
                depth,
            };
            match self
                .records
                .set_computed(tenant, id, &changes, stored.revision, &origin)
                .await
            {
                Ok(_) => {
                    let written = rules
                        .iter()
                        .map(|r| r.scoring.score_field())
                        .filter(|f| changes.contains_key(*f))
                        .map(|f| (f.to_owned(), changes.get(f).and_then(Value::as_i64)))
                        .collect();
                    return Ok(Rescored::Written(written));
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(StoreError::NotFound) => return Ok(Rescored::Gone),
                Err(error) => return Err(error),
            }
        }
        Err(StoreError::Conflict { expected: 0 })
    }
}

impl ScoringRule {
    /// When the rule next scores `record` again though nothing changed: the local midnight of
    /// the first day one of its criteria, or its condition, relative to today flips. `None`
    /// when none can.
    pub fn next_rescore(
        &self,
        record: &crate::record::Record,
        settings: &TenantSettings,
        now: DateTime<Utc>,
    ) -> Option<crate::trigger::Occurrence> {
        use chrono::TimeZone;
        let tz = fire_zone(record, settings);
        let ctx = EvalContext {
            now,
            tz,
            previous: None,
        };
        let criteria = self.scoring.next_change_day(record, &ctx);
        let scope = self.scope.next_change_day(record, &ctx);
        let day = criteria.into_iter().chain(scope).min()?;
        let midnight = day.and_hms_opt(0, 0, 0)?;
        // A zone whose clocks skip midnight (a DST change) starts that day an hour later.
        let fire_at = tz.from_local_datetime(&midnight).earliest().or_else(|| {
            tz.from_local_datetime(&(midnight + chrono::Duration::hours(1)))
                .earliest()
        })?;
        Some(crate::trigger::Occurrence {
            key: crate::trigger::OccurrenceKey::Once(midnight),
            fire_at: fire_at.with_timezone(&Utc),
        })
    }
}
