//! In-memory implementations of every port, with DynamoDB's semantics where the domain relies
//! on them (conditional writes, revisions, atomic counters, claims that lose races, cursors), and
//! the contract suite that both the in-memory and the DynamoDB implementations must pass.

pub mod contract;
pub mod memory;

/// Adds custom number fields (`names`, labelled by their names) to `module` in the tenant's
/// settings: what a scoring rule writes its score to.
pub async fn add_number_fields(
    settings: &dyn crate::settings::store::SettingsStore,
    tenant: &crate::ids::TenantId,
    module: crate::schema::Module,
    names: &[&str],
) {
    let current = settings
        .tenant_settings(tenant)
        .await
        .expect("the tenant's settings");
    let mut changed = current.value;
    for name in names {
        changed.custom_fields.push(crate::schema::CustomField {
            module,
            name: (*name).to_owned(),
            label_vi: (*name).to_owned(),
            label_en: (*name).to_owned(),
            kind: crate::schema::FieldKind::Number,
            required: false,
        });
    }
    settings
        .put_tenant_settings(tenant, &changed, current.revision)
        .await
        .expect("custom number fields saved");
}
