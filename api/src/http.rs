//! The HTTP side: GraphQL at `/graphql` (POST; GET serves GraphiQL, whose
//! assets are under `/graphiql/`, or the
//! websocket for subscriptions), `/healthz` (liveness: the process answers)
//! and `/readyz` (each background worker's position, lag and last error;
//! 503 while one is failing), `/metrics` (Prometheus), and the web UI at
//! every other path.

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use async_graphql::Data;
use async_graphql_actix_web::{GraphQLRequest, GraphQLResponse, GraphQLSubscription};
use tracing::Instrument;

use crate::graphql::{Caller, PhobosSchema};
use crate::service::App;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/graphql", web::post().to(graphql))
        .route("/graphql", web::get().to(graphiql_or_ws))
        .route("/graphiql/{file}", web::get().to(crate::graphiql::asset))
        .route("/healthz", web::get().to(healthz))
        .route(
            "/.well-known/openid-configuration",
            web::get().to(openid_configuration),
        )
        .route("/.well-known/jwks.json", web::get().to(jwks))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics))
        .route("/jobs/{id}/log", web::get().to(job_log))
        // Everything else is the web UI (crate::ui).
        .default_service(web::to(crate::ui::serve));
}

/// CORS for `PHOBOS_CORS_ALLOWED_ORIGINS` (default: the UI's URL); `*`
/// allows any origin.
pub fn cors(origins: &[String]) -> actix_cors::Cors {
    let mut c = actix_cors::Cors::default()
        .allowed_methods(["GET", "POST", "OPTIONS"])
        .allowed_headers(["authorization", "content-type"])
        .max_age(3600);
    for o in origins {
        c = if o == "*" {
            c.allow_any_origin()
        } else {
            c.allowed_origin(o.trim_end_matches('/'))
        };
    }
    c
}

async fn graphql(
    app: web::Data<Arc<App>>,
    schema: web::Data<PhobosSchema>,
    req: HttpRequest,
    body: GraphQLRequest,
) -> actix_web::Either<GraphQLResponse, HttpResponse> {
    let header = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    let caller = Caller(app.authenticate(header).await);
    // Per principal; per IP address for callers without a valid token.
    let key = match &caller.0 {
        Ok(c) => c.actor().to_string(),
        Err(_) => format!(
            "ip:{}",
            req.peer_addr()
                .map(|a| a.ip().to_string())
                .unwrap_or_default()
        ),
    };
    if let crate::rate::RateDecision::Limited { retry_after } = app.rate_limits.check(&key).await {
        return actix_web::Either::Right(
            HttpResponse::TooManyRequests()
                .insert_header(("retry-after", retry_after.to_string()))
                .json(serde_json::json!({
                    "errors": [{
                        "message": format!("too many requests: at most {} a second (PHOBOS_HTTP_RATE_LIMIT); retry after {retry_after} s", app.config.http_rate_limit),
                        "extensions": { "code": "RATE_LIMITED" },
                    }]
                })),
        );
    }
    let cookie = crate::graphql::session_cookie::RefreshCookie(
        req.cookie(crate::graphql::session_cookie::NAME)
            .map(|c| c.value().to_string()),
    );
    let request = body
        .into_inner()
        .data(caller)
        .data(cookie)
        .data(crate::graphql::loaders::for_request(app.pool.clone()))
        .data(crate::graphql::abilities::AbilitiesMemo::default());
    let operation = request.operation_name.as_deref().unwrap_or("");
    let span = tracing::info_span!(
        "graphql",
        otel.name = tracing::field::Empty,
        otel.kind = "server",
        operation,
    );
    phobos_telemetry::name(&span, || {
        format!("graphql {operation}").trim_end().to_owned()
    });
    // A caller that traces (a proxy, a client) names its span.
    phobos_telemetry::extract(&span, |name| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    });
    actix_web::Either::Left(schema.execute(request).instrument(span).await.into())
}

async fn graphiql_or_ws(
    app: web::Data<Arc<App>>,
    schema: web::Data<PhobosSchema>,
    req: HttpRequest,
    payload: web::Payload,
) -> actix_web::Result<HttpResponse> {
    let is_ws = req
        .headers()
        .get("upgrade")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !is_ws {
        return Ok(HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(crate::graphiql::PAGE));
    }
    let app = app.get_ref().clone();
    GraphQLSubscription::new(schema.get_ref().clone())
        .on_connection_init(move |init: serde_json::Value| async move {
            // `{"Authorization": "Bearer …"}` in the connection_init payload.
            let header = init
                .get("Authorization")
                .or_else(|| init.get("authorization"))
                .and_then(|v| v.as_str())
                .map(str::to_string);
            let mut data = Data::default();
            data.insert(Caller(app.authenticate(header.as_deref()).await));
            data.insert(crate::graphql::loaders::for_request(app.pool.clone()));
            Ok(data)
        })
        .start(&req, payload)
}

/// This server as an OIDC issuer: where its token keys are.
async fn openid_configuration(app: web::Data<Arc<App>>) -> HttpResponse {
    let issuer = app.tokens.issuer().trim_end_matches('/').to_string();
    HttpResponse::Ok().json(serde_json::json!({
        "issuer": app.tokens.issuer(),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "id_token_signing_alg_values_supported": app.tokens.algorithms(),
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
    }))
}

/// The public keys that verify this server's tokens now.
async fn jwks(app: web::Data<Arc<App>>) -> HttpResponse {
    HttpResponse::Ok().json(app.tokens.jwks())
}

async fn healthz(app: web::Data<Arc<App>>) -> HttpResponse {
    match sqlx::query("SELECT 1").execute(&app.pool).await {
        Ok(_) => HttpResponse::Ok().body("ok"),
        Err(_) => HttpResponse::ServiceUnavailable().body("database unavailable"),
    }
}

/// Every background worker: where it is in the log and how far behind the
/// log's head (events), whether it is failing, its last error (for a log
/// follower, the checkpoint it is stuck after: the failing event is the
/// next), and how often it was restarted. 200 when none is failing, else 503.
async fn readyz(app: web::Data<Arc<App>>) -> HttpResponse {
    let mut ready = true;
    let mut workers = Vec::new();
    for (name, state, lag) in crate::metrics::workers(&app).await {
        ready &= !state.failing;
        workers.push(serde_json::json!({
            "name": name,
            "position": state.position.map(|p| p.to_string()),
            "lag": lag,
            "failing": state.failing,
            "restarts": state.restarts,
            "lastError": state.last_error.map(|e| serde_json::json!({
                "message": e.message,
                "after": e.after.map(|p| p.to_string()),
                "at": e.at,
            })),
        }));
    }
    let body = serde_json::json!({ "ready": ready, "workers": workers });
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// `GET /jobs/{id}/log`: a job's whole log as stored now, raw, for
/// download. Authorized as `/graphql` is (a bearer token; a job the caller
/// may not see is 404); `{id}` is the job's GraphQL id or its UUID.
async fn job_log(
    app: web::Data<Arc<App>>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    use crate::service::{Code, ServiceError};
    let error = |e: ServiceError| {
        HttpResponse::build(e.code.http_status())
            .json(serde_json::json!({ "error": e.message, "code": e.code.as_str() }))
    };
    let header = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    let claims = match app.authenticate(header).await {
        Ok(c) => c,
        Err(e) => return error(e.into()),
    };
    if let crate::rate::RateDecision::Limited { retry_after } =
        app.rate_limits.check(&claims.actor().to_string()).await
    {
        return HttpResponse::TooManyRequests()
            .insert_header(("retry-after", retry_after.to_string()))
            .finish();
    }
    let not_found = || {
        error(ServiceError::new(
            Code::NotFound,
            format!("job {id} does not exist"),
        ))
    };
    let Some(job) = crate::graphql::ids::uuid_of(phobos_core::events::aggregate::JOB, &id) else {
        return not_found();
    };
    match app.job(&claims, job).await {
        Ok(Some(_)) => {}
        Ok(None) => return not_found(),
        Err(e) => return error(e),
    }
    let app = app.into_inner();
    let body = async_stream::stream! {
        let mut at = 0;
        loop {
            match app.job_log_from(job, at).await {
                Ok(read) if read.data.is_empty() => break,
                Ok(read) => {
                    at = read.next;
                    yield Ok::<_, actix_web::Error>(actix_web::web::Bytes::from(read.data));
                }
                Err(e) => {
                    tracing::warn!(error = %e.message, "job log download cut short");
                    yield Err(actix_web::error::ErrorServiceUnavailable(
                        "the log store is unavailable; try again",
                    ));
                    break;
                }
            }
        }
    };
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"job-{job}.log\""),
        ))
        .insert_header(("x-content-type-options", "nosniff"))
        .streaming(body)
}

/// `/metrics`, in the Prometheus text format (`crate::metrics`).
async fn metrics(app: web::Data<Arc<App>>) -> HttpResponse {
    match crate::metrics::render(&app).await {
        Ok(page) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(page),
        Err(e) => {
            tracing::warn!(error = %e, "metrics could not be read");
            HttpResponse::ServiceUnavailable()
                .body("metrics could not be read from the database; see the server log")
        }
    }
}
