//! The authorization matrix of SECURITY.md, cell by cell: every endpoint, asked
//! by every kind of principal, answers the documented status, and a refusal
//! reveals nothing of the record it was about.

use std::collections::HashMap;

use jobmatch_api::auth::{Role, generate_key};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, assert_problem, employer_body, spawn_app, spawn_app_with, vacancy_body, worker_body,
};

/// Who asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Who {
    Anonymous,
    Admin,
    Staff,
    /// Bound to the employer that owns the records of the fixture.
    EmployerOwn,
    /// Bound to another employer.
    EmployerOther,
    /// Linked to the fixture's employer.
    PartnerLinked,
    /// Linked to nothing of the fixture's.
    PartnerOther,
    Revoked,
    Expired,
}

const EVERYONE: [Who; 9] = [
    Who::Anonymous,
    Who::Admin,
    Who::Staff,
    Who::EmployerOwn,
    Who::EmployerOther,
    Who::PartnerLinked,
    Who::PartnerOther,
    Who::Revoked,
    Who::Expired,
];

/// A returnee who consented to share with employers, so that contact release
/// is possible; the strings below must never leak to the wrong principal.
const WORKER_NAME: &str = "Chhun Sreyneang";
const WORKER_PHONE: &str = "+85517654321";

struct World {
    app: TestApp,
    keys: HashMap<Who, String>,
    employer_a: String,
}

/// Records made for one cell, so that what one cell changes cannot decide
/// another.
struct Fixture {
    employer: String,
    vacancy: String,
    /// Sent by the linked partner.
    partner_vacancy: String,
    worker: String,
}

async fn world() -> World {
    let app = spawn_app().await;
    let employer_a = created_id(&app, "/v1/employers", &app.staff_key, employer_body()).await;
    let employer_b = created_id(&app, "/v1/employers", &app.staff_key, employer_body()).await;
    let mut keys = HashMap::new();
    keys.insert(Who::Admin, app.admin_key.clone());
    keys.insert(Who::Staff, app.staff_key.clone());
    keys.insert(Who::EmployerOwn, app.employer_key(&employer_a).await);
    keys.insert(Who::EmployerOther, app.employer_key(&employer_b).await);
    keys.insert(Who::PartnerOther, app.partner_key.clone());
    let linked = generate_key(Role::Partner, None, "linked partner".into(), None);
    app.store
        .insert_api_key(&linked.record)
        .await
        .expect("key stored");
    app.store
        .link_partner(&linked.record.id, &employer_a)
        .await
        .expect("linked");
    keys.insert(Who::PartnerLinked, linked.secret);
    let revoked = generate_key(Role::Admin, None, "revoked".into(), None);
    app.store
        .insert_api_key(&revoked.record)
        .await
        .expect("key stored");
    app.store
        .revoke_api_key(&revoked.record.id)
        .await
        .expect("revoked");
    keys.insert(Who::Revoked, revoked.secret);
    let expired = generate_key(
        Role::Admin,
        None,
        "expired".into(),
        Some(chrono::Utc::now() - chrono::Duration::days(1)),
    );
    app.store
        .insert_api_key(&expired.record)
        .await
        .expect("key stored");
    keys.insert(Who::Expired, expired.secret);
    World {
        app,
        keys,
        employer_a,
    }
}

async fn created_id(app: &TestApp, path: &str, key: &str, body: Value) -> String {
    let path = format!("{path}?wait_for=indexed");
    let response = app.post(&path, key, &body).await;
    let status = response.status();
    let body: Value = response.json().await.expect("JSON");
    assert!(status.is_success(), "{path}: {status} {body}");
    body["id"].as_str().expect("id").to_string()
}

fn consenting_worker() -> Value {
    let mut worker = worker_body();
    worker["full_name"] = json!(WORKER_NAME);
    worker["phone"] = json!(WORKER_PHONE);
    worker["consent"] = json!({"share_with_employers": true});
    worker
}

async fn fixture(world: &World) -> Fixture {
    let app = &world.app;
    let vacancy = created_id(
        app,
        "/v1/vacancies",
        &app.admin_key,
        vacancy_body(&world.employer_a),
    )
    .await;
    let partner_vacancy = created_id(
        app,
        "/v1/vacancies",
        &world.keys[&Who::PartnerLinked],
        vacancy_body(&world.employer_a),
    )
    .await;
    let worker = created_id(app, "/v1/workers", &app.admin_key, consenting_worker()).await;
    Fixture {
        employer: world.employer_a.clone(),
        vacancy,
        partner_vacancy,
        worker,
    }
}

struct Case {
    name: &'static str,
    method: Method,
    path: fn(&Fixture) -> String,
    body: Option<fn(&Fixture) -> Value>,
    /// Changes something: gets a fresh fixture per cell.
    writes: bool,
    /// In the order of `EVERYONE`.
    expect: [u16; 9],
}

fn cases() -> Vec<Case> {
    //         anon admin staff e-own e-oth p-lnk p-oth revok expir
    let reference = [401, 200, 200, 200, 200, 200, 200, 401, 401];
    let staff_only_read = [401, 200, 200, 403, 403, 403, 403, 401, 401];
    vec![
        Case {
            name: "list sectors",
            method: Method::GET,
            path: |_| "/v1/sectors".into(),
            body: None,
            writes: false,
            expect: reference,
        },
        Case {
            name: "list districts",
            method: Method::GET,
            path: |_| "/v1/provinces/12/districts".into(),
            body: None,
            writes: false,
            expect: reference,
        },
        Case {
            name: "look up skills",
            method: Method::GET,
            path: |_| "/v1/skills?q=sewing".into(),
            body: None,
            writes: false,
            expect: reference,
        },
        Case {
            name: "create employer",
            method: Method::POST,
            path: |_| "/v1/employers".into(),
            body: Some(|_| employer_body()),
            writes: true,
            expect: [401, 201, 201, 403, 403, 201, 201, 401, 401],
        },
        Case {
            name: "read employer",
            method: Method::GET,
            path: |f| format!("/v1/employers/{}", f.employer),
            body: None,
            writes: false,
            expect: [401, 200, 200, 200, 403, 200, 403, 401, 401],
        },
        Case {
            name: "list employers",
            method: Method::GET,
            path: |_| "/v1/employers".into(),
            body: None,
            writes: false,
            expect: reference,
        },
        Case {
            name: "change employer",
            method: Method::PATCH,
            path: |f| format!("/v1/employers/{}", f.employer),
            body: Some(|_| json!({"contact_name": "Keo Sophea"})),
            writes: true,
            // The linked partner did not send this employer: it may not change it.
            expect: [401, 200, 200, 200, 403, 403, 403, 401, 401],
        },
        Case {
            name: "create vacancy",
            method: Method::POST,
            path: |_| "/v1/vacancies".into(),
            body: Some(|f| vacancy_body(&f.employer)),
            writes: true,
            expect: [401, 201, 201, 201, 403, 201, 403, 401, 401],
        },
        Case {
            name: "read vacancy",
            method: Method::GET,
            path: |f| format!("/v1/vacancies/{}", f.vacancy),
            body: None,
            writes: false,
            expect: [401, 200, 200, 200, 403, 200, 403, 401, 401],
        },
        Case {
            name: "search vacancies",
            method: Method::GET,
            path: |_| "/v1/vacancies?q=sewing".into(),
            body: None,
            writes: false,
            expect: reference,
        },
        Case {
            name: "change vacancy sent by admin",
            method: Method::PATCH,
            path: |f| format!("/v1/vacancies/{}", f.vacancy),
            body: Some(|_| json!({"positions": 5})),
            writes: true,
            expect: [401, 200, 200, 200, 403, 403, 403, 401, 401],
        },
        Case {
            name: "change vacancy sent by the linked partner",
            method: Method::PATCH,
            path: |f| format!("/v1/vacancies/{}", f.partner_vacancy),
            body: Some(|_| json!({"positions": 5})),
            writes: true,
            expect: [401, 200, 200, 200, 403, 200, 403, 401, 401],
        },
        Case {
            name: "close vacancy",
            method: Method::DELETE,
            path: |f| format!("/v1/vacancies/{}", f.vacancy),
            body: None,
            writes: true,
            expect: [401, 200, 200, 200, 403, 403, 403, 401, 401],
        },
        Case {
            name: "register worker",
            method: Method::POST,
            path: |_| "/v1/workers".into(),
            body: Some(|_| consenting_worker()),
            writes: true,
            expect: staff_only_read.map(|status| if status == 200 { 201 } else { status }),
        },
        Case {
            name: "register workers in a batch",
            method: Method::POST,
            path: |_| "/v1/workers/batch".into(),
            body: Some(|_| json!({"items": [consenting_worker()]})),
            writes: true,
            expect: [401, 200, 200, 403, 403, 200, 200, 401, 401],
        },
        Case {
            name: "read worker",
            method: Method::GET,
            path: |f| format!("/v1/workers/{}", f.worker),
            body: None,
            writes: false,
            expect: staff_only_read,
        },
        Case {
            name: "list workers",
            method: Method::GET,
            path: |_| "/v1/workers".into(),
            body: None,
            writes: false,
            expect: staff_only_read,
        },
        Case {
            name: "change worker",
            method: Method::PATCH,
            path: |f| format!("/v1/workers/{}", f.worker),
            body: Some(|_| json!({"expected_wage_usd": 250})),
            writes: true,
            expect: staff_only_read,
        },
        Case {
            name: "erase worker",
            method: Method::DELETE,
            path: |f| format!("/v1/workers/{}", f.worker),
            body: None,
            writes: true,
            expect: staff_only_read.map(|status| if status == 200 { 204 } else { status }),
        },
        Case {
            name: "candidates for a vacancy",
            method: Method::GET,
            path: |f| format!("/v1/vacancies/{}/candidates", f.vacancy),
            body: None,
            writes: false,
            expect: [401, 200, 200, 200, 403, 403, 403, 401, 401],
        },
        Case {
            name: "vacancies for a worker",
            method: Method::GET,
            path: |f| format!("/v1/workers/{}/vacancies", f.worker),
            body: None,
            writes: false,
            expect: staff_only_read,
        },
        Case {
            name: "match preview",
            method: Method::POST,
            path: |_| "/v1/match/preview".into(),
            body: Some(|_| json!({"worker": consenting_worker()})),
            writes: false,
            expect: staff_only_read,
        },
        Case {
            name: "release contact",
            method: Method::POST,
            path: |f| {
                format!(
                    "/v1/vacancies/{}/candidates/{}/contact",
                    f.vacancy, f.worker
                )
            },
            body: None,
            writes: true,
            expect: staff_only_read,
        },
        Case {
            name: "statistics",
            method: Method::GET,
            path: |_| "/v1/statistics".into(),
            body: None,
            writes: false,
            expect: [401, 200, 200, 403, 403, 200, 200, 401, 401],
        },
        Case {
            name: "audit log",
            method: Method::GET,
            path: |_| "/v1/audit".into(),
            body: None,
            writes: false,
            expect: [401, 200, 403, 403, 403, 403, 403, 401, 401],
        },
        Case {
            name: "health",
            method: Method::GET,
            path: |_| "/healthz".into(),
            body: None,
            writes: false,
            expect: [200; 9],
        },
    ]
}

/// Strings of the fixture that a refusal must not contain.
fn secrets(fixture: &Fixture) -> [&str; 4] {
    [
        WORKER_NAME,
        WORKER_PHONE,
        "Angkor Garment",
        fixture.worker.as_str(),
    ]
}

#[tokio::test]
async fn every_cell_of_the_authorization_matrix_answers_as_documented() {
    let world = world().await;
    let shared = fixture(&world).await;
    let mut failures = Vec::new();
    let mut cells = 0;
    for case in cases() {
        for (who, &expected) in EVERYONE.iter().zip(&case.expect) {
            let fresh;
            let fixture = if case.writes {
                fresh = fixture(&world).await;
                &fresh
            } else {
                &shared
            };
            let path = (case.path)(fixture);
            let url = format!("{}{}", world.app.address, path);
            let mut request = world.app.client.request(case.method.clone(), &url);
            if let Some(key) = world.keys.get(who) {
                request = request.bearer_auth(key);
            }
            if let Some(body) = case.body {
                let body = body(fixture);
                request = if case.method == Method::PATCH {
                    request
                        .header("content-type", "application/merge-patch+json")
                        .body(body.to_string())
                } else {
                    request.json(&body)
                };
            }
            let response = request.send().await.expect("request sent");
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let text = response.text().await.unwrap_or_default();
            cells += 1;
            if status != expected {
                failures.push(format!(
                    "{} as {who:?}: {status}, expected {expected}: {text}",
                    case.name
                ));
                continue;
            }
            if status == 401 || status == 403 {
                if content_type != "application/problem+json" {
                    failures.push(format!(
                        "{} as {who:?}: refusal is {content_type}",
                        case.name
                    ));
                }
                if let Some(leak) = secrets(fixture)
                    .iter()
                    .find(|secret| text.contains(**secret))
                {
                    failures.push(format!("{} as {who:?}: refusal reveals {leak}", case.name));
                }
            }
        }
    }
    assert!(cells >= 200, "{cells} cells");
    assert!(
        failures.is_empty(),
        "{} of {cells} cells differ from SECURITY.md:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn lists_and_searches_show_an_employer_or_partner_only_what_it_may_see() {
    let world = world().await;
    let fixture = fixture(&world).await;
    for (who, sees) in [
        (Who::EmployerOwn, true),
        (Who::EmployerOther, false),
        (Who::PartnerLinked, true),
        (Who::PartnerOther, false),
        (Who::Staff, true),
    ] {
        let key = &world.keys[&who];
        let employers: Value = world
            .app
            .get("/v1/employers?limit=100", key)
            .await
            .json()
            .await
            .expect("JSON");
        let listed = employers["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|item| item["id"] == fixture.employer.as_str());
        assert_eq!(listed, sees, "{who:?} lists the employer: {employers}");
        let vacancies: Value = world
            .app
            .get("/v1/vacancies?limit=100", key)
            .await
            .json()
            .await
            .expect("JSON");
        let found = vacancies["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|item| item["id"] == fixture.vacancy.as_str());
        assert_eq!(found, sees, "{who:?} finds the vacancy: {vacancies}");
    }
}

/// A partner key's links are remembered with the key for a second, yet an
/// employer it registers (through any replica) or that an admin links to it is
/// reachable at once. A second server on the same database is the other
/// replica; each has its own memory of keys.
#[tokio::test]
async fn a_partner_reaches_an_employer_at_once_however_it_was_linked() {
    let app = spawn_app().await;
    let replica = jobmatch_api::Application::build("127.0.0.1:0", app.store.clone(), None)
        .await
        .expect("second server starts");
    let replica_address = format!("http://127.0.0.1:{}", replica.port());
    tokio::spawn(replica.run());
    let on_replica = |method: Method, path: &str| {
        app.client
            .request(method, format!("{replica_address}{path}"))
            .bearer_auth(&app.partner_key)
    };
    let listed_ids = |page: Value| -> Vec<String> {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|item| item["id"].as_str().map(str::to_string))
            .collect()
    };
    // Both servers remember the partner's key with no links.
    for address in [&app.address, &replica_address] {
        let page: Value = app
            .client
            .get(format!("{address}/v1/employers"))
            .bearer_auth(&app.partner_key)
            .send()
            .await
            .expect("sent")
            .json()
            .await
            .expect("JSON");
        assert!(listed_ids(page).is_empty());
    }

    let registered = created_id(&app, "/v1/employers", &app.partner_key, employer_body()).await;
    let page: Value = app
        .get("/v1/employers", &app.partner_key)
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        listed_ids(page),
        std::slice::from_ref(&registered),
        "listed where registered"
    );
    let read = on_replica(Method::GET, &format!("/v1/employers/{registered}"))
        .send()
        .await
        .expect("sent");
    assert_eq!(read.status(), 200, "read through the other replica");
    let posted = on_replica(Method::POST, "/v1/vacancies")
        .json(&vacancy_body(&registered))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        posted.status(),
        201,
        "a vacancy posted through the other replica"
    );

    let linked = created_id(&app, "/v1/employers", &app.staff_key, employer_body()).await;
    app.store
        .link_partner(&partner_key_id(&app).await, &linked)
        .await
        .expect("linked");
    let read = on_replica(Method::GET, &format!("/v1/employers/{linked}"))
        .send()
        .await
        .expect("sent");
    assert_eq!(read.status(), 200, "an employer an admin linked");
}

/// The id of the test app's partner key.
async fn partner_key_id(app: &TestApp) -> String {
    app.store
        .api_key_by_hash(&jobmatch_api::auth::hash_key(&app.partner_key))
        .await
        .expect("read")
        .expect("the partner key exists")
        .id
}

#[tokio::test]
async fn an_employer_sees_candidates_pseudonymised_until_consent_and_release_allow_more() {
    let world = world().await;
    let app = &world.app;
    let fixture = fixture(&world).await;
    let employer_key = &world.keys[&Who::EmployerOwn];
    let candidates_path = format!("/v1/vacancies/{}/candidates", fixture.vacancy);

    // Consent to share, no release: the name, never the phone or the id.
    let list: Value = app
        .get(&candidates_path, employer_key)
        .await
        .json()
        .await
        .expect("JSON");
    let text = list.to_string();
    let item = list["items"]
        .as_array()
        .and_then(|items| items.first())
        .unwrap_or_else(|| panic!("a candidate: {list}"))
        .clone();
    let pseudonym = item["candidate"].as_str().expect("pseudonym").to_string();
    assert!(pseudonym.starts_with("cand_"));
    assert_eq!(item["full_name"], WORKER_NAME);
    assert!(!text.contains(WORKER_PHONE), "{text}");
    assert!(!text.contains(&fixture.worker), "no worker id: {text}");
    assert!(!text.contains("1995-04-12"), "no date of birth: {text}");
    assert_eq!(item["age_band"], "25-34");

    // Staff release the contact for this vacancy: now the phone shows.
    let release = app
        .post(
            &format!("{candidates_path}/{}/contact", fixture.worker),
            &app.staff_key,
            &json!({}),
        )
        .await;
    assert_eq!(release.status(), 200);
    let list: Value = app
        .get(&candidates_path, employer_key)
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(list["items"][0]["phone"], WORKER_PHONE);
    assert_eq!(
        list["items"][0]["candidate"], pseudonym,
        "the pseudonym is stable"
    );

    // Consent withdrawn: at once, neither name nor phone.
    let withdraw = app
        .patch(
            &format!("/v1/workers/{}", fixture.worker),
            &app.staff_key,
            &json!({"consent": {"share_with_employers": false}}),
            None,
        )
        .await;
    assert_eq!(withdraw.status(), 200);
    let text = app
        .get(&candidates_path, employer_key)
        .await
        .text()
        .await
        .expect("text");
    assert!(!text.contains(WORKER_NAME), "{text}");
    assert!(!text.contains(WORKER_PHONE), "{text}");
    assert!(
        text.contains(&pseudonym),
        "still listed, anonymously: {text}"
    );

    // Another employer sees the same person under another pseudonym.
    let employer_b = created_id(app, "/v1/employers", &app.staff_key, employer_body()).await;
    let key_b = app.employer_key(&employer_b).await;
    let vacancy_b = created_id(app, "/v1/vacancies", &key_b, vacancy_body(&employer_b)).await;
    let list_b: Value = app
        .get(&format!("/v1/vacancies/{vacancy_b}/candidates"), &key_b)
        .await
        .json()
        .await
        .expect("JSON");
    let pseudonym_b = list_b["items"][0]["candidate"]
        .as_str()
        .unwrap_or_else(|| panic!("the same person is a candidate: {list_b}"));
    assert!(pseudonym_b.starts_with("cand_"));
    assert_ne!(
        pseudonym_b, pseudonym,
        "pseudonyms differ between employers"
    );
}

#[tokio::test]
async fn reads_releases_and_erasures_are_in_the_audit_log_and_erasure_leaves_only_counts() {
    let world = world().await;
    let app = &world.app;
    let fixture = fixture(&world).await;
    assert_eq!(
        app.get(&format!("/v1/workers/{}", fixture.worker), &app.staff_key)
            .await
            .status(),
        200
    );
    let release = app
        .post(
            &format!(
                "/v1/vacancies/{}/candidates/{}/contact",
                fixture.vacancy, fixture.worker
            ),
            &app.staff_key,
            &json!({}),
        )
        .await;
    let request_id = release
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .expect("request id")
        .to_string();
    assert_eq!(release.status(), 200);
    let erase = app
        .request(
            Method::DELETE,
            &format!("/v1/workers/{}?wait_for=indexed", fixture.worker),
            &app.staff_key,
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(erase.status(), 204);

    let log: Value = app
        .get(
            &format!("/v1/audit?worker_id={}", fixture.worker),
            &app.admin_key,
        )
        .await
        .json()
        .await
        .expect("JSON");
    let actions: Vec<&str> = log["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|item| item["action"].as_str())
        .collect();
    // The create's answer carried the profile: the first read.
    assert_eq!(
        actions,
        [
            "profile_read",
            "profile_read",
            "contact_released",
            "profile_erased"
        ],
        "{log}"
    );
    assert_eq!(log["items"][2]["vacancy_id"], fixture.vacancy.as_str());
    assert_eq!(log["items"][2]["request_id"], request_id.as_str());
    assert!(!log.to_string().contains(WORKER_NAME));

    // Gone from the database, from matching, from candidate lists.
    assert_eq!(
        app.get(&format!("/v1/workers/{}", fixture.worker), &app.staff_key)
            .await
            .status(),
        404
    );
    let candidates = app
        .get(
            &format!("/v1/vacancies/{}/candidates", fixture.vacancy),
            &app.staff_key,
        )
        .await
        .text()
        .await
        .expect("text");
    assert!(!candidates.contains(&fixture.worker), "{candidates}");
    let statistics: Value = app
        .get("/v1/statistics", &app.partner_key)
        .await
        .json()
        .await
        .expect("JSON");
    let erased: i64 = statistics["erased_workers"]
        .as_array()
        .expect("erased counts")
        .iter()
        .filter(|count| count["province_code"] == "22")
        .filter_map(|count| count["erased"].as_i64())
        .sum();
    assert_eq!(erased, 1, "{statistics}");
}

#[tokio::test]
async fn a_key_over_its_rate_gets_429_with_retry_after_and_other_keys_carry_on() {
    let app = spawn_app_with(jobmatch_api::limits::Limits {
        requests_per_minute: std::num::NonZeroU32::new(60).expect("non-zero"),
        burst: std::num::NonZeroU32::new(5).expect("non-zero"),
        ..jobmatch_api::limits::Limits::default()
    })
    .await;
    for _ in 0..5 {
        assert_eq!(app.get("/v1/sectors", &app.staff_key).await.status(), 200);
    }
    let refused = app.get("/v1/sectors", &app.staff_key).await;
    let retry_after: u64 = refused
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let problem = assert_problem(refused, 429).await;
    assert_eq!(problem["type"], "rate_limited");
    assert_eq!(app.get("/v1/sectors", &app.admin_key).await.status(), 200);
}

/// Every key the server has not found before costs a database lookup, asked
/// for without any key: an address that sends more unknown keys than its
/// allowance gets 429 with `Retry-After`, and no lookup, until then. Keys
/// stored when the server started, or found since, carry on, so a flood from a
/// shared address (a reverse proxy's) does not lock out the clients working
/// there, even after a restart.
#[tokio::test]
async fn an_address_sending_unknown_keys_gets_429_and_known_keys_carry_on() {
    let app = spawn_app_with(jobmatch_api::limits::Limits {
        requests_per_minute: std::num::NonZeroU32::new(1_000_000).expect("non-zero"),
        burst: std::num::NonZeroU32::new(100_000).expect("non-zero"),
        unknown_keys_per_minute: std::num::NonZeroU32::new(1).expect("non-zero"),
        unknown_keys_burst: std::num::NonZeroU32::new(3).expect("non-zero"),
        ..jobmatch_api::limits::Limits::default()
    })
    .await;
    assert_eq!(app.get("/v1/sectors", &app.staff_key).await.status(), 200);
    let unknown_key = || generate_key(Role::Admin, None, "never stored".into(), None).secret;
    for _ in 0..3 {
        let refused = app.get("/v1/sectors", &unknown_key()).await;
        assert_problem(refused, 401).await;
    }
    let refused = app.get("/v1/sectors", &unknown_key()).await;
    let retry_after: u64 = refused
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let problem = assert_problem(refused, 429).await;
    assert_eq!(problem["type"], "rate_limited");
    // Refused before its lookup, like any key the server has not found.
    assert_problem(app.get("/v1/sectors", &unknown_key()).await, 429).await;
    assert_eq!(app.get("/v1/sectors", &app.staff_key).await.status(), 200);
    // Stored before the server started, never sent until now: known all the same.
    assert_eq!(app.get("/v1/sectors", &app.partner_key).await.status(), 200);
    // A key made after start-up is looked up like an unknown one the first time.
    let late = generate_key(Role::Staff, None, "made later".into(), None);
    app.store
        .insert_api_key(&late.record)
        .await
        .expect("key stored");
    assert_problem(app.get("/v1/sectors", &late.secret).await, 429).await;
}

#[tokio::test]
async fn server_owned_fields_cannot_be_set_by_any_client() {
    let world = world().await;
    let app = &world.app;
    for (field, value) in [
        ("id", json!("00000000-0000-4000-8000-000000000000")),
        ("version", json!(7)),
        ("created_at", json!("2020-01-01T00:00:00Z")),
        ("updated_at", json!("2020-01-01T00:00:00Z")),
    ] {
        let mut vacancy = vacancy_body(&world.employer_a);
        vacancy[field] = value.clone();
        let problem = assert_problem(
            app.post("/v1/vacancies", &world.keys[&Who::EmployerOwn], &vacancy)
                .await,
            422,
        )
        .await;
        assert!(
            problem["errors"]
                .as_array()
                .is_some_and(|errors| errors.iter().any(|error| error["field"] == field)),
            "{field}: {problem}"
        );
        let mut worker = consenting_worker();
        worker[field] = value;
        let problem =
            assert_problem(app.post("/v1/workers", &app.staff_key, &worker).await, 422).await;
        assert!(problem.to_string().contains(field), "{field}: {problem}");
    }
    // An employer key cannot post for another employer, nor move its vacancy there.
    let other_employer = created_id(app, "/v1/employers", &app.staff_key, employer_body()).await;
    let own_key = &world.keys[&Who::EmployerOwn];
    assert_problem(
        app.post("/v1/vacancies", own_key, &vacancy_body(&other_employer))
            .await,
        403,
    )
    .await;
    let own_vacancy = created_id(
        app,
        "/v1/vacancies",
        own_key,
        vacancy_body(&world.employer_a),
    )
    .await;
    assert_problem(
        app.patch(
            &format!("/v1/vacancies/{own_vacancy}"),
            own_key,
            &json!({"employer_id": other_employer}),
            None,
        )
        .await,
        403,
    )
    .await;
}
