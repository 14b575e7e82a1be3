import { useEffect, useMemo, useState } from "react";
import { Provider, useQuery } from "urql";
import { graphql } from "./gql";
import { createApi, SocketContext, type Connection } from "./client";
import { Link, useRoute } from "./router";
import { renewNow, resume, signOut, useSession } from "./session";
import { OidcCallback, SignIn } from "./pages/SignIn";
import { CALLBACK_PATH } from "./oidc";
import { Organizations } from "./pages/Organizations";
import { Agents } from "./pages/Agents";
import { Releases } from "./pages/Releases";
import { Release } from "./pages/Release";
import { Environment, Environments } from "./pages/Environments";
import { Organization } from "./pages/Organization";
import { ProjectActivity } from "./pages/Activity";
import { Project } from "./pages/Project";
import { Pipeline } from "./pages/Pipeline";
import { ThemeToggle } from "./theme";

export function App() {
  const session = useSession();
  const route = useRoute();
  const callback = route.page === "not-found" && route.path === CALLBACK_PATH;
  // A reload: the session cookie may still hold this browser's session.
  const [resuming, setResuming] = useState(!session && !callback);
  useEffect(() => {
    if (resuming) void resume().finally(() => setResuming(false));
  }, [resuming]);
  if (!session) {
    if (callback) return <OidcCallback />;
    if (resuming) return <p className="muted">Resuming your session…</p>;
    return <SignIn />;
  }
  return <SignedIn token={session.token} name={session.name} />;
}

function SignedIn({ token, name }: { token: string; name: string }) {
  const [connection, setConnection] = useState<Connection>("connecting");
  const api = useMemo(() => createApi(token, setConnection, renewNow), [token]);
  useEffect(() => {
    // A new token's client starts afresh: the old one's state was its own.
    setConnection((c) => (c === "reconnecting" ? "connecting" : c));
    return () => api.dispose();
  }, [api]);
  const route = useRoute();
  return (
    <Provider value={api.client}>
      <SocketContext.Provider value={api.ws}>
        <header>
          <h1>
            <Link to={{ page: "organizations" }}>Phobos</Link>
          </h1>
          <nav aria-label="Breadcrumbs" className="crumbs">
            {"org" in route && <Link to={{ page: "organization", org: route.org }}>{route.org}</Link>}
            {"project" in route && (
              <Link to={{ page: "project", org: route.org, project: route.project }}>{route.project}</Link>
            )}
          </nav>
          <span className="spacer" />
          <SupportLink />
          <ThemeToggle />
          <span>{name}</span>
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </header>
        {connection === "reconnecting" && (
          <p className="banner" role="status">
            Reconnecting… the page catches up by itself once the server answers.
          </p>
        )}
        <main>
          {route.page === "organizations" && <Organizations />}
          {route.page === "agents" && <Agents open={route.agent} />}
          {route.page === "organization" && <Organization org={route.org} />}
          {route.page === "project" && <Project org={route.org} project={route.project} filter={route} />}
          {route.page === "releases" && <Releases org={route.org} project={route.project} />}
          {route.page === "activity" && (
            <ProjectActivity org={route.org} project={route.project} actor={route.actor} type={route.type} />
          )}
          {route.page === "release" && (
            <Release org={route.org} project={route.project} id={route.id} compare={route.compare} />
          )}
          {route.page === "environments" && <Environments org={route.org} project={route.project} />}
          {route.page === "environment" && <Environment org={route.org} project={route.project} name={route.name} />}
          {route.page === "pipeline" && <Pipeline route={route} />}
          {route.page === "not-found" && (
            <p>
              There is no page at {route.path}. <Link to={{ page: "organizations" }}>See your organizations</Link>.
            </p>
          )}
        </main>
      </SocketContext.Provider>
    </Provider>
  );
}

const ServerQuery = graphql(`
  query ServerInfo {
    serverInfo {
      supportUrl
    }
  }
`);

/** `PHOBOS_SUPPORT_URL`, when the server has one. */
function SupportLink() {
  const [{ data }] = useQuery({ query: ServerQuery });
  const url = data?.serverInfo.supportUrl;
  return url ? (
    <a href={url} rel="noopener noreferrer" target="_blank">
      Support
    </a>
  ) : null;
}
