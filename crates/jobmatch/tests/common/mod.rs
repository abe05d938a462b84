//! Running the real `jobmatch` binary from integration tests.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const BINARY: &str = env!("CARGO_BIN_EXE_jobmatch");

pub struct Server {
    child: Child,
    pub address: String,
}

impl Server {
    pub fn start(data_dir: &std::path::Path, database_url: &str) -> Server {
        Server::start_with_args(data_dir, database_url, &[])
    }

    /// [`Server::start`] with further arguments to `serve`.
    pub fn start_with_args(
        data_dir: &std::path::Path,
        database_url: &str,
        extra: &[&std::ffi::OsStr],
    ) -> Server {
        let mut command = Command::new(BINARY);
        command
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(extra)
            .arg("--data-dir")
            .arg(data_dir)
            .env("JOBMATCH_DATABASE_URL", database_url)
            .env("JOBMATCH_LOG", "warn")
            // Tests send far more requests per key than people do.
            .env("JOBMATCH_RATE_LIMIT_PER_MINUTE", "10000000")
            .env("JOBMATCH_RATE_LIMIT_BURST", "1000000")
            .stderr(Stdio::inherit());
        Server::spawn(command)
    }

    /// [`Server::start`] with the log filter `filter` and the log (standard
    /// error) written to `log`.
    #[allow(dead_code)]
    pub fn start_logging_to(
        data_dir: &std::path::Path,
        database_url: &str,
        filter: &str,
        log: std::fs::File,
    ) -> Server {
        let mut command = Command::new(BINARY);
        command
            .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("JOBMATCH_DATABASE_URL", database_url)
            .env("JOBMATCH_LOG", filter)
            .stderr(log);
        Server::spawn(command)
    }

    /// Starts `command` (a `jobmatch serve`) and waits for the address it
    /// prints.
    fn spawn(mut command: Command) -> Server {
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .expect("jobmatch starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let address = loop {
            let line = lines
                .next()
                .expect("server printed its address")
                .expect("readable stdout");
            if let Some(address) = line.strip_prefix("jobmatch is listening on ") {
                break address.trim().to_string();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, address }
    }

    /// Sends SIGTERM and waits for the process to exit; returns whether it
    /// exited successfully.
    #[allow(dead_code)]
    pub fn terminate(mut self) -> bool {
        let delivered = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(delivered.success(), "SIGTERM delivered");
        self.child.wait().expect("server reaped").success()
    }

    /// Sends `signal` (a name `kill` knows, e.g. `HUP`) to the server.
    #[allow(dead_code)]
    pub fn signal(&self, signal: &str) {
        let delivered = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(delivered.success(), "SIG{signal} delivered");
    }

    pub fn kill_hard(mut self) {
        self.child.kill().expect("SIGKILL delivered");
        self.child.wait().expect("server reaped");
    }
}

pub fn create_key(data_dir: &std::path::Path, database_url: &str) -> String {
    let output = Command::new(BINARY)
        .args([
            "keys",
            "create",
            "--role",
            "staff",
            "--name",
            "durability test",
            "--data-dir",
        ])
        .arg(data_dir)
        .env("JOBMATCH_DATABASE_URL", database_url)
        .output()
        .expect("keys create runs");
    assert!(
        output.status.success(),
        "keys create failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    stdout
        .lines()
        .last()
        .expect("the key is the last line")
        .trim()
        .to_string()
}

/// Waits until the server's `/readyz` answers 200 (its search index built), at most
/// `timeout`; panics otherwise. Not every test binary needs it.
#[allow(dead_code)]
pub async fn wait_until_ready(address: &str, timeout: std::time::Duration) {
    let client = reqwest::Client::new();
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let response = client.get(format!("{address}/readyz")).send().await;
        if response.is_ok_and(|response| response.status() == 200) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{address} was not ready within {timeout:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The status of a GET.
#[allow(dead_code)]
pub async fn status_of(client: &reqwest::Client, url: String, key: &str) -> u16 {
    client
        .get(url)
        .bearer_auth(key)
        .send()
        .await
        .expect("server answers")
        .status()
        .as_u16()
}

/// Every open vacancy id that search finds, page by page.
#[allow(dead_code)]
pub async fn searchable_vacancies(
    client: &reqwest::Client,
    address: &str,
    key: &str,
) -> std::collections::HashSet<String> {
    let mut found = std::collections::HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{address}/v1/vacancies?limit=100");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page: serde_json::Value = client
            .get(url)
            .bearer_auth(key)
            .send()
            .await
            .expect("search answers")
            .json()
            .await
            .expect("search page");
        for item in page["items"].as_array().expect("items") {
            found.insert(item["id"].as_str().expect("id").to_string());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return found,
        }
    }
}
