//! What IAM authorizes for one serialized request: the actions it needs and the resources it
//! names. Read from the request the SDK sends (service, operation, body), not from the typed
//! input, so that a client of one more service needs no code here unless its requests name
//! their resources in fields not listed below.

use serde_json::Value;

/// A resource a request names, in the terms the template's statements use.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    /// A DynamoDB table, or one of its indexes: Query and Scan on an index are authorized on
    /// the index's own ARN (`…:table/<name>/index/<index>`), not the table's.
    Table {
        name: String,
        index: Option<String>,
    },
    EventBus {
        name: String,
    },
    /// An SQS queue, by name (the last segment of its URL).
    Queue {
        name: String,
    },
    /// The SES identity a message is sent from.
    EmailIdentity {
        identity: String,
    },
    /// A Secrets Manager secret, by name or ARN.
    Secret {
        id: String,
    },
    /// An S3 object, by bucket and key (as the request path names them, path-style).
    S3Object {
        bucket: String,
        key: String,
    },
    /// A resource the request names by its ARN (an SNS topic, a stream).
    Arn(String),
    /// An action IAM cannot scope to a resource (an SMS published straight to a phone number):
    /// only a statement with `Resource: "*"` allows it.
    Unscoped,
}

/// One action on one resource: the unit IAM allows or denies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Access {
    /// `prefix:Action` as IAM names it, e.g. `dynamodb:PutItem`.
    pub action: String,
    pub resource: Resource,
}

/// The IAM action prefix of an SDK service id (the service name the SDK's operation metadata
/// carries: `DynamoDB`, `SESv2`, `Secrets Manager`, …).
pub fn iam_prefix(service: &str) -> String {
    let id: String = service
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    match id.as_str() {
        "dynamodbstreams" => "dynamodb".to_owned(),
        "eventbridge" => "events".to_owned(),
        "sesv2" => "ses".to_owned(),
        _ => id,
    }
}

/// What an S3 request needs: its action (a HeadObject is a GetObject to IAM) on the object of
/// `bucket` its URI names (the path, as serialized: `/<key>?…`); a request naming no object is
/// unscoped.
pub fn s3_accesses(operation: &str, bucket: Option<&str>, uri: &str) -> Vec<Access> {
    let action = match operation {
        "HeadObject" => "GetObject",
        "CreateMultipartUpload" | "UploadPart" | "CompleteMultipartUpload" => "PutObject",
        other => other,
    };
    let path = uri
        .split_once("://")
        .map_or(uri, |(_, rest)| rest.find('/').map_or("", |at| &rest[at..]));
    let path = path
        .split('?')
        .next()
        .unwrap_or_default()
        .trim_start_matches('/');
    let resource = match bucket {
        Some(bucket) if !path.is_empty() => Resource::S3Object {
            bucket: bucket.to_owned(),
            key: path.to_owned(),
        },
        _ => Resource::Unscoped,
    };
    vec![Access {
        action: format!("s3:{action}"),
        resource,
    }]
}

/// Every access one request needs. A request whose body cannot be read still needs its action:
/// it is then taken as unscoped, which only `Resource: "*"` allows, so it shows up rather than
/// passing unseen.
pub fn accesses(service: &str, operation: &str, body: &[u8]) -> Vec<Access> {
    let prefix = iam_prefix(service);
    let json = || serde_json::from_slice::<Value>(body).unwrap_or(Value::Null);
    let mut found = match prefix.as_str() {
        "dynamodb" => dynamodb(operation, &json()),
        "events" => eventbridge(operation, &json()),
        "sqs" => sqs(operation, &json()),
        "sns" => sns(operation, body),
        "ses" => sesv2(operation, &json()),
        "secretsmanager" => secrets_manager(operation, &json()),
        _ => Vec::new(),
    };
    if found.is_empty() {
        found.push(Access {
            action: format!("{prefix}:{operation}"),
            resource: Resource::Unscoped,
        });
    }
    for access in &mut found {
        if !access.action.contains(':') {
            access.action = format!("{prefix}:{}", access.action);
        }
    }
    found.sort();
    found.dedup();
    found
}

fn table(action: &str, name: &str, index: Option<&str>) -> Access {
    Access {
        action: action.to_owned(),
        resource: Resource::Table {
            name: name.to_owned(),
            index: index.map(str::to_owned),
        },
    }
}

fn dynamodb(operation: &str, body: &Value) -> Vec<Access> {
    match operation {
        // IAM has no TransactWriteItems action: it authorizes each item as its own action.
        "TransactWriteItems" => {
            const KINDS: [(&str, &str); 4] = [
                ("Put", "PutItem"),
                ("Update", "UpdateItem"),
                ("Delete", "DeleteItem"),
                ("ConditionCheck", "ConditionCheckItem"),
            ];
            items(body, "TransactItems")
                .flat_map(|item| {
                    KINDS.iter().filter_map(move |(kind, action)| {
                        item[kind]["TableName"]
                            .as_str()
                            .map(|name| table(action, name, None))
                    })
                })
                .collect()
        }
        "TransactGetItems" => items(body, "TransactItems")
            .filter_map(|item| item["Get"]["TableName"].as_str())
            .map(|name| table("GetItem", name, None))
            .collect(),
        // Authorized per table the request names, under the batch action itself.
        "BatchGetItem" | "BatchWriteItem" => body["RequestItems"]
            .as_object()
            .into_iter()
            .flat_map(|tables| tables.keys())
            .map(|name| table(operation, name, None))
            .collect(),
        _ => match (body["TableName"].as_str(), body["StreamArn"].as_str()) {
            (Some(name), _) => vec![table(operation, name, body["IndexName"].as_str())],
            (None, Some(stream)) => vec![Access {
                action: operation.to_owned(),
                resource: Resource::Arn(stream.to_owned()),
            }],
            (None, None) => Vec::new(),
        },
    }
}

fn items<'a>(body: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    body[key].as_array().into_iter().flatten()
}

fn eventbridge(operation: &str, body: &Value) -> Vec<Access> {
    let bus = |name: Option<&str>| Access {
        action: operation.to_owned(),
        resource: Resource::EventBus {
            // An entry without a bus goes to the account's default bus.
            name: name.unwrap_or("default").to_owned(),
        },
    };
    match operation {
        "PutEvents" => items(body, "Entries")
            .map(|entry| bus(entry["EventBusName"].as_str()))
            .collect(),
        _ => body["EventBusName"]
            .as_str()
            .map(|name| vec![bus(Some(name))])
            .unwrap_or_default(),
    }
}

fn sqs(operation: &str, body: &Value) -> Vec<Access> {
    let name = body["QueueUrl"]
        .as_str()
        .and_then(|url| url.trim_end_matches('/').rsplit('/').next())
        .or(body["QueueName"].as_str());
    name.map(|name| {
        vec![Access {
            action: operation.to_owned(),
            resource: Resource::Queue {
                name: name.to_owned(),
            },
        }]
    })
    .unwrap_or_default()
}

/// SNS speaks the AWS query protocol: a form-encoded body.
fn sns(operation: &str, body: &[u8]) -> Vec<Access> {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let resource = match field("TopicArn").or_else(|| field("TargetArn")) {
        Some(arn) => Resource::Arn(arn),
        None if field("PhoneNumber").is_some() => Resource::Unscoped,
        None => return Vec::new(),
    };
    vec![Access {
        action: operation.to_owned(),
        resource,
    }]
}

/// SES v2 authorizes a send on the sender's identity. Raw content (a MIME message with
/// attachments) is authorized as `ses:SendRawEmail`, as the template's statement says.
fn sesv2(operation: &str, body: &Value) -> Vec<Access> {
    let action = if operation == "SendEmail" && !body["Content"]["Raw"].is_null() {
        "SendRawEmail"
    } else {
        operation
    };
    let resource = match (
        body["FromEmailAddressIdentityArn"].as_str(),
        body["FromEmailAddress"].as_str(),
    ) {
        (Some(arn), _) => Resource::Arn(arn.to_owned()),
        (None, Some(from)) => Resource::EmailIdentity {
            identity: bare_address(from).to_owned(),
        },
        (None, None) => return Vec::new(),
    };
    vec![Access {
        action: action.to_owned(),
        resource,
    }]
}

/// `"Name" <address>` or `=?UTF-8?B?…?= <address>` → `address`.
fn bare_address(mailbox: &str) -> &str {
    match (mailbox.rfind('<'), mailbox.rfind('>')) {
        (Some(open), Some(close)) if open < close => mailbox[open + 1..close].trim(),
        _ => mailbox.trim(),
    }
}

fn secrets_manager(operation: &str, body: &Value) -> Vec<Access> {
    // CreateSecret names the new secret `Name`; every other operation takes `SecretId`.
    body["SecretId"]
        .as_str()
        .or(body["Name"].as_str())
        .map(|id| {
            vec![Access {
                action: operation.to_owned(),
                resource: Resource::Secret { id: id.to_owned() },
            }]
        })
        .unwrap_or_default()
}
