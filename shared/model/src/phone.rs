//! Phone numbers: Vietnamese numbers written as 0xxx, +84xxx or 84xxx are the same number.

/// The E.164 form (`+84912345678`) of a phone number, or `None` when it is not one.
/// Spaces, dots, dashes and parentheses are ignored. Numbers with another country code keep it.
pub fn normalize_vn(input: &str) -> Option<String> {
    let mut digits = String::with_capacity(16);
    let mut plus = false;
    for (i, c) in input.trim().chars().enumerate() {
        match c {
            '+' if i == 0 => plus = true,
            '0'..='9' => digits.push(c),
            ' ' | '.' | '-' | '(' | ')' => {}
            _ => return None,
        }
    }
    let national = if let Some(rest) = digits
        .strip_prefix("84")
        .filter(|_| plus || digits.len() >= 11)
    {
        rest.trim_start_matches('0').to_owned()
    } else if plus {
        // Another country: keep it as written, if it is a plausible E.164 number.
        return (8..=15)
            .contains(&digits.len())
            .then(|| format!("+{digits}"));
    } else if let Some(rest) = digits.strip_prefix('0') {
        rest.to_owned()
    } else {
        return None;
    };
    // Mobile numbers have 9 significant digits, landlines 10 (2xx area codes).
    let valid = match national.len() {
        9 => national.starts_with(['3', '5', '7', '8', '9']),
        10 => national.starts_with('2'),
        _ => false,
    };
    valid.then(|| format!("+84{national}"))
}

#[cfg(test)]
mod tests {
    use super::normalize_vn;
    use proptest::prelude::*;

    #[test]
    fn the_three_vietnamese_spellings_are_one_number() {
        for s in [
            "0912345678",
            "+84912345678",
            "84912345678",
            "0912 345 678",
            "+84 (0)912-345-678",
            "091.234.5678",
        ] {
            assert_eq!(normalize_vn(s).as_deref(), Some("+84912345678"), "{s}");
        }
    }

    #[test]
    fn landlines_and_foreign_numbers() {
        assert_eq!(
            normalize_vn("024 3826 1234").as_deref(),
            Some("+842438261234")
        );
        assert_eq!(
            normalize_vn("+1 415 555 0100").as_deref(),
            Some("+14155550100")
        );
    }

    #[test]
    fn garbage_is_not_a_number() {
        for s in ["", "abc", "12345", "0123", "091234567x", "+", "0612345678"] {
            assert_eq!(normalize_vn(s), None, "{s}");
        }
    }

    proptest! {
        #[test]
        fn every_spelling_of_a_mobile_number_normalises_alike(prefix in "[35789]", rest in "[0-9]{8}") {
            let national = format!("{prefix}{rest}");
            let want = format!("+84{national}");
            for spelling in [format!("0{national}"), format!("+84{national}"), format!("84{national}")] {
                prop_assert_eq!(normalize_vn(&spelling), Some(want.clone()));
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
