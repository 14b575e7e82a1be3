import { describe, expect, it } from "vitest";
import { href, parseRoute, type Route } from "./router";

const none = {
  node: undefined,
  attempt: undefined,
  line: undefined,
  view: undefined,
  status: undefined,
  q: undefined,
} as const;

describe("routes", () => {
  const routes: Route[] = [
    { page: "organizations" },
    { page: "agents", agent: undefined },
    { page: "agents", agent: "prn:agent:acme/builder" },
    { page: "organization", org: "acme" },
    { page: "project", org: "acme", project: "web shop" },
    // The pipeline list's filters and page survive a trip through the URL.
    {
      page: "project",
      org: "acme",
      project: "web",
      status: "FAILED",
      type: "DEPLOYMENT",
      by: "user:alice",
      template: "UGlwZWxpbmVUZW1wbGF0ZTox",
      after: "1700000000000000:9b2e",
    },
    { page: "releases", org: "acme", project: "web" },
    { page: "activity", org: "acme", project: "web" },
    { page: "activity", org: "acme", project: "web", actor: "user:alice", type: "PIPELINE_NODE" },
    { page: "release", org: "acme", project: "web", id: "9b2e" },
    { page: "release", org: "acme", project: "web", id: "1.2.0", compare: "1.1.0+build.7" },
    { page: "environments", org: "acme", project: "web" },
    { page: "environment", org: "acme", project: "web", name: "prod/eu" },
    {
      page: "pipeline",
      org: "acme",
      project: "web",
      id: "3f1c",
      ...none,
      node: "stage.build.task.compile",
      attempt: 2,
      line: 120,
    },
    { page: "pipeline", org: "acme", project: "web", id: "3f1c", ...none },
    // The list view's filters survive a trip through the URL.
    {
      page: "pipeline",
      org: "acme",
      project: "web",
      id: "3f1c",
      ...none,
      view: "list",
      status: ["FAILED", "RUNNING"],
      q: "deploy eu&us",
    },
    { page: "pipeline", org: "acme", project: "web", id: "3f1c", ...none, view: "timeline" },
  ];
  for (const r of routes) {
    it(`round-trips ${href(r)}`, () => {
      const url = new URL(href(r), "http://x");
      expect(parseRoute(url.pathname, url.search)).toEqual(r);
    });
  }
  it("refuses a bad line number and an unknown path", () => {
    expect(parseRoute("/organizations/a/projects/b/pipelines/c", "?line=-3")).toMatchObject({ line: undefined });
    expect(parseRoute("/organizations/a/projects/b/pipelines/c", "?view=graphs")).toMatchObject({ view: undefined });
    expect(parseRoute("/nowhere/at/all")).toEqual({ page: "not-found", path: "/nowhere/at/all" });
  });
});
