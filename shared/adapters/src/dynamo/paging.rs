//! Opaque page cursors: the LastEvaluatedKey of a Query, hex-encoded JSON of its string
//! attributes, checked on the way back in to belong to the caller's tenant and to the listing
//! it came from (a start key outside the query's key condition is a ValidationException from
//! DynamoDB, which would read as an outage).

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

/// Where a listing's cursors must point: its partition, and the sort-key prefix of its key
/// condition when it has one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope<'a> {
    pub partition: (&'a str, &'a str),
    pub sort_prefix: Option<(&'a str, &'a str)>,
}

impl<'a> Scope<'a> {
    pub fn partition(attr: &'a str, value: &'a str) -> Self {
        Self {
            partition: (attr, value),
            sort_prefix: None,
        }
    }

    pub fn prefixed(self, attr: &'a str, prefix: &'a str) -> Self {
        Self {
            sort_prefix: Some((attr, prefix)),
            ..self
        }
    }
}

/// The start key a cursor names, which must lie in the listing's `scope`.
pub(crate) fn decode(cursor: &str, scope: Scope<'_>) -> Result<Item, StoreError> {
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
    let (pk_attr, pk_value) = scope.partition;
    if strings.get(pk_attr).map(String::as_str) != Some(pk_value) {
        return Err(StoreError::BadCursor);
    }
    if let Some((sk_attr, prefix)) = scope.sort_prefix {
        if !strings
            .get(sk_attr)
            .is_some_and(|sk| sk.starts_with(prefix))
        {
            return Err(StoreError::BadCursor);
        }
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
        let tenant = Scope::partition("pk", "T#a");
        assert_eq!(decode(&cursor, tenant).unwrap(), key);
        assert_eq!(decode(&cursor, tenant.prefixed("sk", "WF#")).unwrap(), key);
        let refused = [
            decode(&cursor, Scope::partition("pk", "T#b")),
            decode(&cursor, tenant.prefixed("sk", "SET#")),
            decode("zz", tenant),
        ];
        for result in refused {
            assert!(matches!(result, Err(StoreError::BadCursor)), "{result:?}");
        }
        assert_eq!(encode(None), None);
    }
}
