//! A body that does not fit, explained by the schema the OpenAPI documents give for it: every
//! problem at once, each at the exact member (`/trigger/time_of_day`, not `/trigger`), in plain
//! words. Deserialisation stays the authority on what is accepted: this runs only once serde has
//! refused a body, to say everything that is wrong with it rather than the first thing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{Draft, JsonType, ValidationError, Validator};
use serde_json::Value;

use crm_model::validation::Problems;

/// The two documents, as shipped beside the code they describe.
fn documents() -> &'static [Value; 2] {
    static DOCS: OnceLock<[Value; 2]> = OnceLock::new();
    DOCS.get_or_init(|| {
        let parse = |text: &str| serde_json::from_str(text).unwrap_or(Value::Null);
        [
            parse(include_str!("../../../docs/openapi/workflow-api.json")),
            parse(include_str!("../../../docs/openapi/records-api.json")),
        ]
    })
}

/// The request body schema of a route (`POST`, `/workflows/{id}`), with its document's
/// components beside it so that its references resolve.
fn route_schema(method: &str, route: &str) -> Option<Value> {
    let method = method.to_ascii_lowercase();
    documents().iter().find_map(|doc| {
        let schema = doc
            .pointer(&format!(
                "/paths/{}/{method}/requestBody/content/application~1json/schema",
                route.replace('~', "~0").replace('/', "~1")
            ))?
            .clone();
        Some(with_components(doc, schema))
    })
}

/// A component schema by name (`WorkflowDefinition`), from whichever document has it.
fn component_schema(name: &str) -> Option<Value> {
    documents().iter().find_map(|doc| {
        doc.pointer(&format!("/components/schemas/{name}"))?;
        let reference = serde_json::json!({ "$ref": format!("#/components/schemas/{name}") });
        Some(with_components(doc, reference))
    })
}

fn with_components(doc: &Value, schema: Value) -> Value {
    serde_json::json!({ "allOf": [schema], "components": doc["components"].clone() })
}

fn validator(key: String, schema: impl FnOnce() -> Option<Value>) -> Option<Arc<Validator>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Arc<Validator>>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(found) = cache.lock().ok()?.get(&key) {
        return found.clone();
    }
    let built = schema().and_then(|schema| {
        jsonschema::options()
            .with_draft(Draft::Draft202012)
            .build(&schema)
            .map_err(|error| tracing::warn!(%error, %key, "documented schema does not compile"))
            .ok()
            .map(Arc::new)
    });
    cache.lock().ok()?.insert(key, built.clone());
    built
}

/// What the route's documented body schema finds wrong with `body` (empty when nothing).
pub fn route_problems(method: &str, route: &str, body: &Value) -> Problems {
    let key = format!("{method} {route}");
    validator(key, || route_schema(method, route))
        .map_or_else(Problems::default, |v| explain(&v, body))
}

/// What the component schema `name` finds wrong with `body` (empty when nothing).
pub fn component_problems(name: &str, body: &Value) -> Problems {
    validator(format!("#{name}"), || component_schema(name))
        .map_or_else(Problems::default, |v| explain(&v, body))
}

/// At most this many problems are told: enough to fix a form, never a body's worth.
const MAX_PROBLEMS: usize = 50;

fn explain(validator: &Validator, body: &Value) -> Problems {
    let mut problems = Problems::default();
    for error in validator.iter_errors(body).take(MAX_PROBLEMS) {
        describe(&error, &mut problems);
    }
    problems
}

/// One validation error as problems at members, in words.
fn describe(error: &ValidationError<'_>, problems: &mut Problems) {
    let at = error.instance_path().as_str().to_owned();
    match error.kind() {
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            problems.push(format!("{at}/{}", escape(name)), "required");
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            for name in unexpected {
                problems.push(
                    format!("{at}/{}", escape(name)),
                    format!(
                        "unknown member \"{name}\" (a misspelling, or a member of another kind)"
                    ),
                );
            }
        }
        ValidationErrorKind::OneOfNotValid { context } => {
            if let Some((tag, allowed)) = unknown_tag(&at, context) {
                let listed: Vec<String> = allowed.iter().map(Value::to_string).collect();
                problems.push(tag, format!("expected one of {}", listed.join(", ")));
                return;
            }
            match likeliest_branch(&at, context) {
                Some(branch) => branch.iter().for_each(|e| describe(e, problems)),
                None => problems.push(at.clone(), expected_of_branches(&at, context)),
            }
        }
        ValidationErrorKind::AnyOf { .. } => {
            problems.push(at, "does not match any of the shapes this member takes")
        }
        ValidationErrorKind::MinLength { limit } => {
            problems.push(at, format!("at least {limit} characters"))
        }
        ValidationErrorKind::MaxLength { limit } => {
            problems.push(at, format!("at most {limit} characters"))
        }
        ValidationErrorKind::MinItems { limit } => {
            problems.push(at, format!("at least {limit} items"))
        }
        ValidationErrorKind::MaxItems { limit } => {
            problems.push(at, format!("at most {limit} items"))
        }
        ValidationErrorKind::Type { kind } => problems.push(at, expected_type(kind)),
        ValidationErrorKind::Enum { options } => problems.push(at, one_of(options)),
        ValidationErrorKind::Constant { expected_value } => {
            problems.push(at, format!("expected {expected_value}"))
        }
        ValidationErrorKind::Pattern { .. } => problems.push(at, "not in the expected form"),
        // jsonschema's own words, with the offending value left out (it may be the whole body).
        _ => problems.push(at, error.masked().to_string()),
    }
}

/// Every branch of a tagged `oneOf` refused the tag (`"type": "tme"`): the tag's member and
/// the values the branches take.
fn unknown_tag(
    at: &str,
    branches: &[Vec<ValidationError<'static>>],
) -> Option<(String, Vec<Value>)> {
    let mut tag = None;
    let mut allowed = Vec::new();
    for branch in branches {
        let refusal = branch.iter().find_map(|e| match e.kind() {
            ValidationErrorKind::Constant { expected_value } => {
                let path = e.instance_path().as_str();
                (path.rsplit_once('/').map(|(parent, _)| parent) == Some(at))
                    .then(|| (path.to_owned(), expected_value.as_ref().clone()))
            }
            _ => None,
        })?;
        if tag.get_or_insert_with(|| refusal.0.clone()) != &refusal.0 {
            return None;
        }
        allowed.push(refusal.1);
    }
    tag.map(|tag| (tag, allowed))
}

/// The branch of a `oneOf` the body most likely meant: not one whose tag (`type`, `kind`)
/// differs or whose very type differs, then the one with the fewest problems.
fn likeliest_branch<'e>(
    at: &str,
    branches: &'e [Vec<ValidationError<'static>>],
) -> Option<&'e Vec<ValidationError<'static>>> {
    let misfit = |errors: &Vec<ValidationError<'static>>| {
        errors.iter().any(|e| {
            let path = e.instance_path().as_str();
            match e.kind() {
                ValidationErrorKind::Type { .. } => path == at,
                ValidationErrorKind::Constant { .. } => {
                    path.rsplit_once('/').map(|(p, _)| p) == Some(at)
                }
                _ => false,
            }
        })
    };
    let candidates: Vec<_> = branches.iter().filter(|b| !misfit(b)).collect();
    if candidates.is_empty() {
        return None;
    }
    candidates.into_iter().min_by_key(|b| b.len())
}

/// Every branch wants another type (`a text (string) or null`): the types they want, in words.
fn expected_of_branches(at: &str, branches: &[Vec<ValidationError<'static>>]) -> String {
    let mut words: Vec<&str> = Vec::new();
    for error in branches.iter().flatten() {
        if let ValidationErrorKind::Type { kind } = error.kind() {
            if error.instance_path().as_str() == at {
                for word in type_words(kind) {
                    if !words.contains(&word) {
                        words.push(word);
                    }
                }
            }
        }
    }
    if words.is_empty() {
        "does not match any of the shapes this member takes".to_owned()
    } else {
        format!("expected {}", words.join(" or "))
    }
}

fn expected_type(kind: &TypeKind) -> String {
    format!("expected {}", type_words(kind).join(" or "))
}

fn type_words(kind: &TypeKind) -> Vec<&'static str> {
    let word = |t: JsonType| match t {
        JsonType::Array => "a list",
        JsonType::Boolean => "true or false",
        JsonType::Integer => "a whole number",
        JsonType::Null => "null",
        JsonType::Number => "a number",
        JsonType::Object => "an object",
        JsonType::String => "a text (string)",
    };
    match kind {
        TypeKind::Single(t) => vec![word(*t)],
        TypeKind::Multiple(set) => set.iter().map(word).collect(),
    }
}

fn one_of(options: &Value) -> String {
    match options.as_array() {
        Some(values) => {
            let listed: Vec<String> = values.iter().map(Value::to_string).collect();
            format!("expected one of {}", listed.join(", "))
        }
        None => format!("expected one of {options}"),
    }
}

/// Escapes a member name as one JSON pointer segment.
fn escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_type_error_of_a_workflow_is_told_at_its_member() {
        let body = json!({
            "module": "Customer", "name": 7,
            "trigger": {"type": "time", "date_field": "Birthday", "recurrence": "yearly", "time_of_day": 8},
            "actions": [{"kind": "sms", "id": "a", "name": "s", "provider": "p", "template": "t",
                         "recipient_fields": ["Phone"]}]
        });
        let problems = component_problems("WorkflowDefinition", &body);
        assert!(problems.has("/name"), "{problems}");
        assert!(problems.has("/trigger/time_of_day"), "{problems}");
        assert!(problems.has("/actions/0/recipient_fields/0"), "{problems}");
        assert!(!problems.has("/trigger"), "{problems}");
        assert!(
            problems
                .to_string()
                .contains("expected a text (string) or null"),
            "{problems}"
        );
        let text = problems.to_string();
        for rust in ["struct", "u32", "FieldPath", "enum"] {
            assert!(!text.contains(rust), "{text}");
        }
    }

    #[test]
    fn an_unknown_tag_is_told_with_the_tags_there_are() {
        let body = json!({"module": "Customer", "name": "x",
            "trigger": {"type": "tme", "date_field": "Birthday", "recurrence": "yearly"}});
        let problems = component_problems("WorkflowDefinition", &body);
        assert!(problems.has("/trigger/type"), "{problems}");
        assert!(
            problems.to_string().contains("\"record_event\""),
            "{problems}"
        );
    }

    #[test]
    fn a_huge_body_is_told_a_bounded_number_of_problems() {
        let records: Vec<Value> = (0..5_000).map(|_| json!(1)).collect();
        let problems = route_problems("POST", "/imports/{module}", &json!({ "records": records }));
        assert!(!problems.is_empty());
        assert!(
            problems.to_string().len() < 20_000,
            "{}",
            problems.to_string().len()
        );
    }

    #[test]
    fn missing_and_unknown_members_are_pointed_at() {
        let body = json!({"module": "Customer", "trigger": {"type": "time", "recurrence": "yearly", "colour": 1}});
        let problems = component_problems("WorkflowDefinition", &body);
        assert!(problems.has("/name"), "{problems}");
        assert!(problems.has("/trigger/date_field"), "{problems}");
        assert!(problems.has("/trigger/colour"), "{problems}");
    }

    #[test]
    fn a_route_is_explained_by_its_documented_body() {
        let problems = route_problems("POST", "/workflows/{id}/runs/retry", &json!({"key": 5}));
        assert!(problems.has("/key"), "{problems}");
        assert!(route_problems("GET", "/workflows", &json!({})).is_empty());
        assert!(component_problems("NoSuchSchema", &json!({})).is_empty());
    }

    #[test]
    fn both_documents_compile() {
        for doc in documents() {
            assert!(doc.is_object(), "a document does not parse");
        }
        assert!(validator("#Record".into(), || component_schema("Record")).is_some());
    }
}
