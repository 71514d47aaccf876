//! The functions as Lambda runs them: each release `bootstrap` (infra/lambda-build.sh) under the
//! Lambda Runtime Interface Emulator on loopback, invoked through its HTTP endpoint. The emulator
//! speaks the real Runtime API to the binary, so what runs here is what runs in Lambda.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// One function behind its own emulator; killed when dropped.
pub struct Lambda {
    pub name: &'static str,
    child: Child,
    port: u16,
    log: PathBuf,
    http: reqwest::Client,
}

/// The stack's settings a function reads from its environment (what the template gives it).
const PASSED: [&str; 13] = [
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_REGION",
    "SETTINGS_TABLE",
    "RECORDS_TABLE",
    "SCHEDULE_TABLE",
    "RUNS_TABLE",
    "AUTOMATION_BUS",
    "SENDER_EMAIL_IDENTITY",
    "ACTION_JOBS_QUEUE_URL",
    // records-api hands out links to files in it; the due index's shards, as the scan reads it.
    "ATTACHMENTS_BUCKET",
    "DUE_SHARDS",
];

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

impl Lambda {
    pub async fn start(root: &Path, name: &'static str) -> Result<Self, String> {
        let bootstrap = root.join("target/lambda").join(name).join("bootstrap");
        let rie = root.join(".venv/bin/aws-lambda-rie");
        for path in [&bootstrap, &rie] {
            if !path.is_file() {
                return Err(format!(
                    "{} is missing: run infra/lambda-build.sh",
                    path.display()
                ));
            }
        }
        let (port, runtime_port) = (free_port()?, free_port()?);
        let log = root.join(".local").join(format!("rie-{name}.log"));
        let out = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let mut command = Command::new(&rie);
        command
            .arg("--runtime-interface-emulator-address")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--runtime-api-address")
            .arg(format!("127.0.0.1:{runtime_port}"))
            .arg(&bootstrap)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_TIMEOUT", "300")
            // The demo scans "at 08:00 on the demo day"; deployed functions never accept this.
            .env("ALLOW_CLOCK_OVERRIDE", "true")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        for key in PASSED {
            if let Ok(value) = std::env::var(key) {
                command.env(key, value);
            }
        }
        let child = command
            .spawn()
            .map_err(|e| format!("starting {name}: {e}"))?;
        let lambda = Self {
            name,
            child,
            port,
            log,
            http: reqwest::Client::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err(format!("{name}: the emulator did not start"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(lambda)
    }

    /// Invokes the function with an event; a function error is an error here.
    pub async fn invoke(&self, event: &Value) -> Result<Value, String> {
        let url = format!(
            "http://127.0.0.1:{}/2015-03-31/functions/function/invocations",
            self.port
        );
        let response = self
            .http
            .post(url)
            .json(event)
            .send()
            .await
            .map_err(|e| format!("{}: {e}", self.name))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| e.to_string())?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|_| format!("{}: HTTP {status}: {text}", self.name))?;
        if !status.is_success() || value.get("errorType").is_some() {
            return Err(format!("{}: {value}", self.name));
        }
        Ok(value)
    }

    /// The runtime's initialisation time as the emulator reported it (`INIT REPORT`).
    pub fn init_ms(&self) -> Option<f64> {
        let log = std::fs::read_to_string(&self.log).ok()?;
        let start = log.find("INIT REPORT(durationMs: ")? + "INIT REPORT(durationMs: ".len();
        let end = start + log[start..].find(')')?;
        log[start..end].trim().parse().ok()
    }
}

impl Drop for Lambda {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An API Gateway HTTP API (v2) request carrying the JWT authorizer's claims.
pub fn http_event(
    method: &str,
    path: &str,
    claims: &serde_json::Map<String, Value>,
    body: Option<&Value>,
) -> Value {
    let (raw_path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut event = serde_json::json!({
        "version": "2.0",
        "routeKey": format!("ANY {raw_path}"),
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": {"content-type": "application/json", "host": "api.local"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "authorizer": {"jwt": {"claims": claims, "scopes": []}},
            "domainName": "api.local",
            "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "crm-demo"},
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": format!("ANY {raw_path}"),
            "stage": "$default",
            "time": "17/May/2027:01:00:00 +0000",
            "timeEpoch": 0
        },
        "isBase64Encoded": false
    });
    if !query.is_empty() {
        let params: serde_json::Map<String, Value> = query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
            .collect();
        event["queryStringParameters"] = Value::Object(params);
    }
    if let Some(body) = body {
        event["body"] = Value::String(body.to_string());
    }
    event
}
