//! Ports: what the domain needs from the outside world, as traits. Each is defined with the
//! aggregate it serves (`workflow::store`, `record::store`, `schedule::ports`, …); this index
//! re-exports them, with the types they speak, for the adapters that implement them. The model
//! itself imports them from their aggregates.

pub use crate::clock::{Clock, FixedClock, SystemClock};
pub use crate::record::attachments::AttachmentStore;
pub use crate::record::store::{MergeMarker, MergeState, RecordFilter, RecordStore, Redemption};
pub use crate::record::stored::StoredRecord;
pub use crate::run::ledger::RunLedger;
pub use crate::run::providers::{
    Attachment, DocumentPrinter, Email, EmailSender, SendError, SmsSender, TaskSync, ZnsSender,
    lease,
};
pub use crate::schedule::ports::{
    BatchOutcome, DueIndex, DueItem, DueLane, DuePage, EntryFailure, JobPublisher, Maintenance,
    MaintenanceKind, MaintenanceRequests, MalformedItem, OccurrenceClaims, Outbox, Outboxes,
    PublishError, ScheduleEntries, ScheduleEntry, ScheduleStore,
};
pub use crate::settings::outbound::HostResolver;
pub use crate::settings::secrets::SecretVault;
pub use crate::settings::store::SettingsStore;
pub use crate::store::{ClaimOutcome, Page, PageRequest, Revisioned, StoreError};
pub use crate::user::directory::UserDirectory;
pub use crate::user::notifications::NotificationInbox;
pub use crate::workflow::ActiveChange;
pub use crate::workflow::store::{WorkflowCatalog, WorkflowFilter, WorkflowStore};
