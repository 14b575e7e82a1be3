// Who is signed in. The access token is kept in memory only (never in
// localStorage or a URL); the refresh token lives in the server's HttpOnly,
// SameSite=Strict session cookie (`phobos_refresh`, path /graphql), which no
// script here can read. So a reload resumes the session (`resume`), and the
// page the user was on is kept in the URL.
//
// An access token lasts minutes (PHOBOS_USER_SESSION_ACCESS_TOKEN_
// EXPIRATION_MINUTES): it is exchanged for a new one with refreshSession
// (the cookie's token) before it expires. A new token makes a new client
// (App.tsx), whose queries and subscriptions resume where they were. A
// token the server refuses early (it restarted with new keys) is renewed at
// once (`renewNow`, called by the client on UNAUTHENTICATED).
import { useSyncExternalStore } from "react";
import { gql } from "./graphql";

export interface Session {
  token: string;
  name: string;
  /** When the access token expires (RFC 3339). */
  expiresAt?: string | null;
}

let current: Session | null = null;
/** Why the last session ended, when it was not the user's doing. */
let ended = "";
let timer: ReturnType<typeof setTimeout> | undefined;
const listeners = new Set<() => void>();
const notify = () => listeners.forEach((l) => l());

/** How long to wait before refreshing a token that expires at `expiresAt`. */
export function refreshDelay(expiresAt: string, now: number): number {
  const left = Date.parse(expiresAt) - now;
  // A minute early, or at half its life when it is shorter than two.
  return Math.max(1000, left > 120_000 ? left - 60_000 : left / 2);
}

interface Tokens {
  accessToken: string | null;
  expiresAt: string | null;
  problems: { message: string }[];
}

/** New tokens for the session cookie's refresh token (which the server renews). */
const renew = () =>
  gql<{ refreshSession: Tokens }>(
    "mutation { refreshSession(input: {}) { accessToken expiresAt problems { message } } }",
  ).then((r) => r.refreshSession);

/**
 * Resumes this browser's session after a reload, if the session cookie
 * still holds one; false when there is none (sign in then).
 */
export async function resume(): Promise<boolean> {
  try {
    const t = await renew();
    if (!t.accessToken || current) return Boolean(current);
    const me = await gql<{ me: { name: string } }>("{ me { name } }", {}, t.accessToken);
    signIn({ token: t.accessToken, name: me.me.name, expiresAt: t.expiresAt });
    return true;
  } catch {
    return false;
  }
}

async function refresh() {
  const s = current;
  if (!s) return;
  try {
    const t = await renew();
    if (current !== s) return;
    if (t.accessToken) {
      signIn({ ...s, token: t.accessToken, expiresAt: t.expiresAt });
    } else {
      end(`Your session ended (${t.problems.map((p) => p.message).join("; ")}): sign in again.`);
    }
  } catch (e) {
    // The server may be restarting: try again shortly, until the token is gone.
    if (current === s && s.expiresAt && Date.parse(s.expiresAt) > Date.now()) {
      timer = setTimeout(refresh, 5000);
    } else if (current === s) {
      end(`Your session could not be renewed (${String(e)}): sign in again.`);
    }
  }
}

let forcedAt = 0;

/**
 * The server refused the access token before it expired (a server restarted
 * with new signing keys, a revoked session): renew it now, at most every
 * 10 s. While the server cannot be reached, `refresh` tries again every 5 s.
 */
export function renewNow() {
  if (!current || Date.now() - forcedAt < 10_000) return;
  forcedAt = Date.now();
  clearTimeout(timer);
  void refresh();
}

export function signIn(session: Session) {
  current = session;
  ended = "";
  clearTimeout(timer);
  if (session.expiresAt) timer = setTimeout(refresh, refreshDelay(session.expiresAt, Date.now()));
  notify();
}

function end(why: string) {
  clearTimeout(timer);
  current = null;
  ended = why;
  notify();
}

/** Signs out here and ends the session on the server. */
export function signOut() {
  end("");
  void gql("mutation { logout(input: {}) { problems { message } } }").catch(() => undefined);
}

export function useSession(): Session | null {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => current,
  );
}

/** Why the last session ended by itself ("" when it did not). */
export function endedBecause(): string {
  return ended;
}
