//! What every store port speaks: its errors in domain terms, revisions for optimistic
//! concurrency, pages of listings, and whether a conditional claim won.

/// Why a store operation failed, in domain terms.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("already exists")]
    AlreadyExists,
    /// Optimistic concurrency: someone else saved first.
    #[error("changed since revision {expected}")]
    Conflict { expected: u64 },
    /// The module already has its limit of active workflows of a kind; the text is the domain's.
    #[error("{module} already has {limit} active {kind} workflows; deactivate one first")]
    LimitReached {
        kind: crate::workflow::WorkflowKind,
        module: crate::schema::Module,
        limit: usize,
    },
    /// A delete refused because records written meanwhile depend on the item (a customer's
    /// orders, quotes or opportunities).
    #[error("records written meanwhile still depend on it")]
    InUse,
    /// A write refused because the record its `field` names is gone (deleted meanwhile).
    #[error("the record {field} names no longer exists")]
    ReferenceGone { field: String },
    /// The store did not answer as it should; worth retrying.
    #[error("storage unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// What was stored cannot be read back (a bug or a manual edit).
    #[error("stored item is unreadable: {0}")]
    Corrupt(String),
    /// A page cursor that this store did not hand out (or for another tenant).
    #[error("invalid page cursor")]
    BadCursor,
    /// A read that would hold more than `limit` items (a customer's related records): refused
    /// rather than read without bound.
    #[error("more than {limit} related records; this is read at most {limit} at a time")]
    TooMany { limit: usize },
}

impl StoreError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// A stored value with its revision, for optimistic concurrency (the API's ETag).
#[derive(Debug, Clone, PartialEq)]
pub struct Revisioned<T> {
    pub value: T,
    pub revision: u64,
}

/// Which page of a listing to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// 1 to 100.
    pub limit: u32,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
}

impl PageRequest {
    pub const MAX_LIMIT: u32 = 100;

    pub fn first(limit: u32) -> Self {
        Self {
            limit: limit.clamp(1, Self::MAX_LIMIT),
            cursor: None,
        }
    }
}

/// One page of a listing; `next` is present when there may be more.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// Why a claim did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimOutcome {
    Claimed,
    /// Another scan or an upkeep write changed the entry first.
    LostRace,
}
