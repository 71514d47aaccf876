//! A website's form submission: the form's key names the tenant and the form, trusted only once
//! its secret matches; the submission may fill only the form's fields, gets its fixed values,
//! and is created as its owner would create it (allocation rules included).

use serde_json::{Map, Value};

use super::{Actor, Created, RecordError, Records};
use crate::action::SettingKind;
use crate::ids::RecordId;
use crate::settings::Setting;
use crate::settings::web_form::FormKey;
use crate::user::access::Access;
use crate::validation::Problems;

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// A key that is not one, a form that does not exist, or a secret that does not open it:
    /// one answer for all, so that nothing can be learnt by trying.
    #[error("no such form")]
    UnknownForm,
    #[error(transparent)]
    Record(#[from] RecordError),
}

impl Records<'_> {
    /// Creates the record a submission to the form `key` opens, under `id`.
    pub async fn intake(
        &self,
        key: &str,
        input: &Map<String, Value>,
        id: RecordId,
    ) -> Result<Created, IntakeError> {
        let key = FormKey::parse(key).ok_or(IntakeError::UnknownForm)?;
        let form = match self
            .settings
            .get(&key.tenant, SettingKind::WebForm, &key.form)
            .await
            .map_err(RecordError::from)?
        {
            Some(stored) => match stored.value {
                Setting::WebForm(form) if form.opens_with(&key.secret) => form,
                _ => return Err(IntakeError::UnknownForm),
            },
            None => return Err(IntakeError::UnknownForm),
        };
        // A form whose owner left is closed until an administrator names another.
        let owner = self
            .users
            .get(&key.tenant, &form.owner)
            .await
            .map_err(RecordError::from)?;
        if !owner.is_some_and(|u| u.active) {
            return Err(IntakeError::UnknownForm);
        }
        // The same submission again: found before it could spend an allocation turn.
        if self
            .records
            .get(&key.tenant, &id)
            .await
            .map_err(RecordError::from)?
            .is_some()
        {
            return Err(IntakeError::Record(RecordError::Conflict(
                "already submitted".into(),
            )));
        }
        let mut problems = Problems::default();
        for name in input.keys() {
            if !form.fields.contains(name) {
                problems.push(
                    format!("/fields/{}", crate::validation::pointer_segment(name)),
                    format!("this form does not take '{name}'"),
                );
            }
        }
        if !problems.is_empty() {
            return Err(RecordError::Invalid(problems).into());
        }
        let mut fields = input.clone();
        fields.extend(form.fixed.clone());
        let actor = Actor {
            tenant: key.tenant,
            user: form.owner,
            role: crate::user::Role::Salesperson,
            access: Access::everything(),
        };
        Ok(self
            .create_assigned(&actor, form.module, id, &fields)
            .await?)
    }
}
