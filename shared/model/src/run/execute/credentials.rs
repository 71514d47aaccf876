//! Provider credentials for a send: read from the vault under the job's tenant and the setting
//! the action names, so a job can only ever use its own tenant's secrets.

use serde::de::DeserializeOwned;

use super::{ExecuteError, Executor};
use crate::action::SettingKind;
use crate::ids::SettingId;
use crate::run::providers::SendError;
use crate::schedule::ActionJob;
use crate::settings::secrets::SecretName;

impl Executor<'_> {
    /// The credentials of setting `id`: a vault failure is retried; credentials never set (or of
    /// another shape) fail the send for good with words an administrator can act on, and without
    /// the secret's name.
    pub(super) async fn credentials<T: DeserializeOwned>(
        &self,
        job: &ActionJob,
        kind: SettingKind,
        id: &SettingId,
    ) -> Result<Result<T, SendError>, ExecuteError> {
        let name = SecretName::for_setting(&job.tenant, kind, id);
        let Some(value) = self.secrets.get(&name).await? else {
            return Ok(Err(SendError::Permanent(format!(
                "no credentials are set for '{id}'; an administrator sets them in its settings"
            ))));
        };
        Ok(value.parse::<T>().ok_or_else(|| {
            SendError::Permanent(format!(
                "the credentials set for '{id}' are not of the kind it needs; set them again"
            ))
        }))
    }
}
