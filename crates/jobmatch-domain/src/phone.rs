//! Phone numbers: normalisation of what returnees and employers type into E.164, the
//! one form the rest of the system stores and compares.

use phonenumber::country;

/// Why a phone number was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("phone number is empty")]
    Empty,
    #[error("not a valid phone number")]
    Invalid,
}

/// Normalises a phone number to E.164; numbers without a country code are read as
/// Cambodian (`012 345 678` -> `+85512345678`), Thai numbers with +66 accepted (as is
/// any other number written with its country code).
pub fn normalize_phone(input: &str) -> Result<String, PhoneError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(PhoneError::Empty);
    }
    let number =
        phonenumber::parse(Some(country::Id::KH), input).map_err(|_| PhoneError::Invalid)?;
    if !number.is_valid() {
        return Err(PhoneError::Invalid);
    }
    Ok(number.format().mode(phonenumber::Mode::E164).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cambodian_local_number_becomes_e164() {
        assert_eq!(
            normalize_phone("012 345 678").as_deref(),
            Ok("+85512345678")
        );
        assert_eq!(
            normalize_phone("012-345-678").as_deref(),
            Ok("+85512345678")
        );
        assert_eq!(
            normalize_phone(" 097 1234 567 ").as_deref(),
            Ok("+855971234567")
        );
    }

    #[test]
    fn cambodian_number_with_country_code_is_unchanged_in_meaning() {
        assert_eq!(
            normalize_phone("+855 12 345 678").as_deref(),
            Ok("+85512345678")
        );
        assert_eq!(
            normalize_phone("+85512345678").as_deref(),
            Ok("+85512345678")
        );
    }

    #[test]
    fn thai_mobile_with_plus_66_is_accepted() {
        assert_eq!(
            normalize_phone("+66 81 234 5678").as_deref(),
            Ok("+66812345678")
        );
    }

    #[test]
    fn empty_input_is_rejected_as_empty() {
        assert_eq!(normalize_phone("   "), Err(PhoneError::Empty));
    }

    #[test]
    fn garbage_and_impossible_numbers_are_rejected() {
        for input in ["hello", "12", "012 345", "+855 99 999 999 999 999"] {
            assert_eq!(normalize_phone(input), Err(PhoneError::Invalid), "{input}");
        }
    }

    #[test]
    fn error_messages_are_lowercase() {
        assert_eq!(PhoneError::Invalid.to_string(), "not a valid phone number");
        assert_eq!(PhoneError::Empty.to_string(), "phone number is empty");
    }
}
