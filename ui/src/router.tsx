// Every page has a URL. The paths (all under the server's own origin):
//   /                                           organizations
//   /agents[?agent=PRN]                         agents (one's sessions and jobs open)
//   /organizations/ORG                          its projects
//   /organizations/ORG/projects/PROJECT         its pipelines and templates
//       [?status=FAILED&type=DEPLOYMENT&by=alice&template=ID&after=CURSOR]
//   /organizations/ORG/projects/PROJECT/activity[?actor=user:alice&type=PIPELINE]
//   /organizations/ORG/projects/PROJECT/releases[/ID]
//   /organizations/ORG/projects/PROJECT/environments[/NAME]
//   /organizations/ORG/projects/PROJECT/pipelines/ID
//       [?node=PATH&attempt=N&line=L][&view=list&status=FAILED,RUNNING&q=TEXT | &view=timeline]
import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from "react";

export type Route =
  | { page: "organizations" }
  | { page: "agents"; agent?: string }
  | { page: "organization"; org: string }
  | ({ page: "project"; org: string; project: string } & PipelineFilter)
  | { page: "releases"; org: string; project: string }
  | { page: "activity"; org: string; project: string; actor?: string; type?: string }
  | { page: "release"; org: string; project: string; id: string; compare?: string }
  | { page: "environments"; org: string; project: string }
  | { page: "environment"; org: string; project: string; name: string }
  | {
      page: "pipeline";
      org: string;
      project: string;
      id: string;
      node?: string;
      attempt?: number;
      line?: number;
      /** The list of nodes instead of the graph, filtered; or the pipeline's events. */
      view?: PipelineView;
      status?: readonly string[];
      q?: string;
    }
  | { page: "not-found"; path: string };

/** The pipeline page's other views (the graph is the default). */
export type PipelineView = "list" | "timeline";
const PIPELINE_VIEWS: readonly string[] = ["list", "timeline"] satisfies PipelineView[];

/** The project page's pipeline list: its filters and page, as the URL holds them. */
export interface PipelineFilter {
  status?: string;
  type?: string;
  /** Its creator: `user:alice`, or a username. */
  by?: string;
  /** A pipeline template's id. */
  template?: string;
  /** The cursor the page starts after (newest first). */
  after?: string;
}

const FILTER_KEYS = ["status", "type", "by", "template", "after"] as const;

const segment = (s: string) => decodeURIComponent(s);
const enc = encodeURIComponent;

/** The route of a URL's path and query string. */
export function parseRoute(pathname: string, search = ""): Route {
  const parts = pathname.split("/").filter(Boolean).map(segment);
  const q = new URLSearchParams(search);
  const num = (k: string) => {
    const v = q.get(k);
    const n = v == null ? NaN : Number(v);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  };
  if (parts.length === 0) return { page: "organizations" };
  if (parts.length === 1 && parts[0] === "agents") return { page: "agents", agent: q.get("agent") || undefined };
  if (parts[0] === "organizations") {
    if (parts.length === 2) return { page: "organization", org: parts[1] };
    if (parts.length === 4 && parts[2] === "projects") {
      const r: Route = { page: "project", org: parts[1], project: parts[3] };
      for (const k of FILTER_KEYS) {
        const v = q.get(k);
        if (v) r[k] = v;
      }
      return r;
    }
    if (parts.length === 5 && parts[2] === "projects" && parts[4] === "releases")
      return { page: "releases", org: parts[1], project: parts[3] };
    if (parts.length === 5 && parts[2] === "projects" && parts[4] === "activity") {
      const r: Route = { page: "activity", org: parts[1], project: parts[3] };
      if (q.get("actor")) r.actor = q.get("actor") ?? undefined;
      if (q.get("type")) r.type = q.get("type") ?? undefined;
      return r;
    }
    if (parts.length === 6 && parts[2] === "projects" && parts[4] === "releases")
      return {
        page: "release",
        org: parts[1],
        project: parts[3],
        id: parts[5],
        ...(q.get("compare") ? { compare: q.get("compare") ?? undefined } : {}),
      };
    if (parts.length === 5 && parts[2] === "projects" && parts[4] === "environments")
      return { page: "environments", org: parts[1], project: parts[3] };
    if (parts.length === 6 && parts[2] === "projects" && parts[4] === "environments")
      return { page: "environment", org: parts[1], project: parts[3], name: parts[5] };
    if (parts.length === 6 && parts[2] === "projects" && parts[4] === "pipelines")
      return {
        page: "pipeline",
        org: parts[1],
        project: parts[3],
        id: parts[5],
        node: q.get("node") ?? undefined,
        attempt: num("attempt"),
        line: num("line"),
        view: PIPELINE_VIEWS.includes(q.get("view") ?? "") ? (q.get("view") as PipelineView) : undefined,
        status: q.get("status")?.split(",").filter(Boolean) || undefined,
        q: q.get("q") || undefined,
      };
  }
  return { page: "not-found", path: pathname };
}

/** The URL of a route: `parseRoute(href(r))` is `r`. */
export function href(r: Route): string {
  switch (r.page) {
    case "organizations":
      return "/";
    case "agents":
      return r.agent ? `/agents?agent=${enc(r.agent)}` : "/agents";
    case "organization":
      return `/organizations/${enc(r.org)}`;
    case "project": {
      const q = new URLSearchParams();
      for (const k of FILTER_KEYS) {
        const v = r[k];
        if (v) q.set(k, v);
      }
      const s = q.toString();
      return `/organizations/${enc(r.org)}/projects/${enc(r.project)}${s ? `?${s}` : ""}`;
    }
    case "releases":
      return `/organizations/${enc(r.org)}/projects/${enc(r.project)}/releases`;
    case "activity": {
      const q = new URLSearchParams();
      if (r.actor) q.set("actor", r.actor);
      if (r.type) q.set("type", r.type);
      const s = q.toString();
      return `/organizations/${enc(r.org)}/projects/${enc(r.project)}/activity${s ? `?${s}` : ""}`;
    }
    case "release":
      return `/organizations/${enc(r.org)}/projects/${enc(r.project)}/releases/${enc(r.id)}${r.compare ? `?compare=${enc(r.compare)}` : ""}`;
    case "environments":
      return `/organizations/${enc(r.org)}/projects/${enc(r.project)}/environments`;
    case "environment":
      return `/organizations/${enc(r.org)}/projects/${enc(r.project)}/environments/${enc(r.name)}`;
    case "pipeline": {
      const q = new URLSearchParams();
      if (r.node) q.set("node", r.node);
      if (r.attempt) q.set("attempt", String(r.attempt));
      if (r.line) q.set("line", String(r.line));
      if (r.view) q.set("view", r.view);
      if (r.status?.length) q.set("status", r.status.join(","));
      if (r.q) q.set("q", r.q);
      const s = q.toString();
      return `/organizations/${enc(r.org)}/projects/${enc(r.project)}/pipelines/${enc(r.id)}${s ? `?${s}` : ""}`;
    }
    case "not-found":
      return r.path;
  }
}

const listeners = new Set<() => void>();
if (typeof window !== "undefined") window.addEventListener("popstate", () => listeners.forEach((l) => l()));

export function navigate(to: string, replace = false) {
  if (to === location.pathname + location.search) return;
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  listeners.forEach((l) => l());
}

export function useRoute(): Route {
  const url = useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => location.pathname + location.search,
  );
  const i = url.indexOf("?");
  return i < 0 ? parseRoute(url) : parseRoute(url.slice(0, i), url.slice(i));
}

/** A link that changes the page without reloading it. */
export function Link({ to, ...rest }: { to: Route } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  const url = href(to);
  const click = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(url);
  };
  return <a href={url} onClick={click} {...rest} />;
}
