// The first page of the Phobos UI: sign in with the built-in identity
// provider, then the organizations you can see. The token is kept in
// memory only (never in localStorage or a URL), so a reload signs out.
import "./style.css";
import { ApiError, gql, problemLines } from "./graphql";

const app = document.getElementById("app")!;

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function show(...nodes: Node[]) {
  app.replaceChildren(
    el("header", {}, el("h1", {}, "Phobos"), el("a", { href: "/graphql" }, "GraphiQL")),
    el("main", {}, ...nodes),
  );
}

interface LoginAnswer {
  login: {
    accessToken: string | null;
    problems: { field?: string | null; message: string }[];
  };
}

function signIn(message = "") {
  const email = el("input", { type: "email", name: "email", required: true, autocomplete: "username" });
  const password = el("input", {
    type: "password",
    name: "password",
    required: true,
    autocomplete: "current-password",
  });
  const status = el("p", { className: "error", role: "alert" }, message);
  const form = el(
    "form",
    {},
    el("h2", {}, "Sign in"),
    el("label", {}, "Email", email),
    el("label", {}, "Password", password),
    el("button", { type: "submit" }, "Sign in"),
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.textContent = "";
    try {
      const { login } = await gql<LoginAnswer>(
        "mutation($i: LoginInput!) { login(input: $i) { accessToken problems { field message } } }",
        { i: { email: email.value, password: password.value } },
      );
      if (login.accessToken) {
        await organizations(login.accessToken);
      } else {
        status.textContent = problemLines(login.problems).join("\n") || "sign-in was refused";
      }
    } catch (e) {
      status.textContent = e instanceof ApiError ? e.message : String(e);
    }
  });
  show(form);
  email.focus();
}

interface Organizations {
  me: { name: string } | null;
  organizations: { edges: { node: { name: string; description: string } }[] };
}

async function organizations(token: string) {
  const data = await gql<Organizations>(
    "{ me { name } organizations { edges { node { name description } } } }",
    {},
    token,
  );
  const list = el("ul", {});
  for (const { node } of data.organizations.edges) {
    list.append(el("li", {}, el("strong", {}, node.name), node.description ? ` — ${node.description}` : ""));
  }
  if (data.organizations.edges.length === 0) {
    list.append(el("li", {}, "No organization yet: an administrator creates one with createOrganization."));
  }
  const out = el("button", { type: "button" }, "Sign out");
  out.addEventListener("click", () => signIn());
  show(
    el("p", {}, `Signed in as ${data.me?.name ?? "?"}. `, out),
    el("h2", {}, "Organizations"),
    list,
  );
}

signIn();
