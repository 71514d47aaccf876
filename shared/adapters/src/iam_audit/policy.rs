//! A function's IAM statements and the check of recorded calls against them, with IAM's own
//! matching rules: an explicit deny wins, then any allow whose action and resource patterns
//! match; otherwise the call is denied.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::access::{Access, Resource};
use super::calls::AwsCall;

/// moto's account; ARNs on both sides of the check are built in it.
pub const LOCAL_ACCOUNT: &str = "123456789012";

/// Where the template is deployed, so that the template's resources and the calls' resources
/// resolve to the same ARNs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub stack_name: String,
    pub region: String,
    pub account: String,
    pub partition: String,
    /// Physical names of stand-ins (a test's own copy of a table) → the name of the template's
    /// resource they stand in for.
    pub aliases: BTreeMap<String, String>,
}

impl Deployment {
    /// The local stack: `CRM_STACK_NAME` (default `crm-local`), `AWS_REGION` (default
    /// `us-east-1`) and moto's account, as `infra/stack.sh` provisions it.
    pub fn local() -> Self {
        let env = |name: &str, default: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        Self {
            stack_name: env("CRM_STACK_NAME", "crm-local"),
            region: env("AWS_REGION", "us-east-1"),
            account: LOCAL_ACCOUNT.to_owned(),
            partition: "aws".to_owned(),
            aliases: BTreeMap::new(),
        }
    }

    /// Calls naming `actual` are checked as if they named `stands_for`.
    pub fn with_alias(mut self, actual: impl Into<String>, stands_for: impl Into<String>) -> Self {
        self.aliases.insert(actual.into(), stands_for.into());
        self
    }

    fn name<'a>(&'a self, name: &'a str) -> &'a str {
        self.aliases.get(name).map_or(name, String::as_str)
    }

    /// `arn:<partition>:<service>:<region>:<account>:<resource>`.
    pub fn arn(&self, service: &str, resource: &str) -> String {
        let (p, r, a) = (&self.partition, &self.region, &self.account);
        format!("arn:{p}:{service}:{r}:{a}:{resource}")
    }

    /// The ARN IAM evaluates a statement's `Resource` against for `resource`.
    pub fn resource_arn(&self, resource: &Resource) -> String {
        let named = |name: &str, arn: &dyn Fn(&str) -> String| {
            if name.starts_with("arn:") {
                name.to_owned()
            } else {
                arn(self.name(name))
            }
        };
        match resource {
            Resource::Table { name, index } => {
                let table = named(name, &|n| self.arn("dynamodb", &format!("table/{n}")));
                match index {
                    Some(index) => format!("{table}/index/{index}"),
                    None => table,
                }
            }
            Resource::EventBus { name } => {
                named(name, &|n| self.arn("events", &format!("event-bus/{n}")))
            }
            Resource::Queue { name } => named(name, &|n| self.arn("sqs", n)),
            Resource::EmailIdentity { identity } => {
                self.arn("ses", &format!("identity/{identity}"))
            }
            // A secret's ARN ends in a random six-character suffix that only AWS knows.
            Resource::Secret { id } => named(id, &|n| {
                self.arn("secretsmanager", &format!("secret:{n}-AbCdEf"))
            }),
            Resource::S3Object { bucket, key } => {
                format!("arn:{}:s3:::{}/{key}", self.partition, self.name(bucket))
            }
            Resource::Arn(arn) => arn.clone(),
            Resource::Unscoped => "*".to_owned(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// One statement, its resources resolved to ARN patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Where it comes from: its `Sid`, a SAM policy template's name, or an event source.
    pub origin: String,
    pub effect: Effect,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
}

impl Statement {
    fn matches(&self, action: &str, arn: &str) -> bool {
        self.actions.iter().any(|a| action_matches(a, action))
            && self.resources.iter().any(|r| resource_matches(r, arn))
    }
}

/// Every statement a function's role carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionPolicy {
    /// The function's logical id in the template.
    pub function: String,
    pub statements: Vec<Statement>,
}

/// A call its function's statements do not allow.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Denied {
    pub action: String,
    pub resource: String,
    /// The SDK operations that needed it, and how often.
    pub operations: BTreeMap<String, usize>,
}

impl FunctionPolicy {
    pub fn allows(&self, action: &str, arn: &str) -> bool {
        let matching = |effect| {
            self.statements
                .iter()
                .any(|s| s.effect == effect && s.matches(action, arn))
        };
        !matching(Effect::Deny) && matching(Effect::Allow)
    }

    /// Every (action, resource) of `calls` the statements do not allow, once each.
    pub fn denied(&self, calls: &[AwsCall], deployment: &Deployment) -> Vec<Denied> {
        let mut denied: BTreeMap<(String, String), BTreeMap<String, usize>> = BTreeMap::new();
        for call in calls {
            for access in &call.accesses {
                let arn = deployment.resource_arn(&access.resource);
                if !self.allows(&access.action, &arn) {
                    *denied
                        .entry((access.action.clone(), arn))
                        .or_default()
                        .entry(format!("{}.{}", call.service, call.operation))
                        .or_default() += 1;
                }
            }
        }
        denied
            .into_iter()
            .map(|((action, resource), operations)| Denied {
                action,
                resource,
                operations,
            })
            .collect()
    }

    /// What each allowing statement grants that no call used: grants to review for least
    /// privilege (the scenarios may not take every path, so this is a hint, not a verdict).
    pub fn unused(&self, calls: &[AwsCall], deployment: &Deployment) -> Vec<Unused> {
        let used: BTreeSet<(&str, String)> = calls
            .iter()
            .flat_map(|c| &c.accesses)
            .map(|Access { action, resource }| (action.as_str(), deployment.resource_arn(resource)))
            .collect();
        let mut unused = Vec::new();
        for statement in self.statements.iter().filter(|s| s.effect == Effect::Allow) {
            let used_by = |action: &str, resource: &str| {
                used.iter()
                    .any(|(a, arn)| action_matches(action, a) && resource_matches(resource, arn))
            };
            let actions: Vec<String> = statement
                .actions
                .iter()
                .filter(|a| !statement.resources.iter().any(|r| used_by(a, r)))
                .cloned()
                .collect();
            let resources: Vec<String> = statement
                .resources
                .iter()
                .filter(|r| !statement.actions.iter().any(|a| used_by(a, r)))
                .cloned()
                .collect();
            if !actions.is_empty() || !resources.is_empty() {
                unused.push(Unused {
                    origin: statement.origin.clone(),
                    actions,
                    resources,
                });
            }
        }
        unused
    }
}

/// Parts of an allowing statement no call used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unused {
    pub origin: String,
    /// Actions used on none of the statement's resources.
    pub actions: Vec<String>,
    /// Resources none of the statement's actions was used on.
    pub resources: Vec<String>,
}

/// A readable list of what `function` was denied, one line per action and resource.
pub fn report(function: &str, denied: &[Denied]) -> String {
    let mut text = format!(
        "{function}: {} call(s) its statements in template.yaml do not allow:\n",
        denied.len()
    );
    for d in denied {
        let operations: Vec<String> = d
            .operations
            .iter()
            .map(|(op, n)| format!("{op} ×{n}"))
            .collect();
        let _ = writeln!(
            text,
            "  - {} on {} (from {})",
            d.action,
            d.resource,
            operations.join(", ")
        );
    }
    text
}

/// IAM action names match case-insensitively, with `*` and `?` wildcards.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    glob(
        pattern.to_ascii_lowercase().as_bytes(),
        action.to_ascii_lowercase().as_bytes(),
    )
}

/// IAM resource patterns: `*` alone matches everything; otherwise wildcards stay inside their
/// ARN segment (partition, service, region, account), except in the resource part, where they
/// match across `/` and `:` as in `table/x/index/*`.
pub fn resource_matches(pattern: &str, arn: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let pattern: Vec<&str> = pattern.splitn(6, ':').collect();
    let arn: Vec<&str> = arn.splitn(6, ':').collect();
    pattern.len() == arn.len()
        && pattern
            .iter()
            .zip(&arn)
            .all(|(p, a)| glob(p.as_bytes(), a.as_bytes()))
}

/// `*` (any run) and `?` (one character) wildcard matching, iterative with backtracking to the
/// last star.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}
