//! The browser's session cookie: `login`, `oidcLogin` and `refreshSession`
//! also put the refresh token in an `HttpOnly` cookie, so the web UI's
//! session survives a reload without any script (or `localStorage`, or a
//! URL) holding the token. `SameSite=Strict` keeps other sites' requests
//! from carrying it, and its path is `/graphql` alone. Only
//! `refreshSession` and `logout` read it, when their input gives no token.

use async_graphql::Context;

/// The cookie's name.
pub const NAME: &str = "phobos_refresh";

/// The refresh token of the request's cookie, if it sent one.
#[derive(Default)]
pub struct RefreshCookie(pub Option<String>);

impl std::fmt::Debug for RefreshCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = if self.0.is_some() {
            "<redacted>"
        } else {
            "none"
        };
        f.debug_tuple("RefreshCookie").field(&shown).finish()
    }
}

/// The token the input names, else the cookie's.
pub(crate) fn token_of(ctx: &Context<'_>, given: Option<String>) -> Option<String> {
    given.or_else(|| ctx.data_opt::<RefreshCookie>().and_then(|c| c.0.clone()))
}

fn secure(ctx: &Context<'_>) -> bool {
    let config = &super::app(ctx).config;
    config.tls.is_some() || config.ui_url.starts_with("https://")
}

/// Sets the cookie to `token` for `max_age` seconds.
pub(crate) fn set(ctx: &Context<'_>, token: &str, max_age: i64) {
    let secure = if secure(ctx) { "; Secure" } else { "" };
    ctx.append_http_header(
        "set-cookie",
        format!(
            "{NAME}={token}; Path=/graphql; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
        ),
    );
}

/// Removes the cookie.
pub(crate) fn clear(ctx: &Context<'_>) {
    let secure = if secure(ctx) { "; Secure" } else { "" };
    ctx.append_http_header(
        "set-cookie",
        format!("{NAME}=; Path=/graphql; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    );
}
