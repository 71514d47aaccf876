//! `template.yaml` read the way CloudFormation and SAM deploy it, as far as IAM goes: each
//! function's statements (inline, SAM policy templates, what its event sources grant), their
//! resources resolved to ARNs (`!Ref`, `!Sub`, `!GetAtt`, `!Join`, long forms too) in a
//! [`Deployment`].

use std::path::Path;

use yaml_serde::{Mapping, Value};

use super::policy::{Deployment, Effect, FunctionPolicy, Statement};
use super::sam;

/// Why the template's statements could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("the template could not be read: {0}")]
    Io(#[from] std::io::Error),
    #[error("the template is not valid YAML: {0}")]
    Yaml(#[from] yaml_serde::Error),
    #[error("no AWS::Serverless::Function is named or builds the binary '{0}'")]
    NoSuchFunction(String),
    /// Something the audit cannot evaluate; refusing beats guessing what IAM would do.
    #[error("{at}: {what} is not understood by the IAM audit (shared/adapters/src/iam_audit)")]
    Unsupported { at: String, what: String },
    #[error("{at}: {what}")]
    Invalid { at: String, what: String },
}

pub(super) fn invalid(at: &str, what: impl Into<String>) -> TemplateError {
    TemplateError::Invalid {
        at: at.to_owned(),
        what: what.into(),
    }
}

pub(super) fn unsupported(at: &str, what: impl Into<String>) -> TemplateError {
    TemplateError::Unsupported {
        at: at.to_owned(),
        what: what.into(),
    }
}

/// The template bound to a deployment.
#[derive(Debug, Clone)]
pub struct Template {
    root: Value,
    deployment: Deployment,
}

/// Managed policies that grant nothing the functions' code calls (logs, traces): safe to skip.
const MANAGED_WITHOUT_CODE_CALLS: [&str; 3] = [
    "AWSLambdaBasicExecutionRole",
    "AWSXrayWriteOnlyAccess",
    "AWSXRayDaemonWriteAccess",
];

impl Template {
    pub fn load(path: impl AsRef<Path>, deployment: Deployment) -> Result<Self, TemplateError> {
        Self::parse(&std::fs::read_to_string(path)?, deployment)
    }

    pub fn parse(text: &str, deployment: Deployment) -> Result<Self, TemplateError> {
        Ok(Self {
            root: yaml_serde::from_str(text)?,
            deployment,
        })
    }

    pub fn deployment(&self) -> &Deployment {
        &self.deployment
    }

    fn resource(&self, logical: &str) -> Option<&Value> {
        self.root.get("Resources")?.get(logical)
    }

    fn resource_type(&self, logical: &str) -> Option<&str> {
        self.resource(logical)?.get("Type")?.as_str()
    }

    /// Every function's logical id, with the binary it builds (`Metadata.BuildProperties.Binary`).
    pub fn functions(&self) -> Vec<(String, Option<String>)> {
        let Some(resources) = self.root.get("Resources").and_then(Value::as_mapping) else {
            return Vec::new();
        };
        resources
            .iter()
            .filter(|(_, r)| {
                r.get("Type").and_then(Value::as_str) == Some("AWS::Serverless::Function")
            })
            .filter_map(|(id, r)| {
                let binary = r
                    .get("Metadata")
                    .and_then(|m| m.get("BuildProperties"))
                    .and_then(|b| b.get("Binary"))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                Some((id.as_str()?.to_owned(), binary))
            })
            .collect()
    }

    /// The statements of the function with logical id or binary `name`.
    pub fn function_policy(&self, name: &str) -> Result<FunctionPolicy, TemplateError> {
        let logical = self
            .functions()
            .into_iter()
            .find(|(id, binary)| id == name || binary.as_deref() == Some(name))
            .map(|(id, _)| id)
            .ok_or_else(|| TemplateError::NoSuchFunction(name.to_owned()))?;
        let properties = self
            .resource(&logical)
            .and_then(|r| r.get("Properties"))
            .ok_or_else(|| invalid(&logical, "the function has no Properties"))?;
        if properties.get("Role").is_some() {
            return Err(unsupported(&logical, "an explicit Role"));
        }
        let mut statements = Vec::new();
        let policies = match properties.get("Policies") {
            None => Vec::new(),
            Some(Value::Sequence(list)) => list.clone(),
            Some(single) => vec![single.clone()],
        };
        for (i, policy) in policies.iter().enumerate() {
            let at = format!("{logical}.Policies[{i}]");
            statements.extend(self.policy(policy, &at)?);
        }
        if let Some(events) = properties.get("Events").and_then(Value::as_mapping) {
            for (name, event) in events {
                let name = name.as_str().unwrap_or_default();
                let at = format!("{logical}.Events.{name}");
                statements.extend(sam::event_source(self, name, event, &at)?);
            }
        }
        Ok(FunctionPolicy {
            function: logical,
            statements,
        })
    }

    fn policy(&self, policy: &Value, at: &str) -> Result<Vec<Statement>, TemplateError> {
        match policy {
            Value::String(managed) if MANAGED_WITHOUT_CODE_CALLS.contains(&managed.as_str()) => {
                Ok(Vec::new())
            }
            Value::String(managed) => Err(unsupported(at, format!("managed policy {managed}"))),
            Value::Mapping(document) if document.contains_key("Statement") => {
                match document.get("Statement") {
                    Some(Value::Sequence(list)) => list
                        .iter()
                        .enumerate()
                        .map(|(i, s)| self.statement(s, &format!("{at}.Statement[{i}]")))
                        .collect(),
                    Some(single) => Ok(vec![self.statement(single, &format!("{at}.Statement"))?]),
                    None => Ok(Vec::new()),
                }
            }
            Value::Mapping(template) if template.len() == 1 => {
                let (name, parameters) = template.iter().next().expect("one entry");
                let name = name.as_str().unwrap_or_default();
                sam::policy_template(self, name, parameters, &format!("{at}.{name}"))
            }
            _ => Err(unsupported(at, "this form of policy")),
        }
    }

    fn statement(&self, statement: &Value, at: &str) -> Result<Statement, TemplateError> {
        let Some(fields) = statement.as_mapping() else {
            return Err(invalid(at, "a statement is a mapping"));
        };
        for key in [
            "NotAction",
            "NotResource",
            "Condition",
            "Principal",
            "NotPrincipal",
        ] {
            if fields.contains_key(key) {
                return Err(unsupported(at, key));
            }
        }
        let effect = match fields.get("Effect").and_then(Value::as_str) {
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            other => return Err(invalid(at, format!("Effect {other:?}"))),
        };
        let list = |key: &str| -> Result<Vec<String>, TemplateError> {
            match fields.get(key) {
                Some(Value::Sequence(items)) => items
                    .iter()
                    .map(|item| self.resolve(item, &format!("{at}.{key}")))
                    .collect(),
                Some(one) => Ok(vec![self.resolve(one, &format!("{at}.{key}"))?]),
                None => Err(invalid(at, format!("no {key}"))),
            }
        };
        let sid = fields.get("Sid").and_then(Value::as_str);
        Ok(Statement {
            origin: sid.map_or_else(|| at.to_owned(), str::to_owned),
            effect,
            actions: list("Action")?,
            resources: list("Resource")?,
        })
    }

    /// A scalar with CloudFormation's intrinsic functions resolved.
    pub fn resolve(&self, value: &Value, at: &str) -> Result<String, TemplateError> {
        match value {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Tagged(tagged) => {
                let tag = tagged.tag.to_string();
                self.intrinsic(tag.trim_start_matches('!'), &tagged.value, at)
            }
            Value::Mapping(m) if m.len() == 1 => {
                let (key, argument) = m.iter().next().expect("one entry");
                match key.as_str() {
                    Some(function @ ("Ref" | "Fn::Sub" | "Fn::GetAtt" | "Fn::Join")) => {
                        self.intrinsic(function.trim_start_matches("Fn::"), argument, at)
                    }
                    _ => Err(unsupported(at, "a mapping where a value was expected")),
                }
            }
            _ => Err(invalid(at, "a value was expected")),
        }
    }

    fn intrinsic(
        &self,
        function: &str,
        argument: &Value,
        at: &str,
    ) -> Result<String, TemplateError> {
        match (function, argument) {
            ("Ref", Value::String(name)) => self.reference(name, at),
            ("GetAtt", Value::String(path)) => match path.split_once('.') {
                Some((logical, attribute)) => self.attribute(logical, attribute, at),
                None => Err(invalid(at, format!("!GetAtt {path}"))),
            },
            ("GetAtt", Value::Sequence(parts)) if parts.len() == 2 => {
                let logical = self.resolve(&parts[0], at)?;
                self.attribute(&logical, &self.resolve(&parts[1], at)?, at)
            }
            ("Sub", Value::String(text)) => self.substitute(text, &Mapping::new(), at),
            ("Sub", Value::Sequence(parts)) if parts.len() == 2 => {
                let text = parts[0].as_str().ok_or_else(|| invalid(at, "!Sub text"))?;
                let variables = parts[1].as_mapping().cloned().unwrap_or_default();
                self.substitute(text, &variables, at)
            }
            ("Join", Value::Sequence(parts)) if parts.len() == 2 => {
                let separator = self.resolve(&parts[0], at)?;
                let items = parts[1]
                    .as_sequence()
                    .ok_or_else(|| invalid(at, "!Join list"))?;
                let items: Result<Vec<String>, _> =
                    items.iter().map(|item| self.resolve(item, at)).collect();
                Ok(items?.join(&separator))
            }
            (other, _) => Err(unsupported(at, format!("!{other} here"))),
        }
    }

    fn substitute(
        &self,
        text: &str,
        variables: &Mapping,
        at: &str,
    ) -> Result<String, TemplateError> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..]
                .find('}')
                .ok_or_else(|| invalid(at, format!("unclosed ${{ in {text}")))?;
            let token = &rest[start + 2..start + end];
            match token.strip_prefix('!') {
                // `${!Literal}` writes `${Literal}`.
                Some(literal) => out.push_str(&format!("${{{literal}}}")),
                None => out.push_str(&match variables.get(token) {
                    Some(value) => self.resolve(value, at)?,
                    None => match token.split_once('.') {
                        Some((logical, attribute)) => self.attribute(logical, attribute, at)?,
                        None => self.reference(token, at)?,
                    },
                }),
            }
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn reference(&self, name: &str, at: &str) -> Result<String, TemplateError> {
        let d = &self.deployment;
        match name {
            "AWS::StackName" => return Ok(d.stack_name.clone()),
            "AWS::Region" => return Ok(d.region.clone()),
            "AWS::AccountId" => return Ok(d.account.clone()),
            "AWS::Partition" => return Ok(d.partition.clone()),
            "AWS::URLSuffix" => return Ok("amazonaws.com".to_owned()),
            _ => {}
        }
        if let Some(parameter) = self.root.get("Parameters").and_then(|p| p.get(name)) {
            let default = parameter
                .get("Default")
                .ok_or_else(|| invalid(at, format!("parameter {name} has no Default")))?;
            return self.resolve(default, at);
        }
        let physical = self.physical_name(name, at)?;
        Ok(match self.resource_type(name) {
            Some("AWS::SQS::Queue") => format!(
                "https://sqs.{}.amazonaws.com/{}/{physical}",
                d.region, d.account
            ),
            Some("AWS::SNS::Topic") => d.arn("sns", &physical),
            Some("AWS::SecretsManager::Secret") => {
                d.arn("secretsmanager", &format!("secret:{physical}-AbCdEf"))
            }
            _ => physical,
        })
    }

    fn attribute(&self, logical: &str, attribute: &str, at: &str) -> Result<String, TemplateError> {
        let name = self.physical_name(logical, at)?;
        let d = &self.deployment;
        let kind = self.resource_type(logical).unwrap_or_default();
        match (kind, attribute) {
            ("AWS::DynamoDB::Table", "Arn") => Ok(d.arn("dynamodb", &format!("table/{name}"))),
            // CloudFormation gives the current stream's label; any label names the same grants.
            ("AWS::DynamoDB::Table", "StreamArn") => {
                Ok(d.arn("dynamodb", &format!("table/{name}/stream/STREAM_LABEL")))
            }
            ("AWS::SQS::Queue", "Arn") => Ok(d.arn("sqs", &name)),
            ("AWS::SQS::Queue", "QueueName") => Ok(name),
            ("AWS::SQS::Queue", "QueueUrl") => self.reference(logical, at),
            ("AWS::Events::EventBus", "Arn") => Ok(d.arn("events", &format!("event-bus/{name}"))),
            ("AWS::Events::EventBus", "Name") => Ok(name),
            ("AWS::SNS::Topic", "TopicArn") => Ok(d.arn("sns", &name)),
            ("AWS::SNS::Topic", "TopicName") => Ok(name),
            // Bucket ARNs name neither region nor account.
            ("AWS::S3::Bucket", "Arn") => Ok(format!("arn:{}:s3:::{name}", d.partition)),
            ("AWS::S3::Bucket", "BucketName") => Ok(name),
            _ => Err(unsupported(
                at,
                format!("!GetAtt {logical}.{attribute} ({kind})"),
            )),
        }
    }

    /// The name a resource gets: its explicit name property, else one scoped to the stack.
    fn physical_name(&self, logical: &str, at: &str) -> Result<String, TemplateError> {
        let resource = self
            .resource(logical)
            .ok_or_else(|| invalid(at, format!("no resource or parameter {logical}")))?;
        let properties = resource.get("Properties");
        for key in [
            "TableName",
            "QueueName",
            "Name",
            "TopicName",
            "EmailIdentity",
            "BucketName",
        ] {
            if let Some(value) = properties.and_then(|p| p.get(key)) {
                return self.resolve(value, &format!("{logical}.Properties.{key}"));
            }
        }
        let name = format!("{}-{logical}", self.deployment.stack_name);
        // Bucket names are lower case: CloudFormation's, and the local stack's, are.
        if self.resource_type(logical) == Some("AWS::S3::Bucket") {
            return Ok(name.to_ascii_lowercase());
        }
        Ok(name)
    }
}
