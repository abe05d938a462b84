//! Building and running the HTTP server.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, HttpServer, web};
use jobmatch_domain::Reference;
use jobmatch_matching::Weights;
use jobmatch_service::follower::{Derived, FeedPosition, Follower};
use jobmatch_service::match_index::Matching;
use jobmatch_service::search_index::Search;
use jobmatch_store::Store;
use tracing_actix_web::{RequestId, TracingLogger};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::error::{ApiError, PROBLEM_JSON};
use crate::metrics::Metrics;
use crate::openapi::{ApiDoc, finish};
use crate::routes;
use crate::state::AppState;

/// The finished OpenAPI document, exactly as the server serves it.
pub fn api_document() -> utoipa::openapi::OpenApi {
    let (_, document) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes::configure)
        .split_for_parts();
    finish(document)
}

/// Choices for [`Application::build_with`].
#[derive(Default)]
pub struct StartOptions {
    /// Request rate per key and time per request.
    pub limits: crate::limits::Limits,
    /// When given, a search index rebuild waits until this is released (or dropped)
    /// before it reads the database, so that a test can watch the server answer
    /// while its search index is rebuilding.
    pub hold_search_rebuild: Option<tokio::sync::oneshot::Receiver<()>>,
    /// While a test holds this lock, the search index applies no change, so that
    /// it can watch a server whose search lags behind the database.
    pub pause_search_following: Option<Arc<tokio::sync::Mutex<()>>>,
    /// When backups are taken on a schedule, when the last good one was:
    /// `/readyz` and `/metrics` show its age.
    pub backups: Option<Arc<crate::backups::BackupStatus>>,
    /// Serve TLS with this certificate (reloaded when its files change);
    /// plain HTTP when `None`.
    pub tls: Option<crate::tls::TlsFiles>,
    /// Peers whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed.
    pub trusted_proxies: crate::transport::TrustedProxies,
}

/// A server bound to its port, not yet running.
pub struct Application {
    port: u16,
    server: Server,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("could not listen on {address}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
    #[error("could not build the matching and search indexes from the database")]
    Indexes(#[source] jobmatch_service::follower::FollowError),
    #[error(
        "the search index in {} is in use by another process (another jobmatch serve?); each replica needs its own --data-dir",
        directory.display()
    )]
    SearchInUse { directory: std::path::PathBuf },
    #[error("could not open the search index")]
    Search(#[source] jobmatch_search::SearchError),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("the matching configuration is invalid")]
    Matching(#[source] jobmatch_matching::MatchError),
    #[error("could not read the API keys")]
    Keys(#[source] jobmatch_store::StoreError),
}

impl StartError {
    /// Names the usual cause of a locked index: two processes given one data
    /// directory.
    fn search(error: jobmatch_search::SearchError, directory: Option<&std::path::Path>) -> Self {
        match (error, directory) {
            (jobmatch_search::SearchError::Locked, Some(directory)) => StartError::SearchInUse {
                directory: directory.to_path_buf(),
            },
            (error, _) => StartError::Search(error),
        }
    }
}

impl Application {
    /// Binds `address` (port 0 picks a free port, for tests), builds the matching
    /// index from the database, opens the search index and starts following the change
    /// feed; serving starts with [`Application::run`].
    ///
    /// The search index lives in `search_dir`, or in memory when it is `None` (built
    /// before this returns, like matching). An index on disk that is missing, corrupt
    /// or of an older schema is rebuilt from the database in the background: the
    /// server answers meanwhile, `/readyz` says 503 and searches answer 503 with
    /// `Retry-After`.
    pub async fn build(
        address: &str,
        store: Store,
        search_dir: Option<&std::path::Path>,
    ) -> Result<Application, StartError> {
        Application::build_with(address, store, search_dir, StartOptions::default()).await
    }

    /// [`Application::build`] with options.
    pub async fn build_with(
        address: &str,
        store: Store,
        search_dir: Option<&std::path::Path>,
        options: StartOptions,
    ) -> Result<Application, StartError> {
        // First, so that a bad certificate stops the start before any work.
        let certificate = options
            .tls
            .clone()
            .map(crate::tls::ReloadingCertificate::load)
            .transpose()?;
        let listener = TcpListener::bind(address).map_err(|source| StartError::Bind {
            address: address.to_string(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartError::Bind {
                address: address.to_string(),
                source,
            })?
            .port();
        let reference = Reference::embedded();
        let matching =
            Arc::new(Matching::new(reference, Weights::default()).map_err(StartError::Matching)?);
        let (mut matching_follower, matching_feed) =
            Follower::new(store.clone(), vec![matching.clone() as Arc<dyn Derived>])
                .await
                .map_err(|error| StartError::Indexes(error.into()))?;
        matching_follower
            .rebuild()
            .await
            .map_err(StartError::Indexes)?;
        tokio::spawn(matching_follower.run(None));
        Matching::spawn_standing_builder(&matching);

        let search = Arc::new(
            Search::open(search_dir).map_err(|error| StartError::search(error, search_dir))?,
        );
        let (mut search_follower, search_feed) =
            Follower::new(store.clone(), vec![search.clone() as Arc<dyn Derived>])
                .await
                .map_err(|error| StartError::Indexes(error.into()))?;
        if search_dir.is_none() {
            search_follower
                .rebuild()
                .await
                .map_err(StartError::Indexes)?;
        }
        if let Some(pause) = options.pause_search_following {
            search_follower = search_follower.paused_by(pause);
        }
        tokio::spawn(search_follower.run(options.hold_search_rebuild));
        crate::idempotency::spawn_expiry(store.clone());

        // One key for every replica: the first server to start stores it.
        let mut candidate_secret = [0u8; 32];
        rand::fill(&mut candidate_secret);
        let pseudonyms = crate::privacy::Pseudonyms::new(
            &store
                .server_secret(
                    crate::privacy::PSEUDONYM_SECRET,
                    &hex::encode(candidate_secret),
                )
                .await
                .map_err(|error| StartError::Indexes(error.into()))?,
        );
        let key_cache = Arc::new(crate::auth::KeyCache::default());
        let rate_limits = Arc::new(crate::limits::RateLimits::new(&options.limits));
        let authenticator = web::Data::new(crate::auth::Authenticator {
            store: store.clone(),
            key_cache: key_cache.clone(),
            rate_limits: rate_limits.clone(),
        });
        let state = web::Data::new(AppState {
            store,
            reference,
            metrics: Metrics::new(),
            search,
            matching,
            feed: FeedPosition::combined([matching_feed, search_feed.clone()]),
            search_feed,
            own_writes: crate::own_writes::OwnWrites::default(),
            key_cache,
            rate_limits,
            pseudonyms,
            backups: options.backups,
        });
        // Stored keys are known from the start: a flood of unknown keys from
        // one address must not hold them up after a restart.
        state.key_cache.know_stored(
            &state
                .store
                .list_api_keys()
                .await
                .map_err(StartError::Keys)?,
        );
        // The rate limiters' tables forget idle keys and addresses once a
        // minute, for as long as the server's state lives.
        let limits_of = Arc::downgrade(&state.clone().into_inner());
        tokio::spawn(async move {
            let mut every_minute = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                every_minute.tick().await;
                match limits_of.upgrade() {
                    Some(state) => state.rate_limits.forget_idle_keys(),
                    None => break,
                }
            }
        });
        let document = api_document();
        let routes_by_path = Arc::new(RouteTable::from_document(&document));
        let trusted_proxies = options.trusted_proxies.clone();
        let server = HttpServer::new(move || {
            let routes_by_path = routes_by_path.clone();
            let literal_routes = routes_by_path.clone();
            App::new()
                .into_utoipa_app()
                .app_data(state.clone())
                .app_data(authenticator.clone())
                .app_data(web::PathConfig::default().error_handler(crate::error::path_error))
                .app_data(web::QueryConfig::default().error_handler(crate::error::query_error))
                .configure(routes::configure)
                .map(|app| {
                    app.service(
                        SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", document.clone()),
                    )
                    .service(web::redirect("/docs", "/docs/"))
                    .default_service(web::to(move |request: HttpRequest| {
                        let routes_by_path = routes_by_path.clone();
                        async move { fallback(&request, &routes_by_path) }
                    }))
                    .wrap(from_fn(time_limit))
                    // Outside the time limit: a request cut off frees its key.
                    .wrap(from_fn(crate::idempotency::idempotent_writes))
                    .wrap(from_fn({
                        let routes = literal_routes.clone();
                        move |request, next| literal_path_methods(routes.clone(), request, next)
                    }))
                    .wrap(from_fn(problems_and_metrics))
                    .wrap(from_fn({
                        let proxies = trusted_proxies.clone();
                        move |request, next| {
                            crate::transport::client_origin(proxies.clone(), request, next)
                        }
                    }))
                    .wrap(TracingLogger::<crate::request_log::RequestSpan>::new())
                })
                .into_app()
        })
        .shutdown_timeout(15)
        // HTTP/2 writes an answer's headers and body as separate frames; with
        // Nagle's algorithm the second waited for the client's delayed ACK
        // (a candidates request on a kept-alive connection took 52 ms over
        // HTTP/2 against 4 ms over HTTP/1.1, debug build,
        // benches/tls-overhead.sh).
        .tcp_nodelay(true);
        let server = match &certificate {
            Some(certificate) => {
                certificate.spawn_watch();
                server.listen_rustls_0_23(listener, certificate.server_config())
            }
            None => server.listen(listener),
        }
        .map_err(|source| StartError::Bind {
            address: address.to_string(),
            source,
        })?
        .run();
        Ok(Application { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT or SIGTERM, then drains requests in flight.
    pub async fn run(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Which methods each documented path template accepts, to tell a wrong method
/// (405 with `Allow`) from a wrong path (404).
struct RouteTable {
    routes: Vec<(Vec<String>, Vec<String>)>,
}

impl RouteTable {
    fn from_document(document: &utoipa::openapi::OpenApi) -> RouteTable {
        let value = serde_json::to_value(document).unwrap_or_default();
        let mut routes = Vec::new();
        if let Some(paths) = value.get("paths").and_then(|paths| paths.as_object()) {
            for (template, item) in paths {
                let segments = template.split('/').map(str::to_string).collect();
                let methods = item
                    .as_object()
                    .map(|operations| {
                        operations
                            .keys()
                            .map(|method| method.to_ascii_uppercase())
                            .collect()
                    })
                    .unwrap_or_default();
                routes.push((segments, methods));
            }
        }
        RouteTable { routes }
    }

    /// The methods of `path` when the document lists it as it is, with no
    /// parameter in it.
    fn literal_methods(&self, path: &str) -> Option<String> {
        self.routes.iter().find_map(|(template, methods)| {
            let literal = template.iter().all(|segment| !segment.starts_with('{'));
            (literal && template.join("/") == path).then(|| methods.join(", "))
        })
    }

    fn allowed_methods(&self, path: &str) -> Option<String> {
        let segments: Vec<&str> = path.split('/').collect();
        self.routes.iter().find_map(|(template, methods)| {
            let matches = template.len() == segments.len()
                && template.iter().zip(&segments).all(|(expected, actual)| {
                    (expected.starts_with('{') && !actual.is_empty()) || expected == actual
                });
            matches.then(|| methods.join(", "))
        })
    }
}

/// A path written out in full in the document (`/v1/workers/batch`) is that
/// resource, even where a template (`/v1/workers/{id}`) would also match it: a
/// method it does not accept is 405, not a lookup of a record called "batch".
async fn literal_path_methods(
    routes: Arc<RouteTable>,
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Some(allow) = routes.literal_methods(request.path())
        && !allow
            .split(", ")
            .any(|method| method == request.method().as_str())
    {
        let error = ApiError::MethodNotAllowed {
            method: request.method().to_string(),
            allow,
        };
        let response = actix_web::ResponseError::error_response(&error);
        return Ok(request.into_response(response).map_into_right_body());
    }
    next.call(request)
        .await
        .map(ServiceResponse::map_into_left_body)
}

fn fallback(request: &HttpRequest, routes: &RouteTable) -> Result<HttpResponse, ApiError> {
    let method = request.method().as_str();
    // A method the path allows that still found no route: the path itself is wrong.
    match routes
        .allowed_methods(request.path())
        .filter(|allow| !allow.split(", ").any(|allowed| allowed == method))
    {
        Some(allow) => Err(ApiError::MethodNotAllowed {
            method: request.method().to_string(),
            allow,
        }),
        None => Err(ApiError::NotFound(format!(
            "there is no resource at {}",
            request.path()
        ))),
    }
}

/// Abandons a request that runs longer than the configured limit with 503
/// problem+json. Dropping the handler's future rolls back a transaction that has
/// not committed; one that has committed stays (a client that retries with the
/// same `external_id` gets the record, not a duplicate).
///
/// The refusal leaves as an error (actix-web renders it with
/// [`ApiError`]'s problem+json): the request cannot be kept to build a
/// response, since routing needs it unshared.
async fn time_limit(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let limit = request
        .app_data::<web::Data<AppState>>()
        .map(|state| state.rate_limits.limits().request_timeout)
        .unwrap_or(crate::limits::Limits::default().request_timeout);
    match tokio::time::timeout(limit, next.call(request)).await {
        Ok(response) => response,
        Err(_) => Err(ApiError::Timeout {
            limit_secs: limit.as_secs(),
        }
        .into()),
    }
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Counts and times each request by route pattern, tags the response with its
/// request id, and makes sure every error leaves as problem+json, including those
/// that actix-web produces itself before a handler runs.
async fn problems_and_metrics(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = crate::metrics::method_label(request.method());
    let state = request.app_data::<web::Data<AppState>>().cloned();
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.to_string());
    let response = next.call(request).await?;
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    let mut response = if status.as_u16() >= 400 && !is_problem {
        let detail = status.canonical_reason().unwrap_or("error").to_lowercase();
        let problem = ApiError::from_status(status, detail);
        response
            .into_response(actix_web::ResponseError::error_response(&problem))
            .map_into_boxed_body()
    } else {
        response.map_into_boxed_body()
    };
    if let Some(id) = request_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        response.headers_mut().insert(REQUEST_ID.clone(), id);
    }
    if let Some(state) = state {
        state
            .metrics
            .requests
            .with_label_values(&[method, route.as_str(), status.as_str()])
            .inc();
        state
            .metrics
            .latency
            .with_label_values(&[method, route.as_str()])
            .observe(started.elapsed().as_secs_f64());
    }
    Ok(response)
}
