// A release: its version, status and due date; the deployments of its
// lifecycle (environment, status, pipeline, times); its notes and
// variables (sensitive ones masked); and its lifecycle pipeline's page.
import { useEffect, useState } from "react";
import { useMutation, useQuery, useSubscription } from "urql";
import { graphql } from "../gql";
import { problemLines } from "../graphql";
import { Link } from "../router";
import { Failure, lastSegment, Loading, Status, Time, useFirst } from "./common";
import { StartNode } from "./NodePanel";
import { ProjectTabs } from "./ProjectTabs";
import { ReleaseActivity } from "./Activity";
import { ReleaseCompare } from "./ReleaseDiff";
import { dueState } from "./Releases";

const Query = graphql(`
  query Release($id: ID!) {
    release(id: $id) {
      ... on Release {
        id
        semanticVersion
        status
        completed
        preRelease
        notes
        dueDate
        createdBy
        createdAt
        lifecycle {
          id
          name
        }
        variables {
          key
          value
          sensitive
        }
        deployments {
          environmentName
          status
          startedAt
          finishedAt
          pipeline {
            id
            prn
            status
          }
        }
        pipeline {
          id
          prn
          status
          eventCursor
          stages {
            id
            nodes {
              id
              path
              name
              kind
              status
              viewerCanStart
            }
          }
        }
      }
    }
  }
`);

const Live = graphql(`
  subscription ReleaseLive($id: ID!, $after: String) {
    pipelineEvents(pipelineId: $id, after: $after) {
      cursor
      eventType
    }
  }
`);

export function Release({ org, project, id, compare }: { org: string; project: string; id: string; compare?: string }) {
  const [{ data, error }, refetch] = useQuery({
    query: Query,
    variables: { id: `prn:release:${org}/${project}/${id}` },
  });
  const lifecycle = data?.release?.pipeline;
  // Live: each event of the lifecycle pipeline (a deployment node moving)
  // reads the release again, at most a few times a second.
  const after = useFirst(lifecycle?.eventCursor);
  const [live] = useSubscription({
    query: Live,
    variables: { id: lifecycle?.id ?? "", after: after ?? null },
    pause: !lifecycle,
  });
  const seen = live.data?.pipelineEvents.cursor;
  useEffect(() => {
    if (!seen) return;
    const t = setTimeout(() => refetch({ requestPolicy: "network-only" }), 250);
    return () => clearTimeout(t);
  }, [seen, refetch]);
  const [, start] = useMutation(StartNode);
  const [confirm, setConfirm] = useState<string | null>(null);
  const [outcome, setOutcome] = useState("");
  if (error) return <Failure what="the release" error={error} />;
  if (!data) return <Loading what="the release" />;
  const r = data.release;
  if (!r)
    return (
      <p>
        There is no release {id} in {org}/{project}, or you may not see it.
      </p>
    );
  const due = dueState(r.dueDate, r.completed);
  const nodes = r.pipeline?.stages.flatMap((st) => st.nodes) ?? [];
  const nodeOf = (env: string) => nodes.find((n) => n.kind === "deployment" && n.name === env);
  const startDeployment = async (env: string) => {
    setConfirm(null);
    const n = nodeOf(env);
    if (!n || !r.pipeline) return;
    const res = await start({ i: { pipelineId: r.pipeline.id, nodePath: n.path } });
    const problems = res.data?.startPipelineNode.problems ?? [];
    setOutcome(
      res.error
        ? res.error.message
        : problems.length
          ? problemLines(problems).join("\n")
          : `Deployment to ${env} started.`,
    );
    refetch({ requestPolicy: "network-only" });
  };
  return (
    <>
      <h2>
        {project} {r.semanticVersion} <Status status={r.status} />{" "}
        {r.preRelease && <span className="chip">pre-release</span>}
      </h2>
      <ProjectTabs org={org} project={project} at="release" />
      {due && (
        <p className="banner" role="status">
          This release is {due}: due <Time at={r.dueDate} />.
        </p>
      )}
      <p className="muted">
        Lifecycle {r.lifecycle?.name ?? "?"} · created by {r.createdBy} <Time at={r.createdAt} />
        {r.pipeline && (
          <>
            {" "}
            ·{" "}
            <Link to={{ page: "pipeline", org, project, id: lastSegment(r.pipeline.prn) }}>
              its lifecycle pipeline
            </Link>{" "}
            <Status status={r.pipeline.status} />
          </>
        )}
      </p>
      <h3 id="deployments-title">Deployments</h3>
      <table aria-labelledby="deployments-title">
        <thead>
          <tr>
            <th>Environment</th>
            <th>Status</th>
            <th>Pipeline</th>
            <th>Started</th>
            <th>Finished</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {r.deployments.map((d) => (
            <tr key={d.environmentName}>
              <td>
                <Link to={{ page: "environment", org, project, name: d.environmentName }}>{d.environmentName}</Link>
              </td>
              <td>
                <Status status={d.status} />
              </td>
              <td>
                {d.pipeline ? (
                  <Link to={{ page: "pipeline", org, project, id: lastSegment(d.pipeline.prn) }}>
                    {lastSegment(d.pipeline.prn).slice(0, 8)}
                  </Link>
                ) : (
                  <span className="muted">not started</span>
                )}
              </td>
              <td>
                <Time at={d.startedAt} />
              </td>
              <td>
                <Time at={d.finishedAt} />
              </td>
              <td>
                {nodeOf(d.environmentName)?.viewerCanStart &&
                  (confirm === d.environmentName ? (
                    <span
                      role="dialog"
                      aria-label={`Confirm the deployment to ${d.environmentName}`}
                      className="confirm"
                    >
                      Deploy {r.semanticVersion} to {d.environmentName} now?{" "}
                      <button type="button" autoFocus onClick={() => void startDeployment(d.environmentName)}>
                        Deploy
                      </button>{" "}
                      <button type="button" onClick={() => setConfirm(null)}>
                        Not now
                      </button>
                    </span>
                  ) : (
                    <button type="button" onClick={() => setConfirm(d.environmentName)}>
                      Start
                    </button>
                  ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p role="status">{outcome}</p>
      {r.notes && (
        <>
          <h3>Notes</h3>
          <p className="notes">{r.notes}</p>
        </>
      )}
      {r.variables.length > 0 && (
        <>
          <h3>Variables</h3>
          <dl className="variables">
            {r.variables.map((v) => (
              <div key={v.key}>
                <dt>
                  <code>{v.key}</code>
                </dt>
                <dd>{v.sensitive ? <span className="muted">•••••• (sensitive)</span> : <code>{v.value}</code>}</dd>
              </div>
            ))}
          </dl>
        </>
      )}
      <ReleaseCompare org={org} project={project} version={id} releaseId={r.id} compare={compare} />
      <section aria-labelledby="release-activity">
        <h3 id="release-activity">Activity</h3>
        <ReleaseActivity id={r.id} />
      </section>
    </>
  );
}
