//! Opaque page cursors: the LastEvaluatedKey of a Query, hex-encoded JSON of its string
//! attributes, checked on the way back in to belong to the caller's tenant.

use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::BTreeMap;

use super::Item;
use crm_model::ports::StoreError;

pub(crate) fn encode(last_key: Option<&Item>) -> Option<String> {
    let key = last_key?;
    let strings: BTreeMap<&str, &str> = key
        .iter()
        .filter_map(|(k, v)| v.as_s().ok().map(|s| (k.as_str(), s.as_str())))
        .collect();
    let json = serde_json::to_vec(&strings).ok()?;
    Some(json.iter().map(|b| format!("{b:02x}")).collect())
}

/// The start key a cursor names, which must lie in partition `pk_attr = pk_value`.
pub(crate) fn decode(cursor: &str, pk_attr: &str, pk_value: &str) -> Result<Item, StoreError> {
    if !cursor.is_ascii() || cursor.len() % 2 != 0 || cursor.len() > 4096 {
        return Err(StoreError::BadCursor);
    }
    let bytes = (0..cursor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&cursor[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| StoreError::BadCursor)?;
    let strings: BTreeMap<String, String> =
        serde_json::from_slice(&bytes).map_err(|_| StoreError::BadCursor)?;
    if strings.get(pk_attr).map(String::as_str) != Some(pk_value) {
        return Err(StoreError::BadCursor);
    }
    Ok(strings
        .into_iter()
        .map(|(k, v)| (k, AttributeValue::S(v)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_stay_in_their_partition() {
        let key: Item = [
            ("pk".to_owned(), AttributeValue::S("T#a".into())),
            ("sk".to_owned(), AttributeValue::S("WF#1".into())),
        ]
        .into();
        let cursor = encode(Some(&key)).unwrap();
        assert_eq!(decode(&cursor, "pk", "T#a").unwrap(), key);
        assert!(matches!(
            decode(&cursor, "pk", "T#b"),
            Err(StoreError::BadCursor)
        ));
        assert!(matches!(
            decode("zz", "pk", "T#a"),
            Err(StoreError::BadCursor)
        ));
        assert_eq!(encode(None), None);
    }
}
