//! The local API as the console's browser tests and `infra/demo.sh` start it: the binary comes
//! up on its port and serves the console's configuration and its page beside the APIs. (It also
//! makes `cargo test` build the binary those scripts run.)

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    Some(answer)
}

#[test]
fn the_binary_serves_the_console_configuration_beside_the_apis() {
    let port = free_port();
    let dist = std::env::temp_dir().join(format!("local-api-dist-{port}"));
    std::fs::create_dir_all(dist.join("assets")).expect("a temporary build");
    std::fs::write(dist.join("index.html"), "<div id=root></div>").expect("index.html");
    // Table names only: nothing here reaches AWS.
    let mut server = Command::new(env!("CARGO_BIN_EXE_crm-local-api"))
        .env("LOCAL_API_PORT", port.to_string())
        .env("CONSOLE_DIR", &dist)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("SETTINGS_TABLE", "t-settings")
        .env("RECORDS_TABLE", "t-records")
        .env("SCHEDULE_TABLE", "t-schedule")
        .env("RUNS_TABLE", "t-runs")
        .env("ATTACHMENTS_BUCKET", "t-attachments")
        .env("AUTOMATION_BUS", "t-bus")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the local API starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    let config = loop {
        if let Some(answer) = get(port, "/config.json") {
            break answer;
        }
        assert!(Instant::now() < deadline, "the local API never answered");
        std::thread::sleep(Duration::from_millis(100));
    };
    let page = get(port, "/").unwrap_or_default();
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dist);
    assert!(config.starts_with("HTTP/1.1 200"), "{config}");
    assert!(config.contains(r#""type":"dev""#), "{config}");
    assert!(page.contains("<div id=root></div>"), "{page}");
}
