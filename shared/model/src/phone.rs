//! Phone numbers, parsed and validated with libphonenumber's metadata (the `phonenumber` crate),
//! Vietnam being the region of a number written without a country code: 0912 345 678,
//! +84 912 345 678 and 84912345678 are one number, `+84912345678`; a number with another
//! country code keeps it. A number is one only if libphonenumber finds it valid (its length *and*
//! its leading digits match a number range of its country), and each valid number has a type
//! (mobile, fixed line, premium rate, …), which decides whether texts may go to it
//! ([`NumberType::receives_messages`]).

use phonenumber::metadata::DATABASE;
use serde::{Deserialize, Serialize};

/// The region of numbers written without a country code.
pub const DEFAULT_REGION: &str = "VN";

/// Longer input is not a phone number (the longest E.164 number has 15 digits; room is left
/// for spaces, dots, dashes and a "(0)").
const MAX_INPUT_CHARS: usize = 40;

/// What kind of line a number is, as libphonenumber's metadata classifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberType {
    Mobile,
    FixedLine,
    /// Where the number alone cannot tell (the United States, Canada, China, …).
    FixedLineOrMobile,
    TollFree,
    PremiumRate,
    /// The caller pays part of the cost (UK 084x, French 08 1x).
    SharedCost,
    Voip,
    /// A number that follows a person to wherever they route it (UK 070).
    PersonalNumber,
    Pager,
    /// Universal access ("company") numbers: Vietnamese 1900 xxxx short hotlines among them.
    Uan,
    /// Voicemail access numbers.
    Voicemail,
    /// Matches no range of its country.
    Unknown,
}

impl NumberType {
    /// The type as the run history writes it ("premium_rate").
    pub fn as_str(self) -> &'static str {
        match self {
            NumberType::Mobile => "mobile",
            NumberType::FixedLine => "fixed_line",
            NumberType::FixedLineOrMobile => "fixed_line_or_mobile",
            NumberType::TollFree => "toll_free",
            NumberType::PremiumRate => "premium_rate",
            NumberType::SharedCost => "shared_cost",
            NumberType::Voip => "voip",
            NumberType::PersonalNumber => "personal_number",
            NumberType::Pager => "pager",
            NumberType::Uan => "uan",
            NumberType::Voicemail => "voicemail",
            NumberType::Unknown => "unknown",
        }
    }

    /// Whether SMS and Zalo ZNS messages may be sent to a number of this type.
    ///
    /// Refused: premium-rate and shared-cost numbers, whose operator earns from what reaches
    /// them (the "SMS pumping" or international revenue share fraud this guards against);
    /// personal numbers (UK 070), which forward to wherever their owner routes them at a
    /// revenue-sharing rate and are a known target of the same fraud; toll-free, UAN, voicemail
    /// and pager numbers, which are services rather than a person's handset and cannot read a
    /// text (a message to them is paid for and lost); and a number the metadata cannot classify.
    /// Sent: mobile numbers, numbers that may be mobile, fixed lines (some operators turn texts
    /// into calls, the gateway reports the others as undeliverable; none earns from it) and VoIP
    /// numbers (an app on a person's phone). The same rule applies to ZNS, although Zalo
    /// delivers through its app rather than a telephone operator: none of the refused types can
    /// hold a Zalo account.
    pub fn receives_messages(self) -> bool {
        matches!(
            self,
            NumberType::Mobile
                | NumberType::FixedLineOrMobile
                | NumberType::FixedLine
                | NumberType::Voip
        )
    }
}

impl From<phonenumber::Type> for NumberType {
    fn from(kind: phonenumber::Type) -> Self {
        use phonenumber::Type;
        match kind {
            Type::Mobile => NumberType::Mobile,
            Type::FixedLine => NumberType::FixedLine,
            Type::FixedLineOrMobile => NumberType::FixedLineOrMobile,
            Type::TollFree => NumberType::TollFree,
            Type::PremiumRate => NumberType::PremiumRate,
            Type::SharedCost => NumberType::SharedCost,
            Type::Voip => NumberType::Voip,
            Type::PersonalNumber => NumberType::PersonalNumber,
            Type::Pager => NumberType::Pager,
            Type::Uan => NumberType::Uan,
            Type::Voicemail => NumberType::Voicemail,
            // Short codes, emergency and carrier-specific numbers are not classified for full
            // numbers by the crate; anything else it may add is unknown here.
            _ => NumberType::Unknown,
        }
    }
}

/// A valid phone number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber {
    /// The E.164 form: `+84912345678`.
    pub e164: String,
    /// The country calling code: 84.
    pub country_code: u16,
    /// The ISO 3166-1 region of the number (`VN`; `US` or `CA` for +1 by its area code), or
    /// `None` for a non-geographic code (+800, +882, …).
    pub region: Option<String>,
    pub kind: NumberType,
}

/// Parses a phone number, Vietnam being the region of a number written without a country code.
/// `None` when the input is not a valid number: only digits, spaces, dots, dashes, parentheses
/// and a leading `+` are taken (libphonenumber itself would also read letters as keypad digits
/// and pick a number out of surrounding text), and libphonenumber must find the number valid.
pub fn parse(input: &str) -> Option<PhoneNumber> {
    let input = input.trim();
    if input.len() > MAX_INPUT_CHARS
        || !input.chars().enumerate().all(|(i, c)| match c {
            '+' => i == 0,
            c => c.is_ascii_digit() || matches!(c, ' ' | '.' | '-' | '(' | ')'),
        })
    {
        return None;
    }
    let region = DEFAULT_REGION.parse().ok();
    let number = phonenumber::parse(region, input).ok()?;
    if !number.is_valid() || number.extension().is_some() {
        return None;
    }
    let country = number.country();
    Some(PhoneNumber {
        e164: number.format().mode(phonenumber::Mode::E164).to_string(),
        country_code: country.code(),
        region: country.id().map(|id| id.as_ref().to_owned()),
        kind: number.number_type(&DATABASE).into(),
    })
}

/// Loads libphonenumber's metadata now (it loads on first use, about 150 ms of CPU): the
/// functions' composition roots call this at start-up, so that no request pays for it.
pub fn load_metadata() {
    let _ = parse("0912345678");
}

/// The E.164 form (`+84912345678`) of a phone number, or `None` when it is not a valid one
/// (see [`parse`]). Vietnamese spellings (0xxx, +84xxx, 84xxx) give the same number; numbers
/// with another country code keep it.
pub fn normalize_vn(input: &str) -> Option<String> {
    parse(input).map(|number| number.e164)
}

/// Whether `code` is a region libphonenumber has metadata for, written as it writes them (ISO
/// 3166-1 alpha-2 in capitals: `VN`, `US`, `GB`).
pub fn is_known_region(code: &str) -> bool {
    code.len() == 2
        && code.bytes().all(|b| b.is_ascii_uppercase())
        && DATABASE.by_id(code).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kind(s: &str) -> Option<(String, Option<String>, NumberType)> {
        parse(s).map(|n| (n.e164, n.region, n.kind))
    }

    fn vn(e164: &str, kind: NumberType) -> Option<(String, Option<String>, NumberType)> {
        Some((e164.to_owned(), Some("VN".to_owned()), kind))
    }

    #[test]
    fn the_three_vietnamese_spellings_are_one_number() {
        for s in [
            "0912345678",
            "+84912345678",
            "84912345678",
            "0912 345 678",
            "+84 (0)912-345-678",
            "091.234.5678",
            // libphonenumber also reads the international prefix dialled from Vietnam, and a
            // national number without its trunk 0, both refused by the old heuristics.
            "0084 912 345 678",
            "912 345 678",
        ] {
            assert_eq!(normalize_vn(s).as_deref(), Some("+84912345678"), "{s}");
        }
    }

    #[test]
    fn vietnamese_mobiles_and_landlines_have_their_type() {
        assert_eq!(kind("0912 345 678"), vn("+84912345678", NumberType::Mobile));
        assert_eq!(kind("0387 654 321"), vn("+84387654321", NumberType::Mobile));
        assert_eq!(
            kind("024 3826 1234"),
            vn("+842438261234", NumberType::FixedLine)
        );
        assert_eq!(
            kind("+84 28 3822 1234"),
            vn("+842838221234", NumberType::FixedLine)
        );
        let number = parse("0912345678").unwrap();
        assert_eq!(number.country_code, 84);
    }

    #[test]
    fn a_foreign_number_keeps_its_country() {
        assert_eq!(
            kind("+44 7400 123456"),
            Some((
                "+447400123456".into(),
                Some("GB".into()),
                NumberType::Mobile
            ))
        );
        assert_eq!(
            kind("+1 415 555 0100"),
            Some((
                "+14155550100".into(),
                Some("US".into()),
                NumberType::FixedLineOrMobile
            ))
        );
        // +1 is shared: the area code tells the region.
        assert_eq!(
            parse("+1 268 464 1234").and_then(|n| n.region).as_deref(),
            Some("AG")
        );
        let china = parse("+86 138 0013 8000").unwrap();
        assert_eq!((china.country_code, china.kind), (86, NumberType::Mobile));
    }

    #[test]
    fn premium_rate_and_service_numbers_are_refused_by_type_not_by_length() {
        for (s, e164, region, kind) in [
            (
                "1900 1234",
                "+8419001234",
                Some("VN"),
                NumberType::PremiumRate,
            ),
            (
                "1900 123 456",
                "+841900123456",
                Some("VN"),
                NumberType::PremiumRate,
            ),
            (
                "+44 909 876 5432",
                "+449098765432",
                Some("GB"),
                NumberType::PremiumRate,
            ),
            (
                "+1 900 555 1234",
                "+19005551234",
                Some("US"),
                NumberType::PremiumRate,
            ),
            (
                "+44 845 464 1234",
                "+448454641234",
                Some("GB"),
                NumberType::PremiumRate,
            ),
            ("1800 1234", "+8418001234", Some("VN"), NumberType::TollFree),
            ("+800 1234 5678", "+80012345678", None, NumberType::TollFree),
            (
                "+44 70 1234 5678",
                "+447012345678",
                Some("GB"),
                NumberType::PersonalNumber,
            ),
            ("+84 69 123456", "+8469123456", Some("VN"), NumberType::Uan),
        ] {
            let number = parse(s).unwrap_or_else(|| panic!("{s} is a valid number"));
            assert_eq!(
                (number.e164.as_str(), number.region.as_deref(), number.kind),
                (e164, region, kind),
                "{s}"
            );
            assert!(!number.kind.receives_messages(), "{s}");
        }
        // A UK mobile has the same length as the premium-rate number above.
        assert!(parse("+44 7400 123456").unwrap().kind.receives_messages());
        assert!(
            parse("+84 672 012 345").unwrap().kind.receives_messages(),
            "VoIP"
        );
        assert!(
            parse("024 3826 1234").unwrap().kind.receives_messages(),
            "fixed line"
        );
    }

    #[test]
    fn garbage_is_not_a_number() {
        for s in [
            "",
            "abc",
            "12345",
            "0123",
            "091234567x",
            "+",
            // No Vietnamese range starts with 06.
            "0612345678",
            // Right lengths, no range: the old heuristics took any + number of 8 to 15 digits.
            "+849123456789",
            "+8491234567",
            "+882 1234 567890",
            // libphonenumber would read these (keypad letters, a number inside text, an
            // extension); a phone field holds a number only.
            "1-800-FLOWERS",
            "call 0912345678",
            "0912345678 ext 12",
            "tel:+84912345678",
            "0912345678 0912345678",
        ] {
            assert_eq!(normalize_vn(s), None, "{s}");
        }
    }

    /// Known limitation of `phonenumber` 0.3.10: a national number that keeps its leading zero
    /// internationally (Italian landlines, +39 06 …) loses it while parsing, so it is found
    /// invalid and refused. Italian mobiles (+39 3xx) are unaffected.
    #[test]
    fn italian_landlines_are_refused_by_the_crate_and_mobiles_are_not() {
        assert_eq!(normalize_vn("+39 06 1234 5678"), None);
        assert_eq!(
            normalize_vn("+39 312 345 6789").as_deref(),
            Some("+393123456789")
        );
    }

    #[test]
    fn regions_are_the_ones_libphonenumber_knows_in_capitals() {
        for code in ["VN", "US", "GB", "SG", "AC"] {
            assert!(is_known_region(code), "{code}");
        }
        for code in ["vn", "UK", "EU", "XX", "001", "", "VNM"] {
            assert!(!is_known_region(code), "{code}");
        }
    }

    proptest! {
        #[test]
        fn every_spelling_of_a_mobile_number_normalises_alike(
            // Vietnam's mobile ranges as libphonenumber knows them (the old heuristics took any
            // 9 digits after 3, 5, 7, 8 or 9; 30x, 51x or 89x are not allocated).
            prefix in "3[0-9]|5[689]|7[06-9]|8[1-8]|9[0-8]",
            rest in "[0-9]{7}",
        ) {
            let national = format!("{prefix}{rest}");
            let want = format!("+84{national}");
            for spelling in [format!("0{national}"), format!("+84{national}"), format!("84{national}")] {
                let number = parse(&spelling);
                prop_assert_eq!(number.as_ref().map(|n| n.e164.clone()), Some(want.clone()));
                prop_assert_eq!(number.map(|n| n.kind), Some(NumberType::Mobile));
            }
        }

        #[test]
        fn normalising_is_idempotent(s in "\\+?[0-9 .-]{0,16}") {
            if let Some(once) = normalize_vn(&s) {
                prop_assert_eq!(normalize_vn(&once), Some(once.clone()));
            }
        }
    }
}
