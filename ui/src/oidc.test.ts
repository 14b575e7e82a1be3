import { beforeEach, describe, expect, it } from "vitest";
import { authorizationUrl, challengeOf, takeCallback } from "./oidc";

describe("PKCE", () => {
  it("computes RFC 7636's S256 challenge (its appendix B example)", async () => {
    expect(await challengeOf("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).toBe(
      "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    );
  });
  it("asks for a code with the challenge, the state and the callback", () => {
    const u = new URL(
      authorizationUrl(
        { oidcAuthorizationEndpoint: "https://idp.test/auth?tenant=x", oidcClientId: "ui", oidcScope: null },
        { verifier: "v", state: "s1", returnTo: "/" },
        "c1",
        "https://phobos.test",
      ),
    );
    expect(u.origin + u.pathname).toBe("https://idp.test/auth");
    expect(Object.fromEntries(u.searchParams)).toEqual({
      tenant: "x",
      response_type: "code",
      client_id: "ui",
      redirect_uri: "https://phobos.test/oauth/callback",
      scope: "openid profile email",
      state: "s1",
      code_challenge: "c1",
      code_challenge_method: "S256",
    });
  });
});

describe("the way back", () => {
  const store = new Map<string, string>();
  beforeEach(() => {
    store.clear();
    globalThis.sessionStorage = {
      getItem: (k: string) => store.get(k) ?? null,
      setItem: (k: string, v: string) => void store.set(k, v),
      removeItem: (k: string) => void store.delete(k),
    } as Storage;
  });
  const pending = { verifier: "v", state: "s1", returnTo: "/organizations/acme" };
  it("takes the code of its own state, once", () => {
    sessionStorage.setItem("phobos.oidc", JSON.stringify(pending));
    expect(takeCallback("?code=abc&state=s1")).toEqual({ code: "abc", pending });
    expect(takeCallback("?code=abc&state=s1")).toHaveProperty("error");
  });
  it("refuses another state, and says what the provider said", () => {
    sessionStorage.setItem("phobos.oidc", JSON.stringify(pending));
    expect(takeCallback("?code=abc&state=other")).toHaveProperty("error");
    sessionStorage.setItem("phobos.oidc", JSON.stringify(pending));
    expect(takeCallback("?error=access_denied&state=s1")).toEqual({
      error: "the provider refused: access_denied; sign in again",
    });
  });
});
