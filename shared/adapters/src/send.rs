//! The providers external sends go through: SMS by Amazon SNS, email by SES v2.

use async_trait::async_trait;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
// The error types are shared by every SDK crate; SNS's re-exports serve SES v2 too.
use aws_sdk_sns::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sns::types::MessageAttributeValue;

use crm_model::ports::{Email, EmailSender, SendError};

/// Throttling and server errors are worth a retry; anything else the provider said no to is
/// permanent. SNS and SES drop no repeated request, so a call that may have reached them without
/// an answer (a timeout, an answer lost or unreadable, a connection broken once the request was
/// on its way) is in doubt, never simply retried; only a request that certainly never left (it
/// could not be built or no connection was made) is.
fn classify<E, R>(error: SdkError<E, R>) -> SendError
where
    E: ProvideErrorMetadata + std::error::Error,
    R: std::fmt::Debug,
{
    match &error {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("");
            let message = service.err().message().unwrap_or("").to_owned();
            let transient = code.contains("Throttl")
                || code.contains("TooManyRequests")
                || code.contains("LimitExceeded")
                || code.contains("ServiceUnavailable")
                || code.contains("InternalError")
                || code.contains("InternalFailure");
            let text = format!("{code}: {message}");
            if transient {
                SendError::Transient(text)
            } else {
                SendError::Permanent(text)
            }
        }
        SdkError::ConstructionFailure(_) => SendError::Transient(format!("{error:?}")),
        SdkError::DispatchFailure(failure) if failure.is_io() || failure.is_timeout() => {
            SendError::InDoubt(format!("{error:?}"))
        }
        SdkError::DispatchFailure(_) => SendError::Transient(format!("{error:?}")),
        _ => SendError::InDoubt(format!("{error:?}")),
    }
}

/// SMS through Amazon SNS direct publish to a phone number.
#[derive(Debug, Clone)]
pub struct SnsSmsSender {
    client: aws_sdk_sns::Client,
}

impl SnsSmsSender {
    /// The client without the SDK's own retries: a retried `Publish` whose first answer was
    /// lost would send the SMS twice (the executor decides what to do with a call in doubt).
    pub fn new(client: aws_sdk_sns::Client) -> Self {
        let config = client
            .config()
            .to_builder()
            .retry_config(aws_sdk_sns::config::retry::RetryConfig::disabled())
            .build();
        Self {
            client: aws_sdk_sns::Client::from_conf(config),
        }
    }
}

impl SnsSmsSender {
    /// Publishes `text` to an E.164 number under a sender id; the SNS message id.
    pub async fn send(&self, sender_id: &str, to: &str, text: &str) -> Result<String, SendError> {
        let sender = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(sender_id)
            .build()
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        let transactional = MessageAttributeValue::builder()
            .data_type("String")
            .string_value("Transactional")
            .build()
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        let output = self
            .client
            .publish()
            .phone_number(to)
            .message(text)
            .message_attributes("AWS.SNS.SMS.SenderID", sender)
            .message_attributes("AWS.SNS.SMS.SMSType", transactional)
            .send()
            .await
            .map_err(classify)?;
        output
            .message_id
            .ok_or_else(|| SendError::Transient("SNS returned no message id".into()))
    }
}

/// Email through SES v2: simple content (subject and HTML body, UTF-8), or a MIME message built
/// with mail-builder and sent as raw content when it carries attachments.
#[derive(Debug, Clone)]
pub struct SesEmailSender {
    client: aws_sdk_sesv2::Client,
}

impl SesEmailSender {
    /// The client without the SDK's own retries, as for SNS: SES drops no repeated request.
    pub fn new(client: aws_sdk_sesv2::Client) -> Self {
        let config = client
            .config()
            .to_builder()
            .retry_config(aws_sdk_sesv2::config::retry::RetryConfig::disabled())
            .build();
        Self {
            client: aws_sdk_sesv2::Client::from_conf(config),
        }
    }
}

#[async_trait]
impl EmailSender for SesEmailSender {
    async fn send(&self, email: &Email) -> Result<String, SendError> {
        if !email.attachments.is_empty() {
            return self.send_raw(email).await;
        }
        let content = |data: &str| {
            Content::builder()
                .data(data)
                .charset("UTF-8")
                .build()
                .map_err(|e| SendError::Permanent(e.to_string()))
        };
        let message = Message::builder()
            .subject(content(&email.subject)?)
            .body(Body::builder().html(content(&email.html)?).build())
            .build();
        let output = self
            .client
            .send_email()
            .from_email_address(encoded_sender(&email.from))
            .destination(destination(email))
            .set_reply_to_addresses(email.reply_to.clone().map(|r| vec![r]))
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(classify)?;
        output
            .message_id
            .ok_or_else(|| SendError::Transient("SES returned no message id".into()))
    }
}

/// The envelope: the recipient and every copy. Bcc addresses appear here only, never in a
/// header.
fn destination(email: &Email) -> Destination {
    let some = |list: &[String]| (!list.is_empty()).then(|| list.to_vec());
    Destination::builder()
        .to_addresses(email.to.as_str())
        .set_cc_addresses(some(&email.cc))
        .set_bcc_addresses(some(&email.bcc))
        .build()
}

/// `"Name" <address>` split into its parts.
fn split_mailbox(text: &str) -> (Option<&str>, &str) {
    match (text.rfind('<'), text.rfind('>')) {
        (Some(open), Some(close)) if open < close => {
            let name = text[..open].trim().trim_matches('"').trim();
            (
                (!name.is_empty()).then_some(name),
                text[open + 1..close].trim(),
            )
        }
        _ => (None, text.trim()),
    }
}

fn bare_address(text: &str) -> &str {
    split_mailbox(text).1
}

/// SES takes a sender's display name in ASCII only: a Vietnamese one is sent RFC 2047-encoded.
fn encoded_sender(text: &str) -> String {
    use base64::Engine;
    match split_mailbox(text) {
        (Some(name), address) if !name.is_ascii() => format!(
            "=?UTF-8?B?{}?= <{address}>",
            base64::engine::general_purpose::STANDARD.encode(name)
        ),
        (Some(name), address) => format!("\"{}\" <{address}>", name.replace('"', "")),
        (None, address) => address.to_owned(),
    }
}

/// `"Name" <address>` or a bare address, as mail-builder takes it.
fn mailbox(text: &str) -> mail_builder::headers::address::Address<'_> {
    match split_mailbox(text) {
        (Some(name), address) => (name, address).into(),
        (None, address) => address.into(),
    }
}

impl SesEmailSender {
    async fn send_raw(&self, email: &Email) -> Result<String, SendError> {
        let mut message = mail_builder::MessageBuilder::new()
            .from(mailbox(&email.from))
            .to(email.to.as_str())
            .subject(email.subject.as_str())
            .html_body(email.html.as_str());
        if let Some(reply_to) = &email.reply_to {
            message = message.reply_to(reply_to.as_str());
        }
        if !email.cc.is_empty() {
            message = message.cc(email.cc.iter().map(String::as_str).collect::<Vec<_>>());
        }
        for file in &email.attachments {
            message = message.attachment(
                file.content_type.as_str(),
                file.file_name.as_str(),
                file.data.as_slice(),
            );
        }
        let bytes = message
            .write_to_vec()
            .map_err(|e| SendError::Permanent(format!("the message could not be built: {e}")))?;
        let raw = aws_sdk_sesv2::types::RawMessage::builder()
            .data(aws_sdk_sesv2::primitives::Blob::new(bytes))
            .build()
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        let output = self
            .client
            .send_email()
            // The display name travels in the message's own (encoded) From header.
            .from_email_address(bare_address(&email.from))
            // Without it the Bcc copies, absent from the headers, would go nowhere.
            .destination(destination(email))
            .content(EmailContent::builder().raw(raw).build())
            .send()
            .await
            .map_err(classify)?;
        output
            .message_id
            .ok_or_else(|| SendError::Transient("SES returned no message id".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vietnamese_sender_name_is_encoded_and_the_raw_sender_is_the_address() {
        let from = "\"Chăm sóc khách hàng\" <noreply@example.com>";
        let encoded = encoded_sender(from);
        assert!(encoded.is_ascii(), "{encoded}");
        assert!(encoded.starts_with("=?UTF-8?B?") && encoded.ends_with(" <noreply@example.com>"));
        assert_eq!(bare_address(from), "noreply@example.com");
        assert_eq!(encoded_sender("noreply@example.com"), "noreply@example.com");
        assert_eq!(encoded_sender("CSKH <a@b.vn>"), "\"CSKH\" <a@b.vn>");
    }
}
