//! Fakes of the providers the executor sends through (SMS, Zalo ZNS, email, task sync) and of the
//! PDF printer. Each keeps every message it accepted, so a test can assert that a send happened
//! exactly once, and can be told to fail:
//!
//! - [`Recording::fail_next`]: the next `n` calls are refused with the error and deliver nothing
//!   (a throttled or rejecting provider);
//! - [`Recording::deliver_then_fail_next`]: the next `n` calls deliver and then answer with the
//!   error (a timeout after the provider took the message: the case the ledger marks `unknown`);
//! - [`Recording::set_mode`]: every call from now on, until set back to [`ProviderMode::Deliver`].
//!
//! Planned failures (`fail_next`, `deliver_then_fail_next`) are used before the mode.

use async_trait::async_trait;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use crate::run::providers::{
    DocumentPrinter, Email, EmailSender, SendError, SmsSender, TaskSync, ZnsSender,
};
use crate::settings::secrets::{AccessToken, GatewayKeys, SigningKey};
use crate::settings::{SmsGateway, TaskConnection, ZnsProvider};

/// What a fake provider does with the calls no planned failure is left for.
#[derive(Debug, Clone, Default)]
pub enum ProviderMode {
    #[default]
    Deliver,
    /// Refuse every call with this error, delivering nothing.
    Refuse(SendError),
    /// Deliver every call, then answer with this error.
    DeliverThenFail(SendError),
}

/// A message a fake provider took, with the id it answered.
pub trait Message: Clone + Send + 'static {
    /// The message id prefix (`sms-1`, `zns-2`, …).
    const PREFIX: &'static str;
}

/// An SMS the fake gateway took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsMessage {
    pub gateway: SmsGateway,
    /// The API key the gateway was called with (brandname gateways).
    pub api_key: Option<String>,
    pub to: String,
    pub text: String,
    pub request_id: String,
    pub message_id: String,
}

/// A ZNS message the fake Zalo took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZnsMessage {
    pub provider: ZnsProvider,
    /// The access token Zalo was called with.
    pub access_token: String,
    pub phone: String,
    pub template_id: String,
    pub data: BTreeMap<String, String>,
    pub tracking_id: String,
    pub message_id: String,
}

/// An email the fake SES took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentEmail {
    pub email: Email,
    pub message_id: String,
}

/// A task the fake task app took.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskPush {
    pub connection: TaskConnection,
    /// The key the request was signed with.
    pub signing_key: String,
    pub task: serde_json::Value,
    pub idempotency_key: String,
    pub task_id: String,
}

impl Message for SmsMessage {
    const PREFIX: &'static str = "sms";
}
impl Message for ZnsMessage {
    const PREFIX: &'static str = "zns";
}
impl Message for SentEmail {
    const PREFIX: &'static str = "email";
}
impl Message for TaskPush {
    const PREFIX: &'static str = "task";
}

/// A call the fake switchboard placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedCall {
    pub base_url: String,
    /// The API key the switchboard was called with.
    pub api_key: String,
    pub extension: String,
    pub phone: String,
    pub call_ref: String,
    pub call_id: String,
}

impl Message for PlacedCall {
    const PREFIX: &'static str = "voip";
}

#[derive(Debug, Clone)]
enum Planned {
    Deliver,
    Refuse(SendError),
    DeliverThenFail(SendError),
}

struct RecorderState<M> {
    delivered: Vec<M>,
    attempts: usize,
    planned: VecDeque<Planned>,
    mode: ProviderMode,
}

/// A fake provider that records what it delivered. Use through [`RecordingSms`],
/// [`RecordingZns`], [`RecordingEmail`] and [`RecordingTaskSync`].
pub struct Recording<M> {
    state: Mutex<RecorderState<M>>,
}

pub type RecordingSms = Recording<SmsMessage>;
pub type RecordingZns = Recording<ZnsMessage>;
pub type RecordingEmail = Recording<SentEmail>;
pub type RecordingTaskSync = Recording<TaskPush>;
pub type RecordingSwitchboard = Recording<PlacedCall>;

impl<M: Message> Default for Recording<M> {
    fn default() -> Self {
        Self {
            state: Mutex::new(RecorderState {
                delivered: Vec::new(),
                attempts: 0,
                planned: VecDeque::new(),
                mode: ProviderMode::Deliver,
            }),
        }
    }
}

impl<M: Message + std::fmt::Debug> std::fmt::Debug for Recording<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("Recording")
            .field("delivered", &state.delivered)
            .field("attempts", &state.attempts)
            .finish_non_exhaustive()
    }
}

impl<M: Message> Recording<M> {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, RecorderState<M>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Refuses the next `n` calls with `error`, delivering nothing.
    pub fn fail_next(&self, n: usize, error: SendError) {
        let mut state = self.lock();
        state
            .planned
            .extend(std::iter::repeat_n(Planned::Refuse(error), n));
    }

    /// Delivers the next `n` calls whatever the mode (to place a failure after them).
    pub fn deliver_next(&self, n: usize) {
        let mut state = self.lock();
        state
            .planned
            .extend(std::iter::repeat_n(Planned::Deliver, n));
    }

    /// Delivers the next `n` calls, then answers each with `error`.
    pub fn deliver_then_fail_next(&self, n: usize, error: SendError) {
        let mut state = self.lock();
        state
            .planned
            .extend(std::iter::repeat_n(Planned::DeliverThenFail(error), n));
    }

    /// What every call without a planned failure does from now on.
    pub fn set_mode(&self, mode: ProviderMode) {
        self.lock().mode = mode;
    }

    /// Every message delivered, in order.
    pub fn delivered(&self) -> Vec<M> {
        self.lock().delivered.clone()
    }

    /// How many calls were made, refused ones included.
    pub fn attempts(&self) -> usize {
        self.lock().attempts
    }

    /// Delivers `make(message id)` unless a planned failure or the mode says otherwise.
    fn call(&self, make: impl FnOnce(String) -> M) -> Result<String, SendError> {
        let mut state = self.lock();
        state.attempts += 1;
        let planned = state.planned.pop_front().or(match &state.mode {
            ProviderMode::Deliver => None,
            ProviderMode::Refuse(e) => Some(Planned::Refuse(e.clone())),
            ProviderMode::DeliverThenFail(e) => Some(Planned::DeliverThenFail(e.clone())),
        });
        if let Some(Planned::Refuse(error)) = planned {
            return Err(error);
        }
        let id = format!("{}-{}", M::PREFIX, state.delivered.len() + 1);
        state.delivered.push(make(id.clone()));
        match planned {
            Some(Planned::DeliverThenFail(error)) => Err(error),
            _ => Ok(id),
        }
    }
}

#[async_trait]
impl SmsSender for RecordingSms {
    async fn send(
        &self,
        gateway: &SmsGateway,
        keys: Option<&GatewayKeys>,
        to: &str,
        text: &str,
        request_id: &str,
    ) -> Result<String, SendError> {
        self.call(|message_id| SmsMessage {
            gateway: gateway.clone(),
            api_key: keys.map(|k| k.api_key.clone()),
            to: to.to_owned(),
            text: text.to_owned(),
            request_id: request_id.to_owned(),
            message_id,
        })
    }
}

#[async_trait]
impl crate::run::providers::Switchboard for RecordingSwitchboard {
    async fn dial(
        &self,
        provider: &crate::settings::VoipProvider,
        keys: &GatewayKeys,
        extension: &str,
        phone: &str,
        call_ref: &str,
    ) -> Result<String, SendError> {
        self.call(|call_id| PlacedCall {
            base_url: provider.base_url.clone(),
            api_key: keys.api_key.clone(),
            extension: extension.to_owned(),
            phone: phone.to_owned(),
            call_ref: call_ref.to_owned(),
            call_id,
        })
    }
}

#[async_trait]
impl ZnsSender for RecordingZns {
    async fn send(
        &self,
        provider: &ZnsProvider,
        token: &AccessToken,
        phone: &str,
        template_id: &str,
        data: &BTreeMap<String, String>,
        tracking_id: &str,
    ) -> Result<String, SendError> {
        self.call(|message_id| ZnsMessage {
            provider: provider.clone(),
            access_token: token.access_token.clone(),
            phone: phone.to_owned(),
            template_id: template_id.to_owned(),
            data: data.clone(),
            tracking_id: tracking_id.to_owned(),
            message_id,
        })
    }
}

#[async_trait]
impl EmailSender for RecordingEmail {
    async fn send(&self, email: &Email) -> Result<String, SendError> {
        self.call(|message_id| SentEmail {
            email: email.clone(),
            message_id,
        })
    }
}

#[async_trait]
impl TaskSync for RecordingTaskSync {
    async fn push(
        &self,
        connection: &TaskConnection,
        key: &SigningKey,
        task: &serde_json::Value,
        idempotency_key: &str,
    ) -> Result<String, SendError> {
        self.call(|task_id| TaskPush {
            connection: connection.clone(),
            signing_key: key.signing_key.clone(),
            task: task.clone(),
            idempotency_key: idempotency_key.to_owned(),
            task_id,
        })
    }
}

/// A [`DocumentPrinter`] that "prints" a fake PDF: `%PDF-` and the title and paragraphs as plain
/// UTF-8 lines, so a test can look for the text in the bytes. Like the real printer it refuses a
/// character its font lacks ([`TextPrinter::refuse_char`]), with the same message.
#[derive(Debug, Default)]
pub struct TextPrinter {
    state: Mutex<PrinterState>,
}

#[derive(Debug, Default)]
struct PrinterState {
    refused: Vec<char>,
    planned: VecDeque<String>,
    printed: Vec<(String, Vec<String>)>,
}

impl TextPrinter {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, PrinterState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes `c` unprintable, as a character the font has no glyph for.
    pub fn refuse_char(&self, c: char) {
        self.lock().refused.push(c);
    }

    /// Fails the next `n` prints with `reason`.
    pub fn fail_next(&self, n: usize, reason: &str) {
        let mut state = self.lock();
        state
            .planned
            .extend(std::iter::repeat_n(reason.to_owned(), n));
    }

    /// Every document printed: its title and paragraphs.
    pub fn printed(&self) -> Vec<(String, Vec<String>)> {
        self.lock().printed.clone()
    }
}

impl DocumentPrinter for TextPrinter {
    fn pdf(&self, title: &str, paragraphs: &[String]) -> Result<Vec<u8>, String> {
        let mut state = self.lock();
        if let Some(reason) = state.planned.pop_front() {
            return Err(reason);
        }
        let text = std::iter::once(title).chain(paragraphs.iter().map(String::as_str));
        for c in text.clone().flat_map(str::chars) {
            if !c.is_control() && state.refused.contains(&c) {
                return Err(format!("the font cannot print '{c}' (U+{:04X})", c as u32));
            }
        }
        let mut pdf = b"%PDF-1.7\n% fake document of the in-memory TextPrinter\n".to_vec();
        for line in text {
            pdf.extend_from_slice(line.as_bytes());
            pdf.push(b'\n');
        }
        pdf.extend_from_slice(b"%%EOF\n");
        state.printed.push((title.to_owned(), paragraphs.to_vec()));
        Ok(pdf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn planned_failures_come_first_and_a_lost_answer_still_delivers() {
        let sms = RecordingSms::new();
        let gateway = SmsGateway::Sns {
            sender_id: "ACME".into(),
        };
        sms.fail_next(1, SendError::Transient("throttled".into()));
        sms.deliver_then_fail_next(1, SendError::Transient("timeout".into()));
        assert!(
            sms.send(&gateway, None, "+84912345678", "a", "r1")
                .await
                .is_err()
        );
        assert!(
            sms.send(&gateway, None, "+84912345678", "b", "r2")
                .await
                .is_err()
        );
        let id = sms
            .send(&gateway, None, "+84912345678", "c", "r3")
            .await
            .unwrap();
        assert_eq!(id, "sms-2");
        let texts: Vec<String> = sms.delivered().into_iter().map(|m| m.text).collect();
        assert_eq!(texts, ["b", "c"]);
        assert_eq!(sms.attempts(), 3);
    }

    #[test]
    fn the_printer_keeps_the_text_and_refuses_what_it_is_told() {
        let printer = TextPrinter::new();
        let pdf = printer
            .pdf("Phiếu quà tặng", &["Chúc mừng sinh nhật".to_owned()])
            .unwrap();
        let text = String::from_utf8(pdf).unwrap();
        assert!(text.starts_with("%PDF") && text.contains("Chúc mừng sinh nhật"));
        printer.refuse_char('😀');
        let refused = printer.pdf("x", &["hi 😀".to_owned()]).unwrap_err();
        assert_eq!(refused, "the font cannot print '😀' (U+1F600)");
    }
}
