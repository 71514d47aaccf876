//! Importing records in bulk (a spreadsheet of leads): each row created as one creation through
//! the API would be, allocation rules included, with a result per row. A row whose id already
//! exists is reported as such and left alone, so an import sent again creates nothing twice.

use futures_util::StreamExt;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{Actor, RecordError, Records};
use crate::ids::{RecordId, SettingId};
use crate::schema::Module;
use crate::validation::Problem;

/// The most rows one import takes.
pub const MAX_IMPORT_ROWS: usize = 1_000;

/// One row to import: its id (chosen by the caller, so that a repeated import is recognised)
/// and its field values.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub id: RecordId,
    pub fields: Map<String, Value>,
}

/// What became of one row.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RowOutcome {
    Created {
        revision: u64,
        owner: Option<String>,
        /// The allocation rule that chose the owner, if one did.
        #[serde(skip_serializing_if = "Option::is_none")]
        rule: Option<SettingId>,
    },
    /// A record with this id exists (an earlier run of the same import): left as it is.
    Exists,
    /// The row's values are not valid: nothing created.
    Invalid { problems: Vec<Problem> },
    /// Refused for another reason (a reference the caller may not use, a role's limit).
    Refused { detail: String },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowResult {
    pub index: usize,
    pub id: RecordId,
    #[serde(flatten)]
    pub outcome: RowOutcome,
}

/// Rows created at once.
const IMPORT_CONCURRENCY: usize = 16;

impl Records<'_> {
    /// One row, created: its outcome, or the storage failure that stops the import.
    async fn import_row(
        &self,
        actor: &Actor,
        module: Module,
        row: &ImportRow,
    ) -> Result<RowOutcome, RecordError> {
        Ok(
            match self
                .create_assigned(actor, module, row.id.clone(), &row.fields)
                .await
            {
                Ok(created) => RowOutcome::Created {
                    revision: created.record.revision,
                    owner: created
                        .record
                        .value
                        .fields
                        .get("Owner")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    rule: created.assigned.and_then(|a| a.rule),
                },
                Err(RecordError::Conflict(_)) => RowOutcome::Exists,
                Err(RecordError::Invalid(problems)) => RowOutcome::Invalid {
                    problems: problems.as_slice().to_vec(),
                },
                Err(e @ (RecordError::Forbidden(_) | RecordError::NotFound(_))) => {
                    RowOutcome::Refused {
                        detail: e.to_string(),
                    }
                }
                Err(other) => return Err(other),
            },
        )
    }

    /// Creates each row in order. A storage failure stops the import there (rows before it
    /// are created; sending the import again creates the rest).
    pub async fn import(
        &self,
        actor: &Actor,
        module: Module,
        rows: Vec<ImportRow>,
    ) -> Result<Vec<RowResult>, RecordError> {
        actor.require(module, crate::user::access::Permission::Create)?;
        if rows.is_empty() || rows.len() > MAX_IMPORT_ROWS {
            return Err(RecordError::Invalid(crate::validation::Problems::single(
                "/records",
                format!("an import has 1 to {MAX_IMPORT_ROWS} records"),
            )));
        }
        // Rows already there are found first: creating them again would spend allocation turns.
        let mut existing = std::collections::HashSet::new();
        let ids: Vec<RecordId> = rows.iter().map(|r| r.id.clone()).collect();
        for chunk in ids.chunks(100) {
            let mut unique = chunk.to_vec();
            unique.sort();
            unique.dedup();
            for found in self.records.get_many(&actor.tenant, &unique).await? {
                existing.insert(found.value.id);
            }
        }
        // Rows already there (or repeated in this import) first, the rest created 16 at a time
        // (their allocation turns are conditional writes, so the order stays fair): a thousand
        // rows fit the API's 30 s.
        let mut fresh = Vec::with_capacity(rows.len());
        for (index, row) in rows.into_iter().enumerate() {
            let repeated = !existing.insert(row.id.clone());
            fresh.push((index, row, repeated));
        }
        let created = futures_util::stream::iter(fresh)
            .map(|(index, row, repeated)| async move {
                if repeated {
                    return Ok(RowResult {
                        index,
                        id: row.id,
                        outcome: RowOutcome::Exists,
                    });
                }
                let outcome = self.import_row(actor, module, &row).await?;
                Ok::<_, RecordError>(RowResult {
                    index,
                    id: row.id,
                    outcome,
                })
            })
            .buffered(IMPORT_CONCURRENCY);
        futures_util::pin_mut!(created);
        let mut results = Vec::new();
        while let Some(result) = created.next().await {
            match result {
                Ok(result) => results.push(result),
                Err(error) => {
                    tracing::warn!(created = results.len(), "import stopped: {error}");
                    return Err(error);
                }
            }
        }
        Ok(results)
    }
}
