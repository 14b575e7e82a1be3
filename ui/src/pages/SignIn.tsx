// Sign in with the built-in identity provider (an administrator's email
// and password). The token stays in memory: see session.ts.
import { useState, type FormEvent } from "react";
import { ApiError, gql, problemLines } from "../graphql";
import { endedBecause, signIn } from "../session";

interface LoginAnswer {
  login: {
    accessToken: string | null;
    refreshToken: string | null;
    expiresAt: string | null;
    problems: { field?: string | null; message: string }[];
  };
}

export function SignIn() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState(endedBecause);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError("");
    setBusy(true);
    try {
      const { login } = await gql<LoginAnswer>(
        "mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken expiresAt problems { field message } } }",
        { i: { email, password } },
      );
      if (login.accessToken) {
        const me = await gql<{ me: { name: string } }>("{ me { name } }", {}, login.accessToken);
        signIn({
          token: login.accessToken,
          name: me.me.name,
          refreshToken: login.refreshToken,
          expiresAt: login.expiresAt,
        });
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
        <form onSubmit={submit}>
          <h2>Sign in</h2>
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
          <p className="error" role="alert">
            {error}
          </p>
        </form>
      </main>
    </>
  );
}
