//! What SAM adds to a function's role: its policy templates (the ones this project may use,
//! expanded as SAM's policy_templates.json does) and the grants of its event sources. Anything
//! else is refused rather than guessed.

use yaml_serde::Value;

use super::policy::{Effect, Statement};
use super::template::{Template, TemplateError, invalid, unsupported};

const DYNAMODB_READ: &[&str] = &[
    "dynamodb:GetItem",
    "dynamodb:Scan",
    "dynamodb:Query",
    "dynamodb:BatchGetItem",
    "dynamodb:DescribeTable",
];
const DYNAMODB_WRITE: &[&str] = &[
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:BatchWriteItem",
];
const DYNAMODB_CRUD_EXTRA: &[&str] = &["dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"];
const SQS_POLL: &[&str] = &[
    "sqs:ChangeMessageVisibility",
    "sqs:ChangeMessageVisibilityBatch",
    "sqs:DeleteMessage",
    "sqs:DeleteMessageBatch",
    "sqs:GetQueueAttributes",
    "sqs:ReceiveMessage",
];

fn allow(origin: &str, actions: &[&str], resources: Vec<String>) -> Statement {
    Statement {
        origin: origin.to_owned(),
        effect: Effect::Allow,
        actions: actions.iter().map(|a| (*a).to_owned()).collect(),
        resources,
    }
}

/// The statements of SAM policy template `name` with `parameters`.
pub(super) fn policy_template(
    template: &Template,
    name: &str,
    parameters: &Value,
    at: &str,
) -> Result<Vec<Statement>, TemplateError> {
    let parameter = |key: &str| -> Result<String, TemplateError> {
        let value = parameters
            .as_mapping()
            .and_then(|m| m.get(key))
            .ok_or_else(|| invalid(at, format!("{name} needs {key}")))?;
        template.resolve(value, &format!("{at}.{key}"))
    };
    let d = template.deployment();
    let table = |key: &str| -> Result<Vec<String>, TemplateError> {
        let arn = d.arn("dynamodb", &format!("table/{}", parameter(key)?));
        Ok(vec![format!("{arn}/index/*"), arn])
    };
    let statements = match name {
        "DynamoDBReadPolicy" => vec![allow(name, DYNAMODB_READ, table("TableName")?)],
        "DynamoDBWritePolicy" => vec![allow(name, DYNAMODB_WRITE, table("TableName")?)],
        "DynamoDBCrudPolicy" => {
            let actions: Vec<&str> = [DYNAMODB_READ, DYNAMODB_WRITE, DYNAMODB_CRUD_EXTRA].concat();
            vec![allow(name, &actions, table("TableName")?)]
        }
        "DynamoDBStreamReadPolicy" => {
            let streams = d.arn(
                "dynamodb",
                &format!("table/{}/stream", parameter("TableName")?),
            );
            vec![
                allow(
                    name,
                    &[
                        "dynamodb:DescribeStream",
                        "dynamodb:GetRecords",
                        "dynamodb:GetShardIterator",
                    ],
                    vec![format!("{streams}/{}", parameter("StreamName")?)],
                ),
                allow(
                    name,
                    &["dynamodb:ListStreams"],
                    vec![format!("{streams}/*")],
                ),
            ]
        }
        "SQSPollerPolicy" => vec![allow(
            name,
            SQS_POLL,
            vec![d.arn("sqs", &parameter("QueueName")?)],
        )],
        "SQSSendMessagePolicy" => vec![allow(
            name,
            &["sqs:SendMessage*"],
            vec![d.arn("sqs", &parameter("QueueName")?)],
        )],
        "SNSPublishMessagePolicy" => vec![allow(
            name,
            &["sns:Publish"],
            vec![d.arn("sns", &parameter("TopicName")?)],
        )],
        "EventBridgePutEventsPolicy" => vec![allow(
            name,
            &["events:PutEvents"],
            vec![d.arn(
                "events",
                &format!("event-bus/{}", parameter("EventBusName")?),
            )],
        )],
        "SESCrudPolicy" => vec![allow(
            name,
            &[
                "ses:GetIdentityVerificationAttributes",
                "ses:SendEmail",
                "ses:SendRawEmail",
                "ses:VerifyEmailIdentity",
            ],
            vec![d.arn("ses", &format!("identity/{}", parameter("IdentityName")?))],
        )],
        "AWSSecretsManagerGetSecretValuePolicy" => vec![allow(
            name,
            &["secretsmanager:GetSecretValue"],
            vec![parameter("SecretArn")?],
        )],
        other => return Err(unsupported(at, format!("SAM policy template {other}"))),
    };
    Ok(statements)
}

/// What an event source lets the function's role do. SAM grants Lambda's pollers the reads of
/// an SQS queue or a stream, and sends to an on-failure destination; the audit scopes them to
/// that queue or stream (SAM's managed policies say `*`), so that they never hide a call the
/// code itself makes on another resource.
pub(super) fn event_source(
    template: &Template,
    name: &str,
    event: &Value,
    at: &str,
) -> Result<Vec<Statement>, TemplateError> {
    let origin = format!("event source {name}");
    let property = |key: &str| -> Result<String, TemplateError> {
        let value = event
            .get("Properties")
            .and_then(|p| p.get(key))
            .ok_or_else(|| invalid(at, format!("no Properties.{key}")))?;
        template.resolve(value, &format!("{at}.Properties.{key}"))
    };
    let mut statements = match event.get("Type").and_then(Value::as_str) {
        Some("SQS") => vec![allow(
            &origin,
            &[
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
            ],
            vec![property("Queue")?],
        )],
        Some("DynamoDB") => vec![allow(
            &origin,
            &[
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
                "dynamodb:ListStreams",
            ],
            vec![property("Stream")?],
        )],
        // Schedules and HTTP APIs invoke the function; they grant its role nothing.
        _ => Vec::new(),
    };
    let on_failure = event
        .get("Properties")
        .and_then(|p| p.get("DestinationConfig"))
        .and_then(|d| d.get("OnFailure"));
    if let Some(destination) = on_failure {
        let target = destination
            .get("Destination")
            .ok_or_else(|| invalid(at, "OnFailure without Destination"))?;
        let target = template.resolve(target, &format!("{at}.DestinationConfig"))?;
        let action = match destination.get("Type").and_then(Value::as_str) {
            Some("SQS") => "sqs:SendMessage",
            Some("SNS") => "sns:Publish",
            other => {
                return Err(unsupported(
                    at,
                    format!("an on-failure destination of type {other:?}"),
                ));
            }
        };
        statements.push(allow(
            &format!("{origin} on-failure destination"),
            &[action],
            vec![target],
        ));
    }
    Ok(statements)
}
