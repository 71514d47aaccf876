//! The outbound sync of a created task to an external task app: a send of its own under the
//! task job's key plus `/sync`, claimed like any send so that it happens once.

use serde_json::json;

use super::{Context, ExecuteError, Executor, SEND_LEASE_SECONDS, derived_id};
use crate::action::{Assignee, ExternalTaskSync, SettingKind, TaskAction};
use crate::record::FieldValue;
use crate::run::providers::{SendError, lease};
use crate::run::{RunRecord, RunStatus};
use crate::schedule::ActionJob;
use crate::settings::Setting;
use crate::settings::secrets::SigningKey;
use crate::store::ClaimOutcome;
use crate::template::Escape;

impl Executor<'_> {
    pub(super) async fn sync_task(
        &self,
        job: &ActionJob,
        c: &Context,
        task: &TaskAction,
        sync: &ExternalTaskSync,
    ) -> Result<(), ExecuteError> {
        let task_key = job.idempotency_key();
        let mut run = RunRecord::start(job, "task_sync", self.clock.now());
        run.key = format!("{task_key}/sync");
        run.lease_until = Some(lease(run.started_at, SEND_LEASE_SECONDS));
        if self.ledger.claim(&run, None).await? == ClaimOutcome::LostRace {
            let Some(existing) = self.ledger.get(&job.tenant, &run.key).await? else {
                return Err(ExecuteError::Busy);
            };
            let expired = existing
                .lease_until
                .is_none_or(|until| until <= run.started_at);
            match existing.status {
                RunStatus::Retrying => {}
                // A sync that stopped midway is posted again: the app receives the same
                // idempotency key and can drop the duplicate.
                RunStatus::InProgress if expired => {}
                RunStatus::InProgress => return Err(ExecuteError::Busy),
                _ => return Ok(()),
            }
            run.attempts = existing.attempts + 1;
            if self.ledger.claim(&run, Some(&existing)).await? == ClaimOutcome::LostRace {
                return Err(ExecuteError::Busy);
            }
        }
        let connection = match self
            .setting(&job.tenant, SettingKind::TaskConnection, &sync.connection)
            .await?
        {
            Some(Setting::TaskConnection(connection)) => connection,
            _ => {
                run.status = RunStatus::Failed;
                run.error = Some(format!(
                    "task connection '{}' no longer exists",
                    sync.connection
                ));
                self.ledger.record(&run).await?;
                return Ok(());
            }
        };
        let assignee = match &task.assignee {
            Assignee::User { user_id } => Some(user_id.to_string()),
            Assignee::RecordOwner {} => c.owner().map(|u| u.to_string()),
            Assignee::Field { field } => c
                .record
                .get(field)
                .and_then(FieldValue::as_text)
                .map(str::to_owned),
        };
        let payload = json!({
            "task_id": derived_id("task", &task_key, 0).to_string(),
            "title": c.render(&task.title, Escape::Plain),
            "description": c.render(&task.description, Escape::Plain),
            "due_at": c.due(task.due.days_after, task.due.time_of_day).to_rfc3339(),
            "task_type": task.task_type,
            "priority": task.priority,
            "assignee": assignee,
            "record": c.record.id.to_string(),
            "project": sync.project,
            "task_group": sync.task_group,
        });
        let key: SigningKey = match self
            .credentials(job, SettingKind::TaskConnection, &sync.connection)
            .await?
        {
            Ok(key) => key,
            Err(
                SendError::Permanent(reason)
                | SendError::Transient(reason)
                | SendError::InDoubt(reason),
            ) => {
                run.status = RunStatus::Failed;
                run.error = Some(reason);
                run.updated_at = self.clock.now();
                run.lease_until = None;
                self.ledger.record(&run).await?;
                return Ok(());
            }
        };
        let result = self
            .task_sync
            .push(&connection, &key, &payload, &run.key)
            .await
            .map_err(|e| e.scrubbed(&[&key.signing_key]));
        run.updated_at = self.clock.now();
        run.lease_until = None;
        match result {
            Ok(id) => {
                run.status = RunStatus::Succeeded;
                run.output = vec![id];
                self.ledger.record(&run).await?;
                Ok(())
            }
            Err(SendError::Permanent(reason)) => {
                run.status = RunStatus::Failed;
                run.error = Some(reason);
                self.ledger.record(&run).await?;
                Ok(())
            }
            // A task app drops a repeat of the same idempotency key: in doubt, it is sent again.
            Err(SendError::Transient(reason) | SendError::InDoubt(reason)) => {
                run.status = RunStatus::Retrying;
                run.error = Some(reason.clone());
                self.ledger.record(&run).await?;
                Err(ExecuteError::Provider(reason))
            }
        }
    }
}
