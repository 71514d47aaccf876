//! A mailbox server in memory (the IMAP reader's fake) and the mailboxes' sync status (as the
//! records table keeps it: one item per mailbox, replaced whole).

use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::ids::{SettingId, TenantId};
use crate::mailbox::Mailbox;
use crate::mailbox::ports::{
    FetchedMail, FolderState, MailCredential, MailError, MailReader, MailSession, SyncStatus,
    SyncStatusStore,
};
use crate::store::StoreError;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Each mailbox's sync status, in memory.
#[derive(Debug, Clone, Default)]
pub struct MemorySyncStatus {
    items: Arc<Mutex<HashMap<(TenantId, SettingId), SyncStatus>>>,
}

impl MemorySyncStatus {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl SyncStatusStore for MemorySyncStatus {
    async fn get(
        &self,
        tenant: &TenantId,
        mailbox: &SettingId,
    ) -> Result<Option<SyncStatus>, StoreError> {
        Ok(lock(&self.items)
            .get(&(tenant.clone(), mailbox.clone()))
            .cloned())
    }

    async fn put(
        &self,
        tenant: &TenantId,
        mailbox: &SettingId,
        status: &SyncStatus,
    ) -> Result<(), StoreError> {
        lock(&self.items).insert((tenant.clone(), mailbox.clone()), status.clone());
        Ok(())
    }
}

#[derive(Debug, Default)]
struct Folder {
    uid_validity: u32,
    next_uid: u32,
    mails: BTreeMap<u32, FetchedMail>,
}

#[derive(Debug, Default)]
struct Server {
    folders: HashMap<String, Folder>,
    accepted: Option<MailCredential>,
    logins: u32,
    fetches: u32,
}

/// One IMAP mailbox in memory: folders of messages numbered by UID under a UIDVALIDITY, a
/// credential it accepts, and counts of the logins and fetches it served.
#[derive(Debug, Clone, Default)]
pub struct FakeMailServer {
    server: Arc<Mutex<Server>>,
}

impl FakeMailServer {
    /// A server that accepts `credential`, with an empty `INBOX` and `Sent`.
    pub fn accepting(credential: MailCredential) -> Self {
        let server = Self::default();
        {
            let mut s = lock(&server.server);
            s.accepted = Some(credential);
            for name in ["INBOX", "Sent"] {
                s.folders.insert(
                    name.into(),
                    Folder {
                        uid_validity: 1,
                        next_uid: 1,
                        ..Folder::default()
                    },
                );
            }
        }
        server
    }

    /// Adds `mail` to `folder` (made if absent) under the next UID, which it returns.
    pub fn deliver(&self, folder: &str, mut mail: FetchedMail) -> u32 {
        let mut s = lock(&self.server);
        let folder = s.folders.entry(folder.into()).or_insert(Folder {
            uid_validity: 1,
            next_uid: 1,
            ..Folder::default()
        });
        let uid = folder.next_uid;
        folder.next_uid += 1;
        mail.uid = uid;
        folder.mails.insert(uid, mail);
        uid
    }

    /// Numbers `folder` anew under `uid_validity`, as a server rebuilding its index does.
    pub fn renumber(&self, folder: &str, uid_validity: u32) {
        let mut s = lock(&self.server);
        if let Some(f) = s.folders.get_mut(folder) {
            let mails: Vec<FetchedMail> = std::mem::take(&mut f.mails).into_values().collect();
            f.uid_validity = uid_validity;
            f.next_uid = 1;
            for mut mail in mails {
                mail.uid = f.next_uid;
                f.next_uid += 1;
                f.mails.insert(mail.uid, mail);
            }
        }
    }

    /// Accepts `credential` from now on (and no other).
    pub fn accept(&self, credential: MailCredential) {
        lock(&self.server).accepted = Some(credential);
    }

    /// How many logins succeeded.
    pub fn logins(&self) -> u32 {
        lock(&self.server).logins
    }

    /// How many fetches were served.
    pub fn fetches(&self) -> u32 {
        lock(&self.server).fetches
    }
}

#[async_trait]
impl MailReader for FakeMailServer {
    async fn open(
        &self,
        _mailbox: &Mailbox,
        credential: &MailCredential,
    ) -> Result<Box<dyn MailSession>, MailError> {
        let mut s = lock(&self.server);
        if s.accepted.as_ref() != Some(credential) {
            return Err(MailError::Login("AUTHENTICATIONFAILED".into()));
        }
        s.logins += 1;
        Ok(Box::new(FakeSession {
            server: self.server.clone(),
            selected: None,
        }))
    }
}

struct FakeSession {
    server: Arc<Mutex<Server>>,
    selected: Option<String>,
}

#[async_trait]
impl MailSession for FakeSession {
    async fn select(&mut self, folder: &str) -> Result<FolderState, MailError> {
        let s = lock(&self.server);
        let found = s
            .folders
            .get(folder)
            .ok_or_else(|| MailError::NoFolder(folder.into()))?;
        self.selected = Some(folder.into());
        Ok(FolderState {
            uid_validity: found.uid_validity,
        })
    }

    async fn fetch_after(&mut self, after: u32, limit: u32) -> Result<Vec<FetchedMail>, MailError> {
        let mut s = lock(&self.server);
        s.fetches += 1;
        let folder = self
            .selected
            .as_ref()
            .and_then(|name| s.folders.get(name))
            .ok_or_else(|| MailError::Protocol("no folder selected".into()))?;
        Ok(folder
            .mails
            .range(after.saturating_add(1)..)
            .take(limit as usize)
            .map(|(_, mail)| mail.clone())
            .collect())
    }

    async fn logout(&mut self) {}
}

/// A token endpoint in memory: the refresh tokens it knows, each with the access token it
/// gives (and the next refresh token, when it rotates them), and how many exchanges it served.
#[derive(Debug, Clone, Default)]
pub struct FixedTokens {
    tokens: Arc<Mutex<(Grants, u32)>>,
}

/// Each refresh token's access token, and the refresh token that follows it when it rotates.
type Grants = HashMap<String, (String, Option<String>)>;

impl FixedTokens {
    pub fn new() -> Self {
        Self::default()
    }

    /// `refresh` trades for `access` from now on.
    pub fn grant(&self, refresh: &str, access: &str) {
        lock(&self.tokens)
            .0
            .insert(refresh.into(), (access.into(), None));
    }

    /// `refresh` trades for `access` and the next refresh token `rotated` (once: a rotated
    /// token is spent).
    pub fn grant_rotating(&self, refresh: &str, access: &str, rotated: &str) {
        lock(&self.tokens)
            .0
            .insert(refresh.into(), (access.into(), Some(rotated.into())));
    }

    /// How many exchanges were asked for.
    pub fn exchanges(&self) -> u32 {
        lock(&self.tokens).1
    }
}

#[async_trait]
impl crate::mailbox::ports::TokenExchange for FixedTokens {
    async fn access_token(
        &self,
        _token_url: &str,
        refresh: &crate::settings::secrets::OAuthRefresh,
    ) -> Result<crate::mailbox::ports::Exchanged, MailError> {
        let mut tokens = lock(&self.tokens);
        tokens.1 += 1;
        let (access, rotated) = tokens
            .0
            .get(&refresh.refresh_token)
            .cloned()
            .ok_or_else(|| MailError::Login("invalid_grant".into()))?;
        if rotated.is_some() {
            tokens.0.remove(&refresh.refresh_token);
        }
        Ok(crate::mailbox::ports::Exchanged {
            access_token: access,
            refresh_token: rotated,
        })
    }
}
