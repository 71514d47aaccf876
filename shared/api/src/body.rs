//! Request parsing with clear 4xx answers: strict JSON bodies (size, media type, unknown fields,
//! wrong types, each named by its path), query strings, path ids and If-Match revisions.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use serde::de::DeserializeOwned;

use crate::documented;
use crate::problem::ApiError;

/// Largest accepted body: a workflow with 20 actions and long templates fits well within it.
pub const BODY_LIMIT: usize = 256 * 1024;

/// A bulk import's largest body: the Lambda payload's limit leaves room for the rest of the
/// request; 1,000 records of about 2 KB each.
pub const IMPORT_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// A JSON body deserialised strictly, of at most `LIMIT` bytes.
pub struct ApiJson<T, const LIMIT: usize = BODY_LIMIT>(pub T);

impl<T: DeserializeOwned, S: Send + Sync, const LIMIT: usize> FromRequest<S> for ApiJson<T, LIMIT> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                let essence = v.split(';').next().unwrap_or("").trim();
                essence.eq_ignore_ascii_case("application/json")
            });
        if !json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map(|p| (req.method().to_string(), p.as_str().to_owned()));
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::PayloadTooLarge { limit: LIMIT })?;
        if bytes.len() > LIMIT {
            return Err(ApiError::PayloadTooLarge { limit: LIMIT });
        }
        parse_json(&bytes)
            .map(ApiJson)
            .map_err(|refusal| match (&refusal, route) {
                (ApiError::Invalid(_), Some((method, route))) => {
                    match serde_json::from_slice::<serde_json::Value>(&bytes) {
                        Ok(value) => {
                            documented(refusal, documented::route_problems(&method, &route, &value))
                        }
                        Err(_) => refusal,
                    }
                }
                _ => refusal,
            })
    }
}

/// A refusal of serde's (the first misfit it met) replaced by everything the documented schema
/// finds wrong, each at its member, when the schema finds something.
fn documented(refusal: ApiError, problems: crm_model::validation::Problems) -> ApiError {
    if problems.is_empty() {
        refusal
    } else {
        ApiError::Invalid(problems)
    }
}

/// [`from_value`], with every problem the component schema `schema` of the OpenAPI documents
/// finds when the value does not fit.
pub fn from_value_documented<T: DeserializeOwned>(
    value: serde_json::Value,
    schema: &str,
) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(&value).map_err(|error| {
        documented(
            misfit(&error),
            documented::component_problems(schema, &value),
        )
    })
}

/// Parses JSON, telling a syntax error (400) from content that does not fit (422, with path).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let inner = error.inner();
        if inner.is_syntax() || inner.is_eof() || inner.is_io() {
            ApiError::MalformedJson(inner.to_string())
        } else {
            misfit(&error)
        }
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    Ok(value)
}

/// Deserialises an already-parsed JSON value, naming the path of what does not fit (422).
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|error| misfit(&error))
}

/// Content that does not fit, at the pointer of the member serde stopped at, in JSON's words.
fn misfit(error: &serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = pointer(&error.path().to_string());
    ApiError::invalid_field(
        path,
        plain_words(&strip_position(&error.inner().to_string())),
    )
}

/// Takes an optional `id` member out of a JSON object body (creation with a chosen id).
pub fn take_id(body: &mut serde_json::Value) -> Result<Option<String>, ApiError> {
    match body.as_object_mut().and_then(|o| o.remove("id")) {
        None => Ok(None),
        Some(serde_json::Value::String(id)) => Ok(Some(id)),
        Some(_) => Err(ApiError::invalid_field("/id", "expected a string")),
    }
}

/// serde_path_to_error writes `actions[2].name`; problems use JSON pointers `/actions/2/name`.
fn pointer(path: &str) -> String {
    if path == "." || path.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    for segment in path.split('.') {
        let mut rest = segment;
        while let Some(open) = rest.find('[') {
            let (name, tail) = rest.split_at(open);
            if !name.is_empty() {
                out.push('/');
                out.push_str(name);
            }
            let close = tail.find(']').unwrap_or(tail.len());
            out.push('/');
            out.push_str(&tail[1..close]);
            rest = tail.get(close + 1..).unwrap_or("");
        }
        if !rest.is_empty() {
            out.push('/');
            out.push_str(rest);
        }
    }
    out
}

/// serde names what it expected in Rust's words (`expected struct FieldPath`, `expected u32`);
/// people read JSON's.
fn plain_words(message: &str) -> String {
    const WORDS: [(&str, &str); 14] = [
        ("expected a sequence", "expected a list"),
        ("expected a map", "expected an object"),
        ("expected a borrowed string", "expected a text (string)"),
        ("expected a string", "expected a text (string)"),
        ("expected a boolean", "expected true or false"),
        ("expected u8", "expected a whole number"),
        ("expected u16", "expected a whole number"),
        ("expected u32", "expected a whole number"),
        ("expected u64", "expected a whole number"),
        ("expected i32", "expected a whole number"),
        ("expected i64", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("invalid type: sequence", "invalid type: a list"),
        ("invalid type: map", "invalid type: an object"),
    ];
    let mut text = message.to_owned();
    for (rust, json) in WORDS {
        text = text.replace(rust, json);
    }
    // `expected struct FieldPath`, `expected enum Trigger`, `expected struct variant …`
    for kind in [
        "struct variant ",
        "tuple variant ",
        "struct ",
        "enum ",
        "tuple struct ",
    ] {
        while let Some(at) = text.find(&format!("expected {kind}")) {
            let start = at + "expected ".len();
            let end = text[start + kind.len()..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .map_or(text.len(), |i| start + kind.len() + i);
            let shape = if kind.starts_with("enum") {
                "one of the kinds this member takes"
            } else {
                "an object"
            };
            text.replace_range(start..end, shape);
        }
    }
    text
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// A query string parsed into `T`, with a 422 naming the parameter on failure.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or("")).map(ApiQuery)
    }
}

/// A query string into `T`; what does not fit is named at `/query/<parameter>`.
fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let pairs = form_urlencoded::parse(query.as_bytes());
    serde_path_to_error::deserialize(serde_urlencoded::Deserializer::new(pairs)).map_err(|error| {
        let parameter = error.path().to_string();
        let message = plain_words(&error.inner().to_string());
        if parameter == "." || parameter.is_empty() {
            ApiError::invalid_field("/query", message)
        } else {
            let message = match message.as_str() {
                "invalid digit found in string" | "cannot parse integer from empty string" => {
                    "expected a whole number".to_owned()
                }
                _ => message,
            };
            ApiError::invalid_field(format!("/query/{parameter}"), message)
        }
    })
}

/// The revision an `If-Match: "<n>"` header names, if any.
pub fn if_match(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse().ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::invalid_field(
                "/headers/If-Match",
                "expected an ETag this API returned, like \"3\"",
            )
        })
}

/// The ETag of a revision.
pub fn etag(revision: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{revision}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// The page size of a listing when the query gives none.
pub fn default_limit() -> u32 {
    25
}

/// A listing's page from its `limit` (1 to 100, 422 at `/query/limit` otherwise) and `cursor`.
pub fn page_request(
    limit: u32,
    cursor: Option<String>,
) -> Result<crm_model::ports::PageRequest, ApiError> {
    use crm_model::ports::PageRequest;
    if !(1..=PageRequest::MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid_field(
            "/query/limit",
            format!("1 to {}", PageRequest::MAX_LIMIT),
        ));
    }
    Ok(PageRequest { limit, cursor })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_are_told_in_json_words() {
        assert_eq!(
            plain_words("invalid type: string \"x\", expected struct FieldPath"),
            "invalid type: string \"x\", expected an object"
        );
        assert_eq!(
            plain_words("invalid type: integer `8`, expected u32"),
            "invalid type: integer `8`, expected a whole number"
        );
        assert_eq!(
            plain_words("invalid type: map, expected enum Trigger"),
            "invalid type: an object, expected one of the kinds this member takes"
        );
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Listing {
        limit: Option<u32>,
        days: Option<u32>,
    }

    #[test]
    fn a_query_parameter_that_does_not_fit_is_named() {
        match parse_query::<Listing>("limit=10&days=ten") {
            Err(ApiError::Invalid(p)) => {
                assert!(p.has("/query/days"), "{p}");
                assert!(p.to_string().contains("whole number"), "{p}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_query::<Listing>("colour=red"),
            Err(ApiError::Invalid(_))
        ));
        assert!(parse_query::<Listing>("limit=5").is_ok());
    }

    #[test]
    fn paths_become_json_pointers() {
        assert_eq!(pointer("actions[2].name"), "/actions/2/name");
        assert_eq!(pointer("trigger.date_field"), "/trigger/date_field");
        assert_eq!(pointer("."), "");
        assert_eq!(pointer("a[0][1]"), "/a/0/1");
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Thing {
        name: String,
        items: Vec<u32>,
    }

    #[test]
    fn syntax_errors_and_misfits_are_told_apart() {
        assert!(matches!(
            parse_json::<Thing>(b"{\"name\": "),
            Err(ApiError::MalformedJson(_))
        ));
        match parse_json::<Thing>(br#"{"name": "x", "items": [1, "two"]}"#) {
            Err(ApiError::Invalid(p)) => assert!(p.has("/items/1"), "{p}"),
            other => panic!("{other:?}"),
        }
        match parse_json::<Thing>(br#"{"name": "x", "items": [], "colour": 1}"#) {
            Err(ApiError::Invalid(p)) => {
                assert!(p.as_slice()[0].message.contains("colour"))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_json::<Thing>(br#"{"name": "x", "items": []} trailing"#),
            Err(ApiError::MalformedJson(_))
        ));
    }

    #[test]
    fn if_match_reads_quoted_revisions() {
        let mut headers = HeaderMap::new();
        assert_eq!(if_match(&headers).unwrap(), None);
        headers.insert(header::IF_MATCH, HeaderValue::from_static("\"7\""));
        assert_eq!(if_match(&headers).unwrap(), Some(7));
        headers.insert(header::IF_MATCH, HeaderValue::from_static("*x"));
        assert!(if_match(&headers).is_err());
    }
}
