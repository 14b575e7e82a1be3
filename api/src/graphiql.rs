//! GraphiQL, served by this server: the page and its scripts are compiled
//! into the binary (`api/assets/graphiql`, versions and licences in its
//! `LICENSES.md`), so `GET /graphql` works on a machine without internet.
//! Nothing on the page loads from another host.

use actix_web::{web, HttpResponse};

/// The page `GET /graphql` answers a browser with.
pub const PAGE: &str = include_str!("../assets/graphiql/index.html");

/// The files under `/graphiql/`, with their content types.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/graphiql/react-dom.production.min.js"),
    ),
    (
        "graphiql.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/graphiql/graphiql.min.js"),
    ),
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/graphiql/graphiql.min.css"),
    ),
];

/// `GET /graphiql/{file}`: one of the page's assets, cached for a day.
pub async fn asset(file: web::Path<String>) -> HttpResponse {
    match ASSETS.iter().find(|(name, _, _)| *name == file.as_str()) {
        Some((_, content_type, body)) => HttpResponse::Ok()
            .content_type(*content_type)
            .insert_header(("cache-control", "public, max-age=86400"))
            .body(*body),
        None => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body(format!(
                "no GraphiQL asset {file:?}: the page at /graphql names the ones there are"
            )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_only_this_servers_assets_and_each_is_there() {
        let mut named = 0;
        for attr in ["src=\"", "href=\""] {
            for part in PAGE.split(attr).skip(1) {
                let url = &part[..part.find('"').unwrap()];
                if url.starts_with("data:") {
                    continue;
                }
                let file = url
                    .strip_prefix("/graphiql/")
                    .unwrap_or_else(|| panic!("{url} is not one of this server's assets"));
                assert!(
                    ASSETS
                        .iter()
                        .any(|(name, _, body)| *name == file && !body.is_empty()),
                    "{file} is not served"
                );
                named += 1;
            }
        }
        assert_eq!(named, ASSETS.len(), "every asset is used by the page");
        assert!(!PAGE.contains("http://") && !PAGE.contains("https://"));
    }
}
