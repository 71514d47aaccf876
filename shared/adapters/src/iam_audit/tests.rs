//! The audit's own checks, offline: request reading, IAM matching, the template's statements,
//! and that the real template refuses what it does not grant (so the emulator test can fail).

use super::*;

fn deployment() -> Deployment {
    Deployment {
        stack_name: "crm-local".into(),
        region: "us-east-1".into(),
        account: LOCAL_ACCOUNT.into(),
        partition: "aws".into(),
        aliases: Default::default(),
    }
}

fn project_template() -> Template {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");
    Template::load(path, deployment()).expect("template.yaml reads")
}

fn table(name: &str, index: Option<&str>) -> Resource {
    Resource::Table {
        name: name.into(),
        index: index.map(Into::into),
    }
}

fn call(operation: &str, action: &str, resource: Resource) -> AwsCall {
    AwsCall {
        service: "DynamoDB".into(),
        operation: operation.into(),
        accesses: vec![Access {
            action: action.into(),
            resource,
        }],
    }
}

#[test]
fn a_transaction_is_authorized_item_by_item_and_a_batch_table_by_table() {
    let body = br#"{"TransactItems": [
        {"Put": {"TableName": "runs", "Item": {}}},
        {"ConditionCheck": {"TableName": "records", "Key": {}}},
        {"Update": {"TableName": "runs", "Key": {}}},
        {"Delete": {"TableName": "records", "Key": {}}}]}"#;
    let found: Vec<(String, Resource)> = accesses("DynamoDB", "TransactWriteItems", body)
        .into_iter()
        .map(|a| (a.action, a.resource))
        .collect();
    assert_eq!(
        found,
        [
            ("dynamodb:ConditionCheckItem".into(), table("records", None)),
            ("dynamodb:DeleteItem".into(), table("records", None)),
            ("dynamodb:PutItem".into(), table("runs", None)),
            ("dynamodb:UpdateItem".into(), table("runs", None)),
        ]
    );
    let batch = br#"{"RequestItems": {"a": {"Keys": []}, "b": {"Keys": []}}}"#;
    assert_eq!(accesses("DynamoDB", "BatchGetItem", batch).len(), 2);
    let query = br#"{"TableName": "records", "IndexName": "gsi2"}"#;
    assert_eq!(
        accesses("DynamoDB", "Query", query)[0].resource,
        table("records", Some("gsi2"))
    );
}

#[test]
fn other_services_name_their_bus_queue_phone_identity_and_secret() {
    let put = br#"{"Entries": [{"EventBusName": "bus"}, {"Source": "x"}]}"#;
    let buses: Vec<Resource> = accesses("EventBridge", "PutEvents", put)
        .into_iter()
        .map(|a| a.resource)
        .collect();
    assert!(buses.contains(&Resource::EventBus { name: "bus".into() }));
    assert!(buses.contains(&Resource::EventBus {
        name: "default".into()
    }));
    let sqs = br#"{"QueueUrl": "http://127.0.0.1:4566/123456789012/jobs"}"#;
    assert_eq!(
        accesses("SQS", "ReceiveMessage", sqs)[0],
        Access {
            action: "sqs:ReceiveMessage".into(),
            resource: Resource::Queue {
                name: "jobs".into()
            }
        }
    );
    let sms = b"Action=Publish&PhoneNumber=%2B84912345678&Message=hi";
    assert_eq!(
        accesses("SNS", "Publish", sms)[0].resource,
        Resource::Unscoped
    );
    let raw = br#"{"FromEmailAddress": "=?UTF-8?B?QQ==?= <noreply@example.com>", "Content": {"Raw": {"Data": "eA=="}}}"#;
    assert_eq!(
        accesses("SESv2", "SendEmail", raw)[0],
        Access {
            action: "ses:SendRawEmail".into(),
            resource: Resource::EmailIdentity {
                identity: "noreply@example.com".into()
            }
        }
    );
    let secret = br#"{"SecretId": "crm/t1/esms"}"#;
    let access = &accesses("Secrets Manager", "GetSecretValue", secret)[0];
    assert_eq!(access.action, "secretsmanager:GetSecretValue");
    assert_eq!(
        deployment().resource_arn(&access.resource),
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:crm/t1/esms-AbCdEf"
    );
    assert_eq!(
        accesses("STS", "GetCallerIdentity", b"")[0].resource,
        Resource::Unscoped,
        "an unknown service is still recorded, unscoped"
    );
}

#[test]
fn resource_patterns_follow_iam_wildcards() {
    let records = "arn:aws:dynamodb:us-east-1:123456789012:table/crm-local-records";
    assert!(resource_matches(records, records));
    assert!(
        !resource_matches(records, &format!("{records}/index/gsi2")),
        "a table's ARN does not cover its indexes"
    );
    assert!(resource_matches(
        &format!("{records}/index/*"),
        &format!("{records}/index/gsi2")
    ));
    assert!(resource_matches("*", "*"));
    assert!(
        !resource_matches(records, "*"),
        "an unscoped action needs Resource \"*\""
    );
    assert!(resource_matches(
        "arn:aws:ses:*:123456789012:identity/*",
        "arn:aws:ses:us-east-1:123456789012:identity/noreply@example.com"
    ));
    assert!(!resource_matches(
        "arn:aws:ses:us-*:123456789012:identity/x",
        "arn:aws:ses:us-east-1:999:identity/x"
    ));
    assert!(action_matches("dynamodb:Get*", "dynamodb:GetItem"));
    assert!(action_matches("DynamoDB:getitem", "dynamodb:GetItem"));
    assert!(!action_matches("dynamodb:GetItem", "dynamodb:GetRecords"));
}

#[test]
fn every_function_of_the_template_has_statements_with_resolved_arns() {
    let template = project_template();
    let functions = template.functions();
    assert_eq!(functions.len(), 6, "{functions:?}");
    for (logical, binary) in functions {
        let policy = template
            .function_policy(binary.as_deref().unwrap_or(&logical))
            .unwrap();
        assert_eq!(policy.function, logical);
        for statement in &policy.statements {
            for resource in &statement.resources {
                assert!(
                    resource == "*" || resource.starts_with("arn:aws:"),
                    "{logical} {}: {resource}",
                    statement.origin
                );
                assert!(!resource.contains("${"), "{resource}");
            }
        }
    }
    let executor = template.function_policy("action-executor").unwrap();
    assert!(executor.allows(
        "sqs:ReceiveMessage",
        "arn:aws:sqs:us-east-1:123456789012:crm-local-action-jobs"
    ));
    let events = template.function_policy("record-events").unwrap();
    assert!(events.allows(
        "sqs:SendMessage",
        "arn:aws:sqs:us-east-1:123456789012:crm-local-record-events-failures"
    ));
    // Task attachments: the executor writes them, the records API only signs links to them.
    let object = "arn:aws:s3:::crm-local-attachmentsbucket/t1/task-1/Phiếu.pdf";
    let records = template.function_policy("records-api").unwrap();
    assert!(executor.allows("s3:PutObject", object));
    assert!(!executor.allows("s3:GetObject", object));
    assert!(records.allows("s3:GetObject", object));
    assert!(!records.allows("s3:PutObject", object));
    assert!(!records.allows("s3:GetObject", "arn:aws:s3:::another-bucket/t1/x.pdf"));
}

#[test]
fn an_s3_request_is_its_action_on_the_object_of_its_bucket_and_key() {
    let put = s3_accesses(
        "PutObject",
        Some("crm-local-attachmentsbucket"),
        "/t1/task-1/Phi%E1%BA%BFu.pdf?x-id=PutObject",
    );
    assert_eq!(
        put,
        [Access {
            action: "s3:PutObject".into(),
            resource: Resource::S3Object {
                bucket: "crm-local-attachmentsbucket".into(),
                key: "t1/task-1/Phi%E1%BA%BFu.pdf".into()
            }
        }]
    );
    let head = s3_accesses("HeadObject", Some("b"), "/k");
    assert_eq!(head[0].action, "s3:GetObject");
    assert_eq!(
        s3_accesses("ListBuckets", None, "/")[0].resource,
        Resource::Unscoped
    );
    assert!(!resource_matches("arn:aws:s3:::b/*", "arn:aws:s3:::b"));
}

#[test]
fn the_project_template_refuses_calls_it_does_not_grant() {
    let template = project_template();
    let d = template.deployment().clone();
    let executor = template.function_policy("action-executor").unwrap();
    let calls = [
        call(
            "GetItem",
            "dynamodb:GetItem",
            table("crm-local-records", None),
        ),
        call(
            "DeleteItem",
            "dynamodb:DeleteItem",
            table("crm-local-records", None),
        ),
        call("Scan", "dynamodb:Scan", table("crm-local-records", None)),
        call(
            "Query",
            "dynamodb:Query",
            table("crm-local-records", Some("gsi1")),
        ),
        call(
            "PutItem",
            "dynamodb:PutItem",
            table("crm-local-schedule", None),
        ),
    ];
    let denied = executor.denied(&calls, &d);
    let listed: Vec<(&str, &str)> = denied
        .iter()
        .map(|x| (x.action.as_str(), x.resource.as_str()))
        .collect();
    let arn = |suffix: &str| format!("arn:aws:dynamodb:us-east-1:123456789012:table/{suffix}");
    assert_eq!(
        listed,
        [
            ("dynamodb:DeleteItem", arn("crm-local-records").as_str()),
            ("dynamodb:PutItem", arn("crm-local-schedule").as_str()),
            (
                "dynamodb:Query",
                arn("crm-local-records/index/gsi1").as_str()
            ),
            ("dynamodb:Scan", arn("crm-local-records").as_str()),
        ]
    );
    let text = report(&executor.function, &denied);
    assert!(
        text.starts_with("ActionExecutorFunction: 4 call(s)"),
        "{text}"
    );
    assert!(text.contains("dynamodb:Scan on arn:aws:dynamodb:us-east-1:123456789012:table/crm-local-records (from DynamoDB.Scan ×1)"), "{text}");

    // A test's own copy of a table is checked as the table it stands in for.
    let scan = template.function_policy("trigger-scan").unwrap();
    let copy = [call(
        "Query",
        "dynamodb:Query",
        table("copy-1", Some("due")),
    )];
    assert_eq!(scan.denied(&copy, &d).len(), 1);
    let aliased = d.clone().with_alias("copy-1", "crm-local-schedule");
    assert!(scan.denied(&copy, &aliased).is_empty());
    let other_bus = AwsCall {
        service: "EventBridge".into(),
        operation: "PutEvents".into(),
        accesses: accesses("EventBridge", "PutEvents", br#"{"Entries": [{}]}"#),
    };
    assert_eq!(
        scan.denied(&[other_bus], &d)[0].resource,
        "arn:aws:events:us-east-1:123456789012:event-bus/default"
    );
}

const SMALL_TEMPLATE: &str = r#"
Parameters:
  Suffix: { Type: String, Default: main }
Resources:
  Items:
    Type: AWS::DynamoDB::Table
    Properties: { TableName: !Sub "${AWS::StackName}-items-${Suffix}" }
  Jobs:
    Type: AWS::SQS::Queue
  Fn:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: fn } }
    Properties:
      Policies:
        - DynamoDBReadPolicy: { TableName: !Ref Items }
        - AWSLambdaBasicExecutionRole
        - Statement:
            Effect: Deny
            Action: dynamodb:Scan
            Resource: { "Fn::GetAtt": [Items, Arn] }
        - Statement:
            - Effect: Allow
              Action: [secretsmanager:GetSecretValue]
              Resource: !Sub
                - "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${prefix}/*"
                - { prefix: crm }
      Events:
        Work:
          Type: SQS
          Properties: { Queue: !GetAtt Jobs.Arn }
"#;

#[test]
fn policy_templates_event_sources_and_explicit_denies_are_understood() {
    let template = Template::parse(SMALL_TEMPLATE, deployment()).unwrap();
    let policy = template.function_policy("fn").unwrap();
    let d = deployment();
    let items = |index: Option<&str>| d.resource_arn(&table("crm-local-items-main", index));
    assert!(policy.allows("dynamodb:Query", &items(Some("by-date"))));
    assert!(policy.allows("dynamodb:GetItem", &items(None)));
    assert!(!policy.allows("dynamodb:PutItem", &items(None)));
    assert!(
        !policy.allows("dynamodb:Scan", &items(None)),
        "an explicit deny wins"
    );
    assert!(policy.allows("dynamodb:Scan", &items(Some("by-date"))));
    let secret = Resource::Secret {
        id: "crm/t1/zalo".into(),
    };
    assert!(policy.allows("secretsmanager:GetSecretValue", &d.resource_arn(&secret)));
    let other = Resource::Secret {
        id: "ops/db".into(),
    };
    assert!(!policy.allows("secretsmanager:GetSecretValue", &d.resource_arn(&other)));
    assert!(policy.allows(
        "sqs:DeleteMessage",
        "arn:aws:sqs:us-east-1:123456789012:crm-local-Jobs"
    ));
    assert!(!policy.allows(
        "sqs:SendMessage",
        "arn:aws:sqs:us-east-1:123456789012:crm-local-Jobs"
    ));
}

#[test]
fn what_the_audit_cannot_evaluate_is_refused_not_guessed() {
    let conditional = SMALL_TEMPLATE.replace(
        "Action: dynamodb:Scan",
        "Action: dynamodb:Scan\n            Condition: { Bool: { aws:SecureTransport: true } }",
    );
    let template = Template::parse(&conditional, deployment()).unwrap();
    assert!(matches!(
        template.function_policy("fn"),
        Err(TemplateError::Unsupported { .. })
    ));
    let managed = SMALL_TEMPLATE.replace("AWSLambdaBasicExecutionRole", "AdministratorAccess");
    let template = Template::parse(&managed, deployment()).unwrap();
    let error = template.function_policy("fn").unwrap_err().to_string();
    assert!(
        error.contains("managed policy AdministratorAccess"),
        "{error}"
    );
    assert!(matches!(
        template.function_policy("nope"),
        Err(TemplateError::NoSuchFunction(_))
    ));
}

#[tokio::test]
async fn the_interceptor_records_a_call_even_when_it_never_reaches_aws() {
    use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem};
    let log = CallLog::new();
    // Port 1 on loopback refuses at once: the request is recorded before it is sent.
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:1")
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "a", "b", None, None, "test",
        ))
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        .interceptor(log.clone())
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    let key = aws_sdk_dynamodb::types::AttributeValue::S("k".into());
    let put = Put::builder()
        .table_name("runs")
        .item("pk", key.clone())
        .build()
        .unwrap();
    let check = ConditionCheck::builder()
        .table_name("records")
        .key("pk", key)
        .condition_expression("attribute_exists(pk)")
        .build()
        .unwrap();
    let sent = client
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().put(put).build())
        .transact_items(TransactWriteItem::builder().condition_check(check).build())
        .send()
        .await;
    assert!(sent.is_err());
    let calls = log.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (calls[0].service.as_str(), calls[0].operation.as_str()),
        ("DynamoDB", "TransactWriteItems")
    );
    let actions: Vec<&str> = calls[0]
        .accesses
        .iter()
        .map(|a| a.action.as_str())
        .collect();
    assert_eq!(actions, ["dynamodb:ConditionCheckItem", "dynamodb:PutItem"]);
}
