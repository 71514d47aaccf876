//! The mailbox sync's composition root: its dependencies (from the environment on AWS, or
//! handed in by tests) and the handler of one scheduled event.
//!
//! Each run lists every tenant's mailboxes and syncs them a few at a time, each under a time
//! budget of its own: a slow or refusing server holds up its own mailbox only, and what went
//! wrong is kept in that mailbox's status (and logged) for the next run to try again. A run
//! starts no mailbox it could not finish before the invocation's deadline, and each run starts
//! further along the list than the one before, so that with more mailboxes than one run can
//! sync, every mailbox still has its turn.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use serde::Serialize;
use tracing::Instrument;

use crm_model::mailbox::ports::{MailReader, MailboxRef, SyncStatusStore};
use crm_model::mailbox::sync::{MailboxSync, SyncError};
use crm_model::ports::{
    Clock, RecordStore, SecretVault, SettingsStore, StoreError, SystemClock, UserDirectory,
};
use crm_model::store::PageRequest;

/// Everything the sync talks to.
pub struct Deps {
    pub settings: Arc<dyn SettingsStore>,
    pub records: Arc<dyn RecordStore>,
    pub users: Arc<dyn UserDirectory>,
    pub secrets: Arc<dyn SecretVault>,
    pub status: Arc<dyn SyncStatusStore>,
    pub reader: Arc<dyn MailReader>,
    /// Trades OAuth2 refresh tokens for access tokens.
    pub tokens: Arc<dyn crm_model::mailbox::ports::TokenExchange>,
    pub clock: Arc<dyn Clock>,
    /// Mailboxes synced at once (`MAILBOX_CONCURRENCY`).
    pub concurrency: usize,
    /// The longest one mailbox may take in a run.
    pub per_mailbox: Duration,
}

/// What one run did, across mailboxes (each mailbox's own outcome is in its status).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    pub mailboxes: u32,
    /// Mailboxes left for a later run: this one's time was up.
    pub left: u32,
    pub failed: u32,
    pub read: u32,
    pub stored: u32,
    pub already: u32,
}

impl Deps {
    /// The deployed wiring: the tables and vault the template names, IMAP over TLS.
    pub async fn from_env() -> Result<Self, crm_adapters::ConfigError> {
        let sdk = crm_adapters::config::load_sdk_config().await;
        let stores = crm_adapters::dynamo::Stores::from_env(&sdk)?;
        Ok(Self {
            concurrency: crm_adapters::config::number("MAILBOX_CONCURRENCY", 8, 1, 64)? as usize,
            ..Self::aws(
                stores,
                crm_adapters::secrets::SecretsManagerVault::from_sdk(&sdk),
                crm_adapters::imap::ImapReader::from_env()?,
            )
        })
    }

    /// The AWS wiring over given stores, vault and reader: what the emulator tests run.
    pub fn aws(
        stores: crm_adapters::dynamo::Stores,
        secrets: crm_adapters::secrets::SecretsManagerVault,
        reader: crm_adapters::imap::ImapReader,
    ) -> Self {
        Self {
            settings: Arc::new(stores.settings),
            records: Arc::new(stores.records),
            users: Arc::new(stores.users),
            secrets: Arc::new(secrets),
            status: Arc::new(stores.mailbox_sync),
            reader: Arc::new(reader),
            tokens: Arc::new(crm_adapters::oauth::HttpTokenExchange::new(
                crm_adapters::outbound::policy_from_env(),
            )),
            clock: Arc::new(SystemClock),
            concurrency: 8,
            per_mailbox: Duration::from_secs(120),
        }
    }

    /// The use case over these dependencies.
    pub fn use_case(&self) -> MailboxSync<'_> {
        MailboxSync {
            settings: self.settings.as_ref(),
            records: self.records.as_ref(),
            users: self.users.as_ref(),
            secrets: self.secrets.as_ref(),
            status: self.status.as_ref(),
            reader: self.reader.as_ref(),
            tokens: self.tokens.as_ref(),
            clock: self.clock.as_ref(),
        }
    }
}

/// Every mailbox of every tenant, in the order of the index.
async fn every_mailbox(settings: &dyn SettingsStore) -> Result<Vec<MailboxRef>, StoreError> {
    let mut all = Vec::new();
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let found = settings.mailboxes(&page).await?;
        all.extend(found.items);
        match found.next {
            Some(next) => page.cursor = Some(next),
            None => return Ok(all),
        }
    }
}

/// Where a run starts in the list: one step of the schedule (five minutes) further each run.
fn rotation(count: usize, now: SystemTime) -> usize {
    let step = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 300);
    match count {
        0 => 0,
        n => (step % n as u64) as usize,
    }
}

/// One scheduled run over every mailbox, until `deadline` (the invocation's). Only a failure to
/// list the mailboxes fails the run; a mailbox's failure is its own (status, log) and the next
/// run tries it again.
pub async fn handle(deps: &Deps, deadline: SystemTime) -> Result<RunSummary, StoreError> {
    let mut mailboxes = every_mailbox(deps.settings.as_ref()).await?;
    let start = rotation(mailboxes.len(), deps.clock.now().into());
    mailboxes.rotate_left(start);
    let total = mailboxes.len() as u32;
    // The last mailbox started must be able to use its whole budget before the deadline.
    // And a margin, for the status of a mailbox out of time to be written.
    let last_start = deadline
        .checked_sub(deps.per_mailbox + Duration::from_secs(10))
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let sync = deps.use_case();
    let outcomes: Vec<_> = futures_util::stream::iter(mailboxes.iter())
        .take_while(|_| std::future::ready(SystemTime::now() < last_start))
        .map(|mailbox| {
            let sync = &sync;
            let span =
                tracing::info_span!("mailbox", tenant = %mailbox.tenant, mailbox = %mailbox.id);
            async move {
                let run = sync.sync(&mailbox.tenant, &mailbox.id);
                match tokio::time::timeout(deps.per_mailbox, run).await {
                    Ok(outcome) => outcome,
                    Err(_) => {
                        // The run was dropped before it could say so: said here, so that the
                        // administrator sees it (the saved checkpoints stay).
                        let reason = format!(
                            "the sync took more than its {} s and goes on at the next run",
                            deps.per_mailbox.as_secs()
                        );
                        if let Err(error) = sync
                            .note_stopped(&mailbox.tenant, &mailbox.id, &reason)
                            .await
                        {
                            tracing::warn!(%error, "a stopped sync's status was not written");
                        }
                        Err(SyncError::Mail(
                            crm_model::mailbox::ports::MailError::Unreachable(reason),
                        ))
                    }
                }
            }
            .instrument(span)
        })
        .buffer_unordered(deps.concurrency.max(1))
        .collect()
        .await;
    let mut summary = RunSummary {
        left: total - outcomes.len() as u32,
        ..RunSummary::default()
    };
    if summary.left > 0 {
        tracing::warn!(
            left = summary.left,
            "the run's time was up before every mailbox: the next run starts with them (MAILBOX_CONCURRENCY syncs more at once)"
        );
    }
    for outcome in outcomes {
        summary.mailboxes += 1;
        match outcome {
            Ok(report) => {
                summary.read += report.read;
                summary.stored += report.stored;
                summary.already += report.already;
            }
            Err(error) => {
                summary.failed += 1;
                tracing::warn!(%error, "mailbox sync failed");
            }
        }
    }
    tracing::info!(?summary, "mailbox sync run");
    Ok(summary)
}

#[cfg(test)]
mod tests;
