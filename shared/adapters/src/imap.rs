//! The mailbox reader over IMAP: TLS only (rustls, the system's roots), to an address the
//! outbound policy allows whatever the host name resolves to, read-only (EXAMINE, BODY.PEEK),
//! each step under a timeout so that one slow server holds up its own mailbox only. Messages are
//! parsed here (mail-parser) into headers, a text excerpt and attachment names; their content
//! beyond the first [`MAX_FETCHED_BYTES`] is never read.

use async_imap::{Authenticator, Client, Session};
use async_trait::async_trait;
use futures_util::TryStreamExt;
use mail_parser::{Address, MessageParser, MimeHeaders};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crm_model::mailbox::Mailbox;
use crm_model::mailbox::ports::{
    FetchedMail, FolderState, MailCredential, MailError, MailReader, MailSession,
};
use crm_model::settings::outbound::OutboundPolicy;

/// The most of each message read: enough for its headers, its text and the names of its
/// attachments in all but the rarest layouts, never a whole attachment.
pub const MAX_FETCHED_BYTES: u32 = 256 * 1024;
/// The environment variable naming a PEM file of extra trusted roots, honoured only where the
/// outbound policy allows local providers (the local stack's test IMAP server); never on AWS.
pub const LOCAL_CA_VAR: &str = "CRM_LOCAL_CA_FILE";

type Stream = TlsStream<TcpStream>;

/// Reads mailboxes over IMAP.
#[derive(Clone)]
pub struct ImapReader {
    policy: OutboundPolicy,
    tls: TlsConnector,
    /// The longest wait for one step (connect, login, a fetch).
    step_timeout: Duration,
}

impl std::fmt::Debug for ImapReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapReader")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl ImapReader {
    /// A reader trusting the system's roots, and `extra_roots` besides.
    pub fn new(policy: OutboundPolicy, extra_roots: Vec<CertificateDer<'static>>) -> Self {
        let mut roots = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        for error in &native.errors {
            tracing::warn!(%error, "a system root certificate could not be loaded");
        }
        roots.add_parsable_certificates(native.certs);
        roots.add_parsable_certificates(extra_roots);
        let config = ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Self {
            policy,
            tls: TlsConnector::from(Arc::new(config)),
            step_timeout: Duration::from_secs(20),
        }
    }

    /// The deployment's reader: its outbound policy, and on the local stack the extra root
    /// [`LOCAL_CA_VAR`] names.
    pub fn from_env() -> Result<Self, crate::ConfigError> {
        let policy = crate::outbound::policy_from_env();
        let mut extra = Vec::new();
        if policy.allow_local {
            if let Ok(path) = std::env::var(LOCAL_CA_VAR) {
                let certs = CertificateDer::pem_file_iter(&path)
                    .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| crate::ConfigError::Invalid(LOCAL_CA_VAR, e.to_string()))?;
                extra.extend(certs);
            }
        }
        Ok(Self::new(policy, extra))
    }

    /// Waits at most one step's time for `step`.
    async fn step<T>(
        &self,
        what: &str,
        step: impl std::future::Future<Output = Result<T, MailError>>,
    ) -> Result<T, MailError> {
        tokio::time::timeout(self.step_timeout, step)
            .await
            .unwrap_or_else(|_| Err(MailError::Unreachable(format!("{what} timed out"))))
    }

    /// A TLS connection to the first allowed address of the mailbox's host that answers.
    async fn connect(&self, mailbox: &Mailbox) -> Result<Stream, MailError> {
        let refused = |reason: String| MailError::Unreachable(format!("refused: {reason}"));
        self.policy
            .check_url(&mailbox.server_url())
            .map_err(refused)?;
        let found: Vec<SocketAddr> = tokio::net::lookup_host((mailbox.host.as_str(), mailbox.port))
            .await
            .map_err(|e| {
                MailError::Unreachable(format!("'{}' does not resolve: {e}", mailbox.host))
            })?
            .collect();
        let allowed: Vec<SocketAddr> = found
            .into_iter()
            .filter(|a| self.policy.allows_ip(a.ip()))
            .collect();
        if allowed.is_empty() {
            let host = &mailbox.host;
            return Err(refused(format!("'{host}' resolves to no public address")));
        }
        let tcp = TcpStream::connect(allowed.as_slice())
            .await
            .map_err(|e| MailError::Unreachable(e.to_string()))?;
        let name = ServerName::try_from(mailbox.host.clone())
            .map_err(|e| MailError::Unreachable(e.to_string()))?;
        self.tls
            .connect(name, tcp)
            .await
            .map_err(|e| MailError::Unreachable(format!("TLS: {e}")))
    }
}

/// SASL XOAUTH2 (Gmail, Microsoft 365): the user and the bearer token in one response. A
/// refused token is answered with an error challenge, which takes an empty response before the
/// server says NO.
struct XOAuth2<'a> {
    user: &'a str,
    token: &'a str,
    sent: bool,
}

impl Authenticator for XOAuth2<'_> {
    type Response = String;

    fn process(&mut self, _challenge: &[u8]) -> String {
        if std::mem::replace(&mut self.sent, true) {
            return String::new();
        }
        format!("user={}\x01auth=Bearer {}\x01\x01", self.user, self.token)
    }
}

fn protocol(error: async_imap::error::Error) -> MailError {
    use async_imap::error::Error;
    match error {
        Error::Io(e) => MailError::Unreachable(e.to_string()),
        Error::ConnectionLost => MailError::Unreachable("the connection was lost".into()),
        other => MailError::Protocol(other.to_string()),
    }
}

#[async_trait]
impl MailReader for ImapReader {
    async fn open(
        &self,
        mailbox: &Mailbox,
        credential: &MailCredential,
    ) -> Result<Box<dyn MailSession>, MailError> {
        let stream = self.step("connecting", self.connect(mailbox)).await?;
        let mut client = Client::new(stream);
        self.step("the greeting", async {
            match client.read_response().await {
                Ok(Some(_)) => Ok(()),
                Ok(None) => Err(MailError::Unreachable("closed before its greeting".into())),
                Err(e) => Err(MailError::Unreachable(e.to_string())),
            }
        })
        .await?;
        let login = async {
            let logged_in = match credential {
                MailCredential::Password(password) => {
                    client.login(&mailbox.username, password).await
                }
                MailCredential::AccessToken(token) => {
                    let auth = XOAuth2 {
                        user: &mailbox.username,
                        token,
                        sent: false,
                    };
                    client.authenticate("XOAUTH2", auth).await
                }
            };
            logged_in.map_err(|(error, _)| match error {
                async_imap::error::Error::No(text) | async_imap::error::Error::Bad(text) => {
                    MailError::Login(text)
                }
                other => protocol(other),
            })
        };
        let session = self.step("logging in", login).await?;
        Ok(Box::new(ImapSession {
            session,
            reader: self.clone(),
        }))
    }
}

struct ImapSession {
    session: Session<Stream>,
    reader: ImapReader,
}

#[async_trait]
impl MailSession for ImapSession {
    async fn select(&mut self, folder: &str) -> Result<FolderState, MailError> {
        let session = &mut self.session;
        let examined = self
            .reader
            .step("opening a folder", async {
                session
                    .examine(mailbox_name(folder))
                    .await
                    .map_err(|e| match e {
                        async_imap::error::Error::No(_) => MailError::NoFolder(folder.into()),
                        other => protocol(other),
                    })
            })
            .await?;
        let uid_validity = examined
            .uid_validity
            .ok_or_else(|| MailError::Protocol(format!("'{folder}' has no UIDVALIDITY")))?;
        Ok(FolderState { uid_validity })
    }

    async fn fetch_after(&mut self, after: u32, limit: u32) -> Result<Vec<FetchedMail>, MailError> {
        let session = &mut self.session;
        let fetched = self
            .reader
            .step("fetching messages", async {
                // `UID SEARCH` first, so that a fetch asks for `limit` messages, not all of them.
                let found = session
                    .uid_search(format!("UID {}:*", after.saturating_add(1)))
                    .await
                    .map_err(protocol)?;
                let mut uids: Vec<u32> = found.into_iter().filter(|uid| *uid > after).collect();
                uids.sort_unstable();
                uids.truncate(limit as usize);
                if uids.is_empty() {
                    return Ok(Vec::new());
                }
                let set: Vec<String> = uids.iter().map(u32::to_string).collect();
                let query = format!("(UID BODY.PEEK[]<0.{MAX_FETCHED_BYTES}>)");
                let stream = session
                    .uid_fetch(set.join(","), query)
                    .await
                    .map_err(protocol)?;
                let fetches: Vec<_> = stream.try_collect().await.map_err(protocol)?;
                // Only what was asked for, with its content: the server may slip unsolicited
                // FETCH answers (a flag changed on another device) into the stream, and a
                // checkpoint moved past such a UID would skip everything below it. A message
                // expunged meanwhile is simply absent; one the server never gives the content
                // of is logged and passed over, not read again and again.
                let mut mails: Vec<FetchedMail> = Vec::new();
                for fetch in &fetches {
                    let Some(uid) = fetch.uid.filter(|uid| uids.binary_search(uid).is_ok()) else {
                        continue;
                    };
                    if let Some(body) = fetch.body() {
                        mails.push(parse(uid, body));
                    }
                }
                mails.sort_by_key(|m| m.uid);
                mails.dedup_by_key(|m| m.uid);
                for uid in uids
                    .iter()
                    .filter(|uid| mails.binary_search_by_key(*uid, |m| m.uid).is_err())
                {
                    tracing::warn!(
                        uid,
                        "a message was not given (expunged, or without its content): passed over"
                    );
                }
                Ok(mails)
            })
            .await?;
        let mut mails = fetched;
        mails.sort_by_key(|m| m.uid);
        Ok(mails)
    }

    async fn logout(&mut self) {
        let session = &mut self.session;
        let _ = tokio::time::timeout(Duration::from_secs(5), session.logout()).await;
    }
}

/// A folder's name as IMAP writes it (RFC 3501 §5.1.3, modified UTF-7): printable ASCII as is
/// (`&` as `&-`), anything else (`Thư đã gửi`) as UTF-16 in a base64 run between `&` and `-`.
pub fn mailbox_name(name: &str) -> String {
    use base64::Engine;
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::IMAP_MUTF7,
        base64::engine::general_purpose::NO_PAD,
    );
    let mut out = String::new();
    let mut run: Vec<u16> = Vec::new();
    let flush = |run: &mut Vec<u16>, out: &mut String| {
        if !run.is_empty() {
            let bytes: Vec<u8> = run.iter().flat_map(|u| u.to_be_bytes()).collect();
            out.push('&');
            out.push_str(&engine.encode(bytes));
            out.push('-');
            run.clear();
        }
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut run, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut units = [0u16; 2];
            run.extend_from_slice(c.encode_utf16(&mut units));
        }
    }
    flush(&mut run, &mut out);
    out
}

/// The addresses of a header, without display names.
fn addresses(header: Option<&Address<'_>>) -> Vec<String> {
    header
        .map(|a| {
            a.iter()
                .filter_map(|a| a.address())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// What the sync keeps of a message: its headers, the start of its text, its attachments' names.
pub fn parse(uid: u32, raw: &[u8]) -> FetchedMail {
    let Some(message) = MessageParser::default().parse(raw) else {
        return FetchedMail {
            uid,
            ..FetchedMail::default()
        };
    };
    let excerpt: String = message
        .body_text(0)
        .map(|text| {
            let words: Vec<&str> = text.split_whitespace().collect();
            words
                .join(" ")
                .chars()
                .take(crm_model::mailbox::EXCERPT_CHARS)
                .collect()
        })
        .unwrap_or_default();
    FetchedMail {
        uid,
        message_id: message.message_id().map(str::to_owned),
        date: message
            .date()
            .and_then(|d| chrono::DateTime::from_timestamp(d.to_timestamp(), 0)),
        from: addresses(message.from()),
        to: addresses(message.to()),
        cc: addresses(message.cc()),
        subject: message.subject().unwrap_or_default().to_owned(),
        excerpt,
        attachments: message
            .attachments()
            .map(|part| part.attachment_name().unwrap_or("(không tên)").to_owned())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_are_written_in_modified_utf7() {
        assert_eq!(mailbox_name("INBOX"), "INBOX");
        assert_eq!(mailbox_name("[Gmail]/Sent Mail"), "[Gmail]/Sent Mail");
        assert_eq!(mailbox_name("Tom & Jerry"), "Tom &- Jerry");
        // RFC 3501's own example, and a Vietnamese sent folder.
        assert_eq!(
            mailbox_name("~peter/mail/日本語/台北"),
            "~peter/mail/&ZeVnLIqe-/&U,BTFw-"
        );
        assert_eq!(mailbox_name("Thư đã gửi"), "Th&AbA- &AREA4w- g&Hu0-i");
    }

    #[test]
    fn a_message_gives_its_headers_text_and_attachment_names_only() {
        let raw = "Message-ID: <q-1@example.vn>\r\nDate: Wed, 20 May 2026 10:00:00 +0700\r\n\
            From: \"Lan\" <lan@example.vn>\r\nTo: Sales <sales@example.vn>, tuan@example.vn\r\n\
            Cc: boss@example.vn\r\nSubject: =?UTF-8?B?QsOhbyBnacOh?=\r\nMIME-Version: 1.0\r\n\
            Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
            Content-Type: text/plain; charset=utf-8\r\n\r\nChào anh,\r\n  gửi báo giá.\r\n--b\r\n\
            Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"bao-gia.pdf\"\r\n\
            Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n";
        let mail = parse(7, raw.as_bytes());
        assert_eq!(mail.uid, 7);
        assert_eq!(mail.message_id.as_deref(), Some("q-1@example.vn"));
        assert_eq!(mail.date.unwrap().to_rfc3339(), "2026-05-20T03:00:00+00:00");
        assert_eq!(mail.from, ["lan@example.vn"]);
        assert_eq!(mail.to, ["sales@example.vn", "tuan@example.vn"]);
        assert_eq!(mail.cc, ["boss@example.vn"]);
        assert_eq!(mail.subject, "Báo giá");
        assert_eq!(mail.excerpt, "Chào anh, gửi báo giá.");
        assert_eq!(mail.attachments, ["bao-gia.pdf"]);
    }
}
