//! The records stream's world: stream images of customers, the workflows that listen to them,
//! and the use case handling one stream record at a given instant.

use crm_model::ids::{RecordId, WorkflowId};
use crm_model::ports::{FixedClock, ScheduleEntries, ScheduleEntry, StoredRecord};
use crm_model::record::origin::AutomationWrite;
use crm_model::schedule::record_events::{
    BatchCache, Change, Handled, RecordEventError, RecordEvents,
};
use crm_model::schedule::scan::ScanReport;
use crm_model::schema::Module;
use serde_json::{Value, json};

use super::{World, admin, at};

/// A [`World`] whose records change through the records stream.
pub struct Stream(pub World);

impl std::ops::Deref for Stream {
    type Target = World;

    fn deref(&self) -> &World {
        &self.0
    }
}

impl Stream {
    pub async fn new() -> Self {
        Stream(World::new().await)
    }

    /// The use case at `now` over these stores.
    pub fn events<'a>(&'a self, clock: &'a FixedClock) -> RecordEvents<'a> {
        RecordEvents {
            workflows: &self.stores.workflows,
            records: &self.stores.records,
            settings: &self.stores.settings,
            schedule: &self.stores.schedule,
            publisher: &self.publisher,
            runs: &self.stores.runs,
            clock,
        }
    }

    /// A workflow created and activated on New Year's Day 2027.
    pub async fn workflow(&self, id: &str, definition: Value) -> WorkflowId {
        let clock = FixedClock(at("2027-01-01T00:00:00Z"));
        let cases = self.use_cases(&clock);
        let id = WorkflowId::new(id).unwrap();
        let definition = serde_json::from_value(definition).unwrap();
        cases
            .create(&self.tenant, &admin(), id.clone(), definition)
            .await
            .unwrap();
        cases
            .activate(&self.tenant, &admin(), &id, None)
            .await
            .unwrap();
        id
    }

    /// Handles one stream record at `now` as the first of its batch.
    pub async fn try_handle(
        &self,
        event: &str,
        change: &Change,
        now: &str,
    ) -> Result<Handled, RecordEventError> {
        self.try_handle_written_by(event, change, None, now).await
    }

    /// Handles one stream record of a change `origin` made (none: a person's).
    pub async fn try_handle_written_by(
        &self,
        event: &str,
        change: &Change,
        origin: Option<&AutomationWrite>,
        now: &str,
    ) -> Result<Handled, RecordEventError> {
        let clock = FixedClock(at(now));
        self.events(&clock)
            .handle(
                &self.tenant,
                event,
                change,
                origin,
                &mut BatchCache::default(),
            )
            .await
    }

    pub async fn handle(&self, event: &str, change: &Change, now: &str) -> Handled {
        self.try_handle(event, change, now).await.unwrap()
    }

    pub async fn entry(&self, workflow: &WorkflowId, record: &str) -> Option<ScheduleEntry> {
        let record = RecordId::new(record).unwrap();
        self.stores
            .schedule
            .get(&self.tenant, workflow, &record)
            .await
            .unwrap()
    }

    pub async fn scan(&self, now: &str) -> ScanReport {
        super::scanning::scan(self, now).await
    }

    pub fn job_key(&self, workflow: &str, record: &str, event: &str, action: &str) -> String {
        format!("{}/{workflow}/{record}/E{event}/{action}", self.tenant)
    }
}

/// A customer as the stream's image shows it.
pub fn customer(id: &str, fields: Value) -> StoredRecord {
    StoredRecord {
        id: RecordId::new(id).unwrap(),
        module: Module::Customer,
        fields: fields.as_object().unwrap().clone(),
    }
}

pub fn edit(old: &StoredRecord, new: &StoredRecord) -> Change {
    Change::Modified {
        old: old.clone(),
        new: new.clone(),
    }
}

pub fn birthday_note() -> Value {
    json!({
        "module": "Customer", "name": "Sinh nhật",
        "trigger": {"type": "time", "date_field": "Birthday", "recurrence": "yearly", "time_of_day": "08:00:00"},
        "actions": [{"kind": "notification", "id": "tell", "name": "Báo", "users": ["u-admin"], "message": "Sinh nhật #Name"}]
    })
}

/// A work workflow that tells the administrator when a customer's rank changed to Gold.
pub fn gold_note(trigger: Value) -> Value {
    json!({
        "module": "Customer", "name": "Báo khi lên hạng",
        "trigger": trigger,
        "condition": {"type": "matching", "group": {"combine": "and", "rules": [
            {"field": "Rank", "op": "changed_to", "value": "Gold"}]}},
        "actions": [{"kind": "notification", "id": "tell", "name": "Báo", "users": ["u-admin"], "message": "#Name lên hạng Vàng"}]
    })
}

/// A work workflow that tells the administrator about any matching event.
pub fn note_on(trigger: Value) -> Value {
    json!({
        "module": "Customer", "name": "Báo",
        "trigger": trigger,
        "actions": [{"kind": "notification", "id": "tell", "name": "Báo", "users": ["u-admin"], "message": "#Name"}]
    })
}

pub fn silver_to_gold() -> Change {
    edit(
        &customer("c1", json!({"Name": "An", "Rank": "Silver"})),
        &customer("c1", json!({"Name": "An", "Rank": "Gold"})),
    )
}
