// Sign in with the built-in identity provider (an administrator's email
// and password) or with the OIDC provider (oidc.ts). The tokens stay in
// memory: see session.ts.
import { useEffect, useState, type FormEvent } from "react";
import { ApiError, gql, problemLines } from "../graphql";
import { navigate } from "../router";
import { redirectUri, startOidcSignIn, takeCallback, type OidcSettings } from "../oidc";
import { endedBecause, signIn } from "../session";

interface Settings extends OidcSettings {
  oidcIssuerUrl: string | null;
  builtInLogin: boolean;
}

interface LoginAnswer {
  login: {
    accessToken: string | null;
    expiresAt: string | null;
    problems: { field?: string | null; message: string }[];
  };
}

/** Signs in with a session's tokens, as whoever they name. */
async function enter(t: Omit<LoginAnswer["login"], "problems">) {
  if (!t.accessToken) return;
  const me = await gql<{ me: { name: string } }>("{ me { name } }", {}, t.accessToken);
  signIn({ token: t.accessToken, name: me.me.name, expiresAt: t.expiresAt });
}

export function SignIn() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState(endedBecause);
  const [busy, setBusy] = useState(false);
  const [settings, setSettings] = useState<Settings | null>(null);
  useEffect(() => {
    gql<{ authSettings: Settings }>(
      "{ authSettings { oidcIssuerUrl oidcClientId oidcScope oidcAuthorizationEndpoint builtInLogin } }",
      {},
    ).then(
      (r) => setSettings(r.authSettings),
      (e) => setError(`the server's sign-in settings could not be read (${String(e)}); reload to try again`),
    );
  }, []);
  const oidc = async () => {
    if (!settings) return;
    setBusy(true);
    try {
      await startOidcSignIn(settings);
    } catch (e) {
      setError(String(e instanceof Error ? e.message : e));
      setBusy(false);
    }
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError("");
    setBusy(true);
    try {
      const { login } = await gql<LoginAnswer>(
        "mutation($i: LoginInput!) { login(input: $i) { accessToken expiresAt problems { field message } } }",
        { i: { email, password } },
      );
      if (login.accessToken) {
        await enter(login);
      } else {
        setError(problemLines(login.problems).join("\n") || "sign-in was refused");
      }
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <header>
        <h1>Phobos</h1>
      </header>
      <main>
        <h2>Sign in</h2>
        {settings?.oidcAuthorizationEndpoint && (
          <p>
            <button type="button" disabled={busy} onClick={oidc}>
              Sign in with {providerName(settings.oidcIssuerUrl)}
            </button>
          </p>
        )}
        {settings && !settings.builtInLogin && !settings.oidcAuthorizationEndpoint && (
          <p className="error" role="alert">
            No way to sign in is configured: set PHOBOS_ADMIN_USER_EMAIL and _PASSWORD, or an OIDC provider
            (PHOBOS_OAUTH_PROVIDERS_0_ISSUER_URL and _CLIENT_ID).
          </p>
        )}
        <form onSubmit={submit} hidden={settings?.builtInLogin === false}>
          <label>
            Email
            <input
              type="email"
              name="email"
              required
              autoComplete="username"
              autoFocus
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          </label>
          <label>
            Password
            <input
              type="password"
              name="password"
              required
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </label>
          <button type="submit" disabled={busy}>
            Sign in
          </button>
        </form>
        <p className="error" role="alert">
          {error}
        </p>
      </main>
    </>
  );
}

/** The provider's host, for its button. */
function providerName(issuer: string | null): string {
  try {
    return issuer ? new URL(issuer).host : "your identity provider";
  } catch {
    return "your identity provider";
  }
}

/** The way back from the provider: the code becomes a session. */
export function OidcCallback() {
  const [error, setError] = useState("");
  useEffect(() => {
    const taken = takeCallback(location.search);
    if ("error" in taken) {
      setError(taken.error);
      return;
    }
    gql<{ oidcLogin: LoginAnswer["login"] }>(
      "mutation($i: OidcLoginInput!) { oidcLogin(input: $i) { accessToken expiresAt problems { field message } } }",
      { i: { code: taken.code, codeVerifier: taken.pending.verifier, redirectUri: redirectUri(location.origin) } },
    )
      .then(async ({ oidcLogin: t }) => {
        if (!t.accessToken) {
          setError(problemLines(t.problems).join("\n") || "sign-in was refused");
          return;
        }
        // The code leaves the address bar and the history.
        navigate(taken.pending.returnTo, true);
        await enter(t);
      })
      .catch((e) => setError(e instanceof ApiError ? e.message : String(e)));
  }, []);
  return (
    <>
      <header>
        <h1>Phobos</h1>
      </header>
      <main>
        {error ? (
          <>
            <p className="error" role="alert">
              Could not sign in: {error}
            </p>
            <p>
              <a href="/">Sign in again</a>
            </p>
          </>
        ) : (
          <p className="muted">Signing in…</p>
        )}
      </main>
    </>
  );
}
