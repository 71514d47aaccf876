//! Who a text (SMS or ZNS) goes to: the numbers as entered, parsed with libphonenumber's
//! metadata, each kept once, and every one left out recorded with why.

use crate::phone::NumberType;
use crate::run::{SkipReason, SkippedRecipient};

/// The numbers an SMS or ZNS goes to (E.164, sorted, each once) out of the phone numbers as
/// entered; every other number is added to `skipped` once, with why: not a valid number, of a
/// type texts never go to ([`NumberType::receives_messages`]), or of a country not in
/// `countries` (the tenant's `message_countries`). Blank values are nobody, not skipped.
pub(super) fn text_recipients(
    entered: &[String],
    countries: &[String],
    skipped: &mut Vec<SkippedRecipient>,
) -> Vec<String> {
    let mut numbers = Vec::new();
    // Skipped spellings of one number are one skipped recipient.
    let mut skipped_numbers: Vec<String> = Vec::new();
    for raw in entered {
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let (number, reason, detail) = match crate::phone::parse(raw) {
            None => (
                raw.to_owned(),
                SkipReason::InvalidNumber,
                "not a valid phone number".to_owned(),
            ),
            Some(n) if !n.kind.receives_messages() => {
                let detail = format!(
                    "a {} number: SMS and ZNS never go to premium-rate, shared-cost, toll-free, \
                     personal, UAN, voicemail or pager numbers",
                    type_words(n.kind)
                );
                (n.e164, SkipReason::NumberType, detail)
            }
            Some(n) => match n.region {
                Some(region) if countries.contains(&region) => {
                    numbers.push(n.e164);
                    continue;
                }
                Some(region) => {
                    let detail = format!(
                        "a number of {region} (+{}), not among the countries the tenant sends \
                         SMS and ZNS to",
                        n.country_code
                    );
                    (n.e164, SkipReason::Country, detail)
                }
                None => {
                    let detail = format!(
                        "a non-geographic number (+{}), of no country the tenant sends SMS and \
                         ZNS to",
                        n.country_code
                    );
                    (n.e164, SkipReason::Country, detail)
                }
            },
        };
        if !skipped_numbers.contains(&number) {
            skipped_numbers.push(number);
            skipped.push(SkippedRecipient {
                recipient: raw.to_owned(),
                reason,
                detail,
            });
        }
    }
    numbers.sort();
    numbers.dedup();
    numbers
}

fn type_words(kind: NumberType) -> &'static str {
    match kind {
        NumberType::Mobile => "mobile",
        NumberType::FixedLine => "fixed-line",
        NumberType::FixedLineOrMobile => "fixed-line or mobile",
        NumberType::TollFree => "toll-free",
        NumberType::PremiumRate => "premium-rate",
        NumberType::SharedCost => "shared-cost",
        NumberType::Voip => "VoIP",
        NumberType::PersonalNumber => "personal",
        NumberType::Pager => "pager",
        NumberType::Uan => "UAN (company)",
        NumberType::Voicemail => "voicemail",
        NumberType::Unknown => "unclassified",
    }
}

/// Why an SMS or ZNS with no number left to send to fails.
pub(super) fn nobody_to_text(skipped: &[SkippedRecipient]) -> String {
    let count = |reason| skipped.iter().filter(|s| s.reason == reason).count();
    if count(SkipReason::InvalidNumber) == skipped.len() {
        return "no recipient has a valid phone number".into();
    }
    let parts: Vec<String> = [
        (SkipReason::InvalidNumber, "not a valid phone number"),
        (SkipReason::NumberType, "of a type texts never go to"),
        (
            SkipReason::Country,
            "of a country the tenant does not send to",
        ),
    ]
    .into_iter()
    .filter(|(reason, _)| count(*reason) > 0)
    .map(|(reason, words)| format!("{} {words}", count(reason)))
    .collect();
    format!(
        "every recipient was skipped ({}); nothing was sent",
        parts.join(", ")
    )
}
