//! `spawn_app()`: a real server on a free port with its own database and a key
//! for every role.

use std::num::NonZeroU32;

use jobmatch_api::Application;
use jobmatch_api::auth::{Role, generate_key};
use jobmatch_api::limits::Limits;
use jobmatch_api::server::StartOptions;
use jobmatch_store::Store;
use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::{Value, json};

pub struct TestApp {
    pub address: String,
    pub store: Store,
    /// The SQLite database the server and `store` share.
    pub database_url: String,
    pub client: Client,
    pub admin_key: String,
    pub staff_key: String,
    pub partner_key: String,
    // Keeps the database directory alive for the test's duration.
    _data_dir: tempfile::TempDir,
}

pub async fn spawn_app() -> TestApp {
    // Tests send far more requests per key than a person would; the rate limit
    // has its own test.
    spawn_app_with(Limits {
        requests_per_minute: NonZeroU32::new(1_000_000).expect("non-zero"),
        burst: NonZeroU32::new(100_000).expect("non-zero"),
        ..Limits::default()
    })
    .await
}

pub async fn spawn_app_with(limits: Limits) -> TestApp {
    spawn_app_with_options(StartOptions {
        limits,
        ..StartOptions::default()
    })
    .await
}

/// A server started with `options`; over HTTPS when they name a certificate
/// (`client` then trusts nothing: give requests a client of your own).
pub async fn spawn_app_with_options(options: StartOptions) -> TestApp {
    let scheme = if options.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite:{}", data_dir.path().join("test.db").display());
    let store = Store::connect(&url).await.expect("fresh SQLite store");
    let mut keys = Vec::new();
    for role in [Role::Admin, Role::Staff, Role::Partner] {
        let key = generate_key(role, None, format!("test {}", role.code()), None);
        store.insert_api_key(&key.record).await.expect("key stored");
        keys.push(key.secret);
    }
    let application = Application::build_with("127.0.0.1:0", store.clone(), None, options)
        .await
        .expect("server starts");
    let address = format!("{scheme}://127.0.0.1:{}", application.port());
    tokio::spawn(application.run());
    TestApp {
        address,
        store,
        database_url: url,
        client: Client::new(),
        partner_key: keys.pop().expect("three keys"),
        staff_key: keys.pop().expect("three keys"),
        admin_key: keys.pop().expect("three keys"),
        _data_dir: data_dir,
    }
}

impl TestApp {
    pub fn request(&self, method: Method, path: &str, key: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{}", self.address, path))
            .bearer_auth(key)
    }

    pub async fn post(&self, path: &str, key: &str, body: &Value) -> Response {
        self.request(Method::POST, path, key)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn get(&self, path: &str, key: &str) -> Response {
        self.request(Method::GET, path, key)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn patch(
        &self,
        path: &str,
        key: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Response {
        let mut request = self
            .request(Method::PATCH, path, key)
            .header("content-type", "application/merge-patch+json")
            .body(body.to_string());
        if let Some(etag) = if_match {
            request = request.header("if-match", etag);
        }
        request.send().await.expect("request sent")
    }

    /// An employer key bound to `employer_id`.
    pub async fn employer_key(&self, employer_id: &str) -> String {
        let key = generate_key(
            Role::Employer,
            Some(employer_id.to_string()),
            "test employer".into(),
            None,
        );
        self.store
            .insert_api_key(&key.record)
            .await
            .expect("key stored");
        key.secret
    }

    pub async fn create_employer(&self) -> Value {
        let response = self
            .post("/v1/employers", &self.staff_key, &employer_body())
            .await;
        assert_eq!(response.status(), 201);
        response.json().await.expect("json")
    }
}

pub fn employer_body() -> Value {
    json!({
        "name": "Angkor Garment Co., Ltd.",
        "sector": "garment",
        "province_code": "12",
        "contact_name": "Sok Dara",
        "contact_phone": "012 345 678"
    })
}

/// A skill id that exists in the embedded ESCO subset.
pub fn some_skill_id() -> String {
    jobmatch_domain::Reference::embedded().taxonomy.skills()[0]
        .id
        .clone()
}

pub fn vacancy_body(employer_id: &str) -> Value {
    json!({
        "employer_id": employer_id,
        "title": "Sewing machine operator / ប្រតិបត្តិករម៉ាស៊ីនដេរ",
        "sector": "garment",
        "province_code": "12",
        "positions": 20,
        "wage_min_usd": 210,
        "wage_max_usd": 260,
        "required_skills": [{"skill": some_skill_id(), "min_level": 2}],
        "benefits": ["meals", "transport"]
    })
}

pub fn worker_body() -> Value {
    json!({
        "full_name": "សុខ ចាន់ធី",
        "sex": "female",
        "date_of_birth": "1995-04-12",
        "phone": "012 345 678",
        "province_code": "22",
        "returned_from": {"country": "TH", "province_code": "27", "returned_on": "2025-07-20"},
        "skills": [{"skill": some_skill_id(), "level": 3, "years": 4, "certified": true}],
        "preferred_sectors": ["garment"],
        "max_travel_km": 40,
        "willing_to_relocate": true,
        "expected_wage_usd": 230,
        "consent": {"share_with_employers": false}
    })
}

/// Asserts a problem+json answer with `status` and returns the document.
pub async fn assert_problem(response: Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let content_type = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().unwrap_or("").to_string());
    assert_eq!(
        content_type.as_deref(),
        Some("application/problem+json"),
        "content type"
    );
    let problem: Value = response.json().await.expect("problem body is JSON");
    assert_eq!(problem["status"], status, "status field of {problem}");
    assert!(
        problem["type"]
            .as_str()
            .is_some_and(|kind| !kind.is_empty()),
        "type of {problem}"
    );
    problem
}

/// The fields named in a problem's `errors`, sorted.
pub fn error_fields(problem: &Value) -> Vec<String> {
    let mut fields: Vec<String> = problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|error| error["field"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    fields.sort();
    fields
}

/// Starts `POST /v1/workers/batch` with `api_key` (and `idempotency_key`, if
/// given) whose body never ends, and returns once the server holds it in
/// flight: the request says `Expect: 100-continue`, and the server answers
/// `100 Continue` only when it starts reading the body, after it took the
/// key's batch slot. Dropping the stream ends the request.
pub async fn start_held_batch(
    app: &TestApp,
    api_key: &str,
    idempotency_key: Option<&str>,
) -> tokio::net::TcpStream {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let idempotency = idempotency_key
        .map(|key| format!("Idempotency-Key: {key}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "POST /v1/workers/batch HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {api_key}\r\n\
         {idempotency}Content-Type: application/json\r\nContent-Length: 16000000\r\n\
         Expect: 100-continue\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("written");
    let mut interim = Vec::new();
    let mut byte = [0_u8; 1];
    // A guard against a hang only: the interim answer comes at once.
    let reading = async {
        while !interim.ends_with(b"\r\n\r\n") {
            let read = stream.read(&mut byte).await.expect("read");
            assert!(read == 1, "closed after {interim:?}");
            interim.push(byte[0]);
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(60), reading)
        .await
        .expect("an interim answer");
    assert!(
        interim.starts_with(b"HTTP/1.1 100"),
        "the server reads the body: {}",
        String::from_utf8_lossy(&interim)
    );
    stream.write_all(b"{\"items\": [").await.expect("written");
    stream
}

/// Whether the server has answered on `stream` (without waiting).
fn has_answered(stream: &tokio::net::TcpStream) -> bool {
    let mut byte = [0_u8; 1];
    !matches!(stream.try_read(&mut byte), Err(error) if error.kind() == std::io::ErrorKind::WouldBlock)
}

/// Holds two batches of `api_key` in flight, then sends a third (with an
/// `Idempotency-Key` on each when `idempotency` says so) and returns its
/// answer once it is refused while both held batches are still unanswered.
/// The server takes a held batch's slot in its own time (its `100 Continue`
/// comes before the handler runs), so a third sent too early may take a slot
/// itself and a held batch be refused instead: then all three start again, at
/// most 50 times, each time waiting longer before the third.
pub async fn third_batch_while_two_are_held(
    app: &TestApp,
    api_key: &str,
    idempotency: bool,
) -> (Response, tokio::net::TcpStream) {
    for round in 0..50_u64 {
        let key = |name: &str| idempotency.then(|| format!("{name}-{round}"));
        let first = start_held_batch(app, api_key, key("held-1").as_deref()).await;
        let second = start_held_batch(app, api_key, key("held-2").as_deref()).await;
        tokio::time::sleep(std::time::Duration::from_millis(10 * round)).await;
        let mut third = app.request(Method::POST, "/v1/workers/batch", api_key);
        if let Some(key) = key("third") {
            third = third.header("Idempotency-Key", key);
        }
        let answer = third
            .json(&json!({"items": []}))
            .send()
            .await
            .expect("sent");
        if answer.status() == 429 && !has_answered(&first) && !has_answered(&second) {
            drop(second);
            return (answer, first);
        }
        drop((first, second));
        // Let the server see the held batches go and give their slots back.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("a third batch was never refused while two were held");
}
