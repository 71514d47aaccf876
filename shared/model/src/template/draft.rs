//! Texts being written, rendered for one record: the live preview beside a template's form,
//! with the same merge rules, names and time zone as the messages the executor sends.

use super::{Directory, Escape, MergeError, MergeTemplate, RenderContext, look_up};
use crate::ids::{RecordId, TenantId};
use crate::ports::{RecordStore, SettingsStore, UserDirectory};
use crate::schema::Module;
use crate::store::StoreError;
use crate::user::access::{Access, Permission};

/// Most texts one preview renders (an email template has two, a print template two).
pub const MAX_DRAFTS: usize = 4;
/// Longest text one preview renders, in characters (the largest template a form holds).
pub const MAX_DRAFT_CHARS: usize = 100_000;

/// One text to render, and whether it is HTML (values escaped) or plain.
pub struct Draft {
    pub text: String,
    pub escape: Escape,
}

/// A draft rendered, or why it cannot be: the problems saving it would report.
#[derive(Debug, PartialEq)]
pub enum RenderedDraft {
    Rendered(String),
    Refused(Vec<MergeError>),
}

#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    #[error("no {module} record '{record}'")]
    RecordNotFound { module: Module, record: RecordId },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where drafts read what they show.
pub struct Drafts<'a> {
    pub settings: &'a dyn SettingsStore,
    pub records: &'a dyn RecordStore,
    pub users: &'a dyn UserDirectory,
}

impl Drafts<'_> {
    /// Renders `drafts`, texts of `module`, for the tenant's record `record`: each as it would
    /// be sent, or with its merge problems. A record of another module, or one `access` does not
    /// let the caller read, is not found.
    pub async fn render(
        &self,
        tenant: &TenantId,
        access: &Access,
        module: Module,
        record: &RecordId,
        drafts: &[Draft],
    ) -> Result<Vec<RenderedDraft>, DraftError> {
        let not_found = || DraftError::RecordNotFound {
            module,
            record: record.clone(),
        };
        let stored = self
            .records
            .get(tenant, record)
            .await?
            .ok_or_else(not_found)?;
        let readable = access.reaches(&stored.value) && access.may(module, Permission::Read);
        if stored.value.module != module || !readable {
            return Err(not_found());
        }
        let settings = self.settings.tenant_settings(tenant).await?.value;
        let schema = settings.schema();
        let record = stored.value.typed(&schema);
        let parsed: Vec<Result<MergeTemplate, Vec<MergeError>>> = drafts
            .iter()
            .map(|d| MergeTemplate::parse(&d.text, &schema, module))
            .collect();
        let templates: Vec<MergeTemplate> = parsed
            .iter()
            .filter_map(|p| p.as_ref().ok().cloned())
            .collect();
        let names = look_up(
            tenant,
            &templates,
            &schema,
            module,
            &record,
            self.records,
            &Directory(self.users),
        )
        .await?;
        let fields = schema.module(module);
        Ok(parsed
            .into_iter()
            .zip(drafts)
            .map(|(parsed, draft)| match parsed {
                Ok(template) => RenderedDraft::Rendered(template.render(
                    fields,
                    &record,
                    &RenderContext {
                        tz: settings.tz(),
                        names: &names,
                        escape: draft.escape,
                    },
                )),
                Err(errors) => RenderedDraft::Refused(errors),
            })
            .collect())
    }
}
