//! The HTTP side: GraphQL at `/graphql` (POST; GET serves GraphiQL, or the
//! websocket for subscriptions), and `/healthz`.

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use async_graphql::http::GraphiQLSource;
use async_graphql::Data;
use async_graphql_actix_web::{GraphQLRequest, GraphQLResponse, GraphQLSubscription};
use tracing::Instrument;

use crate::graphql::{Caller, PhobosSchema};
use crate::service::App;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/graphql", web::post().to(graphql))
        .route("/graphql", web::get().to(graphiql_or_ws))
        .route("/healthz", web::get().to(healthz));
}

async fn graphql(
    app: web::Data<Arc<App>>,
    schema: web::Data<PhobosSchema>,
    req: HttpRequest,
    body: GraphQLRequest,
) -> GraphQLResponse {
    let header = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    let caller = Caller(app.tokens.verify_header(header));
    let request = body.into_inner().data(caller);
    let span = tracing::info_span!(
        "graphql",
        operation = request.operation_name.as_deref().unwrap_or("")
    );
    schema.execute(request).instrument(span).await.into()
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
        let page = GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql")
            .finish();
        return Ok(HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(page));
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
            data.insert(Caller(app.tokens.verify_header(header.as_deref())));
            Ok(data)
        })
        .start(&req, payload)
}

async fn healthz(app: web::Data<Arc<App>>) -> HttpResponse {
    match sqlx::query("SELECT 1").execute(&app.pool).await {
        Ok(_) => HttpResponse::Ok().body("ok"),
        Err(_) => HttpResponse::ServiceUnavailable().body("database unavailable"),
    }
}
