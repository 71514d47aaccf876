//! The mailbox sync: reads each folder from its checkpoint on, keeps every message that
//! concerns a customer (see [`super::keep`]), and moves the checkpoint a batch at a time. A
//! message's record id derives from the mailbox's user, its Message-ID and the customer, so
//! a folder read again (renumbered by the server, or after a crash before the checkpoint moved)
//! stores nothing twice.

use super::Mailbox;
use super::keep::{Keeper, Kept};
use super::ports::{
    FolderCheckpoint, MailCredential, MailError, MailReader, MailSession, SyncStatus,
    SyncStatusStore,
};
use crate::action::SettingKind;
use crate::clock::Clock;
use crate::ids::{SettingId, TenantId, UserId};
use crate::record::store::RecordStore;
use crate::settings::Setting;
use crate::settings::secrets::{
    AccessToken, CredentialShape, Credentials, MailPassword, OAuthRefresh, SecretName, SecretVault,
};
use crate::settings::store::SettingsStore;
use crate::store::StoreError;
use crate::user::directory::UserDirectory;

/// The longest reason kept as a mailbox's last error, in characters.
pub const MAX_ERROR_CHARS: usize = 500;

/// Messages fetched per request; the checkpoint moves after each batch.
pub const BATCH: u32 = 50;
/// Most messages one run reads from a folder: a mailbox connected with years of mail catches up
/// over several runs, and no run holds the others up for long.
pub const MAX_PER_FOLDER_RUN: u32 = 500;

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Messages read from the server.
    pub read: u32,
    /// Messages written on customers (one per customer a message concerns).
    pub stored: u32,
    /// Messages already kept by an earlier run.
    pub already: u32,
    /// Messages that concern no customer or contact.
    pub unmatched: u32,
    /// Messages skipped because they would not fit a record (logged).
    pub refused: u32,
}

/// Why a run stopped short.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("no such mailbox")]
    NotFound,
    /// None, or of another shape than the mailbox's way of logging in now takes.
    #[error("the mailbox has no credentials of the kind it logs in with; set {{{0}}}")]
    NoCredentials(&'static str),
    #[error("the mailbox's user '{0}' no longer exists")]
    NoUser(UserId),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error("storage failed")]
    Store(#[from] StoreError),
}

/// The mailbox sync over its ports.
pub struct MailboxSync<'a> {
    pub settings: &'a dyn SettingsStore,
    pub records: &'a dyn RecordStore,
    pub users: &'a dyn UserDirectory,
    pub secrets: &'a dyn SecretVault,
    pub status: &'a dyn SyncStatusStore,
    pub reader: &'a dyn MailReader,
    pub tokens: &'a dyn super::ports::TokenExchange,
    pub clock: &'a dyn Clock,
}

impl MailboxSync<'_> {
    /// Reads what is new in one mailbox; the outcome (and, on failure, why) is kept in its
    /// status. A paused mailbox is left alone.
    pub async fn sync(&self, tenant: &TenantId, id: &SettingId) -> Result<SyncReport, SyncError> {
        let Some(Setting::Mailbox(mailbox)) = self
            .settings
            .get(tenant, SettingKind::Mailbox, id)
            .await?
            .map(|s| s.value)
        else {
            return Err(SyncError::NotFound);
        };
        if mailbox.paused {
            return Ok(SyncReport::default());
        }
        let mut status = self.status.get(tenant, id).await?.unwrap_or_default();
        // Another server, login or user is another mailbox: its folders are read anew (their
        // UIDs mean nothing here); what was kept stays once, by its ids.
        let source = mailbox.source();
        if status.source.as_deref().is_some_and(|s| s != source) {
            status.folders.clear();
        }
        status.source = Some(source);
        let mut report = SyncReport::default();
        let outcome = self
            .read_folders(tenant, id, &mailbox, &mut status, &mut report)
            .await;
        status.last_run_at = Some(self.clock.now());
        // A server's refusal is kept in its words, cut short: a server chooses its length.
        status.last_error = outcome
            .as_ref()
            .err()
            .map(|e| e.to_string().chars().take(MAX_ERROR_CHARS).collect());
        self.status.put(tenant, id, &status).await?;
        outcome.map(|()| report)
    }

    /// Keeps why a run of the mailbox stopped from outside (its time ran out): the checkpoints
    /// it saved stay, and the next run goes on from them.
    pub async fn note_stopped(
        &self,
        tenant: &TenantId,
        id: &SettingId,
        reason: &str,
    ) -> Result<(), StoreError> {
        let mut status = self.status.get(tenant, id).await?.unwrap_or_default();
        status.last_run_at = Some(self.clock.now());
        status.last_error = Some(reason.chars().take(MAX_ERROR_CHARS).collect());
        self.status.put(tenant, id, &status).await
    }

    async fn read_folders(
        &self,
        tenant: &TenantId,
        id: &SettingId,
        mailbox: &Mailbox,
        status: &mut SyncStatus,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        let credential = self.credential(tenant, id, mailbox).await?;
        let user = self
            .users
            .get(tenant, &mailbox.user)
            .await?
            .ok_or_else(|| SyncError::NoUser(mailbox.user.clone()))?;
        let schema = self.settings.tenant_settings(tenant).await?.value.schema();
        let keeper = Keeper {
            records: self.records,
            clock: self.clock,
            schema: &schema,
            tenant,
            mailbox_id: id,
            mailbox,
            own: mailbox.own_addresses(&user.email),
        };
        let mut session = self.reader.open(mailbox, &credential).await?;
        let mut outcome = Ok(());
        for folder in mailbox.folders() {
            outcome = self
                .read_folder(session.as_mut(), &keeper, folder, status, report)
                .await;
            if outcome.is_err() {
                break;
            }
        }
        session.logout().await;
        outcome
    }

    /// Reads one folder from its checkpoint on, at most [`MAX_PER_FOLDER_RUN`] messages, and
    /// saves the checkpoint after each batch.
    async fn read_folder(
        &self,
        session: &mut dyn MailSession,
        keeper: &Keeper<'_>,
        folder: &str,
        status: &mut SyncStatus,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        let state = session.select(folder).await?;
        // A new UIDVALIDITY renumbered the folder: read it from the start (ids keep it once).
        let mut after = match status.folders.get(folder) {
            Some(cp) if cp.uid_validity == state.uid_validity => cp.last_uid,
            _ => 0,
        };
        let mut read = 0;
        while read < MAX_PER_FOLDER_RUN {
            let asked = BATCH.min(MAX_PER_FOLDER_RUN - read);
            let batch = session.fetch_after(after, asked).await?;
            let full = batch.len() as u32 >= asked;
            // `UID n:*` answers the last message even when it is not above n.
            let floor = after;
            for mail in batch.iter().filter(|m| m.uid > floor) {
                let kept = keeper.keep(folder, mail).await?;
                if kept == Kept::default() {
                    report.unmatched += 1;
                }
                report.stored += kept.stored;
                report.already += kept.already;
                report.refused += kept.refused;
                status.skipped += u64::from(kept.refused);
                status.stored += u64::from(kept.stored);
                report.read += 1;
                read += 1;
                after = after.max(mail.uid);
            }
            let moved = after > floor;
            status.folders.insert(
                folder.to_owned(),
                FolderCheckpoint {
                    uid_validity: state.uid_validity,
                    last_uid: after,
                },
            );
            self.status
                .put(keeper.tenant, keeper.mailbox_id, status)
                .await?;
            // A full batch of nothing new (a reader answering old messages) would never end.
            if !full || !moved {
                break;
            }
        }
        Ok(())
    }

    /// The mailbox's secret, as its way of logging in reads it.
    async fn credential(
        &self,
        tenant: &TenantId,
        id: &SettingId,
        mailbox: &Mailbox,
    ) -> Result<MailCredential, SyncError> {
        let name = SecretName::for_setting(tenant, SettingKind::Mailbox, id);
        let shape = mailbox.credential_shape();
        let missing = || SyncError::NoCredentials(shape.fields());
        let secret = self.secrets.get(&name).await?.ok_or_else(missing)?;
        match (shape, &mailbox.token_url) {
            (CredentialShape::Password, _) => secret
                .parse::<MailPassword>()
                .map(|p| MailCredential::Password(p.password))
                .ok_or_else(missing),
            (CredentialShape::AccessToken, _) => secret
                .parse::<AccessToken>()
                .map(|t| MailCredential::AccessToken(t.access_token))
                .ok_or_else(missing),
            // A fresh access token every run: nothing that expires is kept.
            (CredentialShape::OAuthRefresh, Some(url)) => {
                let mut refresh = secret.parse::<OAuthRefresh>().ok_or_else(missing)?;
                let exchanged = self.tokens.access_token(url, &refresh).await?;
                // An endpoint that rotates refresh tokens (Microsoft's) gives the next one:
                // kept, or the consent would lapse with the first one.
                if let Some(next) = exchanged.refresh_token {
                    if next != refresh.refresh_token {
                        refresh.refresh_token = next;
                        let kept = Credentials::OAuthRefresh(refresh).to_secret();
                        self.secrets.put(&name, &kept).await?;
                    }
                }
                Ok(MailCredential::AccessToken(exchanged.access_token))
            }
            // No other shape is a mailbox's (a refresh token always has its endpoint).
            _ => Err(missing()),
        }
    }
}
