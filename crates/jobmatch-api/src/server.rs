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
use jobmatch_store::Store;
use tracing_actix_web::{RequestId, TracingLogger};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::error::{ApiError, PROBLEM_JSON};
use crate::follower::{Derived, Follower};
use crate::matching::Matching;
use crate::metrics::Metrics;
use crate::openapi::{ApiDoc, finish};
use crate::routes;
use crate::search::Search;
use crate::state::AppState;
use jobmatch_matching::Weights;

/// The finished OpenAPI document, exactly as the server serves it.
pub fn api_document() -> utoipa::openapi::OpenApi {
    let (_, document) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes::configure)
        .split_for_parts();
    finish(document)
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
    Indexes(#[source] jobmatch_store::StoreError),
    #[error("could not open the search index")]
    Search(#[source] jobmatch_search::SearchError),
    #[error("the matching configuration is invalid")]
    Matching(#[source] jobmatch_matching::MatchError),
}

impl Application {
    /// Binds `address` (port 0 picks a free port, for tests) and prepares the server.
    /// Binds, builds the derived indexes from the database, and starts following the
    /// change feed; serving starts with [`Application::run`].
    ///
    /// The search index lives in `search_dir`, or in memory when it is `None`.
    pub async fn build(
        address: &str,
        store: Store,
        search_dir: Option<&std::path::Path>,
    ) -> Result<Application, StartError> {
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
        let search = Arc::new(Search::open(search_dir).map_err(StartError::Search)?);
        let derived: Vec<Arc<dyn Derived>> = vec![matching.clone(), search.clone()];
        let (follower, feed) = Follower::bootstrap(store.clone(), derived)
            .await
            .map_err(StartError::Indexes)?;
        tokio::spawn(follower.run());
        let state = web::Data::new(AppState {
            store,
            reference,
            metrics: Metrics::new(),
            search,
            matching,
            feed,
        });
        let document = api_document();
        let routes_by_path = Arc::new(RouteTable::from_document(&document));
        let server = HttpServer::new(move || {
            let routes_by_path = routes_by_path.clone();
            App::new()
                .into_utoipa_app()
                .app_data(state.clone())
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
                    .wrap(from_fn(problems_and_metrics))
                    .wrap(TracingLogger::default())
                })
                .into_app()
        })
        .shutdown_timeout(15)
        .listen(listener)
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

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Counts and times each request by route pattern, tags the response with its
/// request id, and makes sure every error leaves as problem+json, including those
/// that actix-web produces itself before a handler runs.
async fn problems_and_metrics(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = request.method().to_string();
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
            .with_label_values(&[method.as_str(), route.as_str(), status.as_str()])
            .inc();
        state
            .metrics
            .latency
            .with_label_values(&[method.as_str(), route.as_str()])
            .observe(started.elapsed().as_secs_f64());
    }
    Ok(response)
}
