//! A customer's message history (seed 003 §3.6): its emails and SMS, sent from its page, by
//! workflows' records or read from users' mailboxes, newest first, a page at a time, filtered by
//! channel, direction and contact. A merged customer's history includes its duplicates'.

use super::super::timeline::ActivityCursor;
use super::super::{Actor, RecordError, Records};
use super::MessageFilter;
use crate::ids::RecordId;
use crate::record::store::{message_at, message_key};
use crate::record::stored::StoredRecord;
use crate::schema::Module;
use crate::store::{PageRequest, Revisioned};
use crate::user::access::Permission;

/// Most messages one request reads (across the customer and those merged into it, at least a
/// read page each) while looking for a page of those that match: a rare filter never reads a
/// whole history at once.
pub const MAX_MESSAGES_READ: usize = 1_000;

/// Messages read from the index at a time.
const READ_PAGE: usize = 100;
/// Most customers one history reads: the customer and those merged into it, and into them.
const MAX_MERGED: usize = 50;

/// One page of a customer's messages, and where the next starts when there may be more.
#[derive(Debug)]
pub struct MessagePage {
    pub items: Vec<Revisioned<StoredRecord>>,
    pub next: Option<ActivityCursor>,
}

/// A message's place in a history, as its cursor names it.
pub(in crate::record::service) fn message_cursor(message: &StoredRecord) -> ActivityCursor {
    ActivityCursor {
        at: message_at(message).to_owned(),
        key: message.id.to_string(),
    }
}

/// The index key a cursor stands for (`<at>#<id>`).
fn index_key(cursor: &ActivityCursor) -> String {
    format!("{}#{}", cursor.at, cursor.key)
}

/// What one customer's index gave: the matching messages, and the key below which it was not
/// read (the read bound was reached first).
struct Matching {
    kept: Vec<Revisioned<StoredRecord>>,
    unread_below: Option<String>,
}

impl Records<'_> {
    /// A page of the customer's messages newest first, after `after`, as the actor may see them.
    pub async fn messages(
        &self,
        actor: &Actor,
        customer: &RecordId,
        filter: &MessageFilter,
        limit: u32,
        after: Option<&ActivityCursor>,
    ) -> Result<MessagePage, RecordError> {
        actor.require(Module::Message, Permission::Read)?;
        self.read(actor, Module::Customer, customer).await?;
        let limit = (limit as usize).clamp(1, PageRequest::MAX_LIMIT as usize);
        let found = self
            .history(actor, customer, after, limit, &|m| filter.admits(m))
            .await?;
        Ok(page(found, limit))
    }

    /// The messages of the customer and of the customers merged into it that `keep` admits,
    /// below `after`: at least `wanted` of each (when there are), newest first.
    pub(in crate::record::service) async fn history(
        &self,
        actor: &Actor,
        customer: &RecordId,
        after: Option<&ActivityCursor>,
        wanted: usize,
        keep: &(dyn Fn(&StoredRecord) -> bool + Sync),
    ) -> Result<(Vec<Revisioned<StoredRecord>>, Option<String>), RecordError> {
        // Merged customers keep their messages: the survivor's history reads theirs, and the
        // histories merged into them (a chain of merges), breadth first.
        let mut subjects = vec![customer.clone()];
        let mut next = 0;
        while next < subjects.len() && subjects.len() < MAX_MERGED {
            for merged in self.records.merges(&actor.tenant, &subjects[next]).await? {
                if !subjects.contains(&merged.duplicate) && subjects.len() < MAX_MERGED {
                    subjects.push(merged.duplicate);
                }
            }
            next += 1;
        }
        let mut found = Vec::new();
        let mut floor: Option<String> = None;
        // The read bound is the request's, shared by the customers read.
        let budget = (MAX_MESSAGES_READ / subjects.len()).max(READ_PAGE);
        for subject in &subjects {
            let matching = self
                .matching(
                    actor,
                    subject,
                    after.map(index_key),
                    wanted + 1,
                    budget,
                    keep,
                )
                .await?;
            found.extend(matching.kept);
            floor = floor.max(matching.unread_below);
        }
        found.sort_by_cached_key(|m| std::cmp::Reverse(message_key(&m.value)));
        // One email once: the same message read from two colleagues' mailboxes, or kept on a
        // customer before and after a merge, has one Message-ID.
        let mut seen = std::collections::HashSet::new();
        found.retain(|m| {
            let id = m.value.text("MessageId");
            seen.insert(if id.is_empty() {
                m.value.id.to_string()
            } else {
                format!("<{id}>")
            })
        });
        // Below a bound some customer's index was not read: the page stops there (the message
        // at it was read, and is kept).
        if let Some(floor) = &floor {
            found.retain(|m| message_key(&m.value) >= *floor);
        }
        Ok((found, floor))
    }

    async fn matching(
        &self,
        actor: &Actor,
        subject: &RecordId,
        mut before: Option<String>,
        wanted: usize,
        budget: usize,
        keep: &(dyn Fn(&StoredRecord) -> bool + Sync),
    ) -> Result<Matching, RecordError> {
        let mut kept = Vec::new();
        let mut read = 0;
        loop {
            let page = self
                .records
                .messages(&actor.tenant, subject, before.as_deref(), READ_PAGE)
                .await?;
            let full = page.len() == READ_PAGE;
            for message in page {
                read += 1;
                before = Some(message_key(&message.value));
                if actor.access.reaches(&message.value) && keep(&message.value) {
                    kept.push(message);
                }
            }
            if !full {
                return Ok(Matching {
                    kept,
                    unread_below: None,
                });
            }
            // Enough for a page, or the read bound: what is below the last message read was
            // not looked at, and a page may not reach past it (two copies of one email count
            // once, so a page's worth read may show fewer).
            if kept.len() >= wanted || read >= budget {
                return Ok(Matching {
                    kept,
                    unread_below: before,
                });
            }
        }
    }
}

/// The first `limit` of `found` (newest first), and the cursor after them when more may follow.
fn page(
    (mut found, floor): (Vec<Revisioned<StoredRecord>>, Option<String>),
    limit: usize,
) -> MessagePage {
    let next = if found.len() > limit {
        Some(message_cursor(&found[limit - 1].value))
    } else {
        floor.as_deref().and_then(ActivityCursor::from_index_key)
    };
    found.truncate(limit);
    MessagePage { items: found, next }
}
