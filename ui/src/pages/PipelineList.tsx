// A project's pipelines, newest first, filtered on the server by status,
// type, template and creator, a page at a time. The filters and the page
// live in the URL, so a reload, Back or a shared link shows the same list.
import { useQuery } from "urql";
import { graphql } from "../gql";
import { href, Link, navigate, type PipelineFilter } from "../router";
import { PIPELINE_STATUSES, PIPELINE_TYPES } from "../status";
import { ActorFilter, Failure, lastSegment, Loading, Status, Time } from "./common";

const Query = graphql(`
  query ProjectPipelines(
    $prn: ID!
    $status: PipelineStatus
    $type: PipelineType
    $by: String
    $template: ID
    $after: String
  ) {
    node(id: $prn) {
      ... on Project {
        id
        pipelines(
          status: $status
          type: $type
          createdBy: $by
          pipelineTemplateId: $template
          after: $after
          first: 50
          sort: CREATED_AT_DESC
        ) {
          pageInfo {
            hasNextPage
            endCursor
          }
          edges {
            node {
              id
              prn
              status
              type
              createdBy
              createdAt
              finishedAt
              environment {
                id
                name
              }
              release {
                id
                prn
                semanticVersion
              }
              stages {
                id
                name
                status
              }
            }
          }
        }
      }
    }
  }
`);

type Status = (typeof PIPELINE_STATUSES)[number];
type Type = (typeof PIPELINE_TYPES)[number];

/** The query's variables for a filter from the URL (unknown values are dropped). */
export function variablesOf(prn: string, f: PipelineFilter) {
  const status = PIPELINE_STATUSES.find((s) => s === f.status) as Status | undefined;
  const type = PIPELINE_TYPES.find((t) => t === f.type) as Type | undefined;
  return { prn, status, type, by: f.by, template: f.template, after: f.after };
}

export function PipelineList({
  org,
  project,
  filter,
  templates,
}: {
  org: string;
  project: string;
  filter: PipelineFilter;
  templates: readonly { id: string; name: string }[];
}) {
  const prn = `prn:project:${org}/${project}`;
  const [{ data, error, fetching }] = useQuery({ query: Query, variables: variablesOf(prn, filter) });
  const go = (f: PipelineFilter) => navigate(href({ page: "project", org, project, ...f }));
  const set = (k: keyof PipelineFilter, v: string) => go({ ...filter, [k]: v || undefined, after: undefined });
  const filtered = Boolean(filter.status || filter.type || filter.by || filter.template);
  const p = data?.node && "pipelines" in data.node ? data.node : null;
  const rows = p?.pipelines.edges.map((e) => e.node) ?? [];
  return (
    <>
      <form className="filters" aria-label="Filter the pipelines" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status{" "}
          <select value={filter.status ?? ""} onChange={(e) => set("status", e.target.value)}>
            <option value="">any</option>
            {PIPELINE_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.toLowerCase()}
              </option>
            ))}
          </select>
        </label>{" "}
        <label>
          Type{" "}
          <select value={filter.type ?? ""} onChange={(e) => set("type", e.target.value)}>
            <option value="">any</option>
            {PIPELINE_TYPES.map((t) => (
              <option key={t} value={t}>
                {t.toLowerCase()}
              </option>
            ))}
          </select>
        </label>{" "}
        <label>
          Template{" "}
          <select value={filter.template ?? ""} onChange={(e) => set("template", e.target.value)}>
            <option value="">any</option>
            {templates.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name || t.id}
              </option>
            ))}
          </select>
        </label>{" "}
        <ActorFilter label="Created by" key={filter.by ?? ""} value={filter.by ?? ""} onChange={(v) => set("by", v)} />{" "}
        {filtered && (
          <button type="button" onClick={() => go({})}>
            Clear filters
          </button>
        )}
      </form>
      {error ? (
        <Failure what="the pipelines" error={error} />
      ) : !data ? (
        <Loading what="the pipelines" />
      ) : rows.length === 0 ? (
        <p>
          {filtered || filter.after
            ? "No pipeline matches these filters."
            : "No pipeline has run here yet: run one of the templates below."}
        </p>
      ) : (
        <table aria-busy={fetching}>
          <thead>
            <tr>
              <th>Pipeline</th>
              <th>Status</th>
              <th>Type</th>
              <th>Release</th>
              <th>Stages</th>
              <th>Created by</th>
              <th>Created</th>
              <th>Finished</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((x) => (
              <tr key={x.id}>
                <td>
                  <Link to={{ page: "pipeline", org, project, id: lastSegment(x.prn) }}>
                    {lastSegment(x.prn).slice(0, 8)}
                  </Link>
                </td>
                <td>
                  <Status status={x.status} />
                </td>
                <td>
                  {x.type.toLowerCase()}
                  {x.environment && ` → ${x.environment.name}`}
                </td>
                <td>
                  {x.release ? (
                    <Link to={{ page: "release", org, project, id: lastSegment(x.release.prn) }}>
                      {x.release.semanticVersion}
                    </Link>
                  ) : (
                    <span className="muted">—</span>
                  )}
                </td>
                <td>
                  <span className="stage-marks">
                    {x.stages.map((s) => (
                      <Status key={s.id} status={s.status} />
                    ))}
                  </span>
                </td>
                <td>{x.createdBy}</td>
                <td>
                  <Time at={x.createdAt} />
                </td>
                <td>
                  <Time at={x.finishedAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav aria-label="Pages of pipelines" className="pager">
        {filter.after && (
          <button type="button" onClick={() => go({ ...filter, after: undefined })}>
            Newest
          </button>
        )}{" "}
        {p?.pipelines.pageInfo.hasNextPage && p.pipelines.pageInfo.endCursor && (
          <button type="button" onClick={() => go({ ...filter, after: p.pipelines.pageInfo.endCursor ?? undefined })}>
            Older
          </button>
        )}
      </nav>
    </>
  );
}
