// Signing in with the OIDC provider (authorization code flow with PKCE,
// RFC 7636): the browser goes to the provider's authorization endpoint and
// comes back to /oauth/callback with a code, which the server exchanges
// (`oidcLogin`) for a session of its own. No provider token ever reaches the
// browser, and nothing but the PKCE verifier and the state (which are not
// credentials without the code) waits in sessionStorage for the way back.

export interface OidcSettings {
  oidcAuthorizationEndpoint: string | null;
  oidcClientId: string | null;
  oidcScope: string | null;
}

const KEY = "phobos.oidc";
export const CALLBACK_PATH = "/oauth/callback";

export interface Pending {
  verifier: string;
  state: string;
  /** The page to show once signed in. */
  returnTo: string;
}

const base64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

function random(n: number): string {
  const b = new Uint8Array(n);
  crypto.getRandomValues(b);
  return base64url(b);
}

/** The S256 challenge of a verifier. */
export async function challengeOf(verifier: string): Promise<string> {
  if (!crypto.subtle)
    throw new Error("signing in with OIDC needs a secure page: open Phobos over HTTPS (or on localhost)");
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** The URL the browser comes back to. */
export const redirectUri = (origin: string) => origin + CALLBACK_PATH;

/** The authorization request's URL. */
export function authorizationUrl(s: OidcSettings, p: Pending, challenge: string, origin: string): string {
  const u = new URL(s.oidcAuthorizationEndpoint ?? "");
  u.searchParams.set("response_type", "code");
  u.searchParams.set("client_id", s.oidcClientId ?? "");
  u.searchParams.set("redirect_uri", redirectUri(origin));
  u.searchParams.set("scope", s.oidcScope ?? "openid profile email");
  u.searchParams.set("state", p.state);
  u.searchParams.set("code_challenge", challenge);
  u.searchParams.set("code_challenge_method", "S256");
  return u.toString();
}

/** Sends the browser to the provider; it comes back to the callback. */
export async function startOidcSignIn(s: OidcSettings): Promise<void> {
  const returnTo = location.pathname === CALLBACK_PATH ? "/" : location.pathname + location.search;
  const p: Pending = { verifier: random(48), state: random(24), returnTo };
  const challenge = await challengeOf(p.verifier);
  sessionStorage.setItem(KEY, JSON.stringify(p));
  location.assign(authorizationUrl(s, p, challenge, location.origin));
}

/**
 * The code of the way back, if its state is the one this tab sent (a
 * callback this tab did not start is refused). The pending request is
 * used up either way.
 */
export function takeCallback(search: string): { code: string; pending: Pending } | { error: string } {
  const q = new URLSearchParams(search);
  const raw = sessionStorage.getItem(KEY);
  sessionStorage.removeItem(KEY);
  const pending = raw ? (JSON.parse(raw) as Pending) : null;
  if (q.get("error"))
    return { error: `the provider refused: ${q.get("error_description") || q.get("error")}; sign in again` };
  const code = q.get("code");
  if (!pending || !code || q.get("state") !== pending.state)
    return { error: "this sign-in was not started from this tab, or was already used: sign in again" };
  return { code, pending };
}
