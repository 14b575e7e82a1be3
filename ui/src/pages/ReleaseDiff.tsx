// "Compare with…" on a release's page: `releaseDiff` from another release
// of the project to this one (its lifecycle, each environment's deployment
// template, the variables, the deployments' outcomes), the other release
// named in the URL (`?compare=VERSION`).
import { useQuery } from "urql";
import { graphql } from "../gql";
import { href, navigate } from "../router";
import { Failure, Loading, Status } from "./common";

const Others = graphql(`
  query ReleasesToCompare($prn: ID!) {
    node(id: $prn) {
      ... on Project {
        id
        releases(first: 500) {
          edges {
            node {
              id
              semanticVersion
            }
          }
        }
      }
    }
  }
`);

const Diff = graphql(`
  query ReleaseDiff($from: ID!, $to: ID!) {
    releaseDiff(from: $from, to: $to) {
      lifecycle {
        from {
          name
          version
        }
        to {
          name
          version
        }
        hclDiff
      }
      environments {
        name
        templateFrom {
          id
          name
        }
        templateTo {
          id
          name
        }
        hclDiff
      }
      variables {
        key
        change
        from
        to
      }
      deployments {
        environment
        from
        to
      }
    }
  }
`);

export function ReleaseCompare({
  org,
  project,
  version,
  releaseId,
  compare,
}: {
  org: string;
  project: string;
  version: string;
  releaseId: string;
  compare?: string;
}) {
  const [{ data }] = useQuery({ query: Others, variables: { prn: `prn:project:${org}/${project}` } });
  const others =
    data?.node && "releases" in data.node
      ? data.node.releases.edges.map((e) => e.node).filter((r) => r.semanticVersion !== version)
      : [];
  const other = others.find((r) => r.semanticVersion === compare);
  const pick = (v: string) => navigate(href({ page: "release", org, project, id: version, compare: v || undefined }));
  return (
    <section aria-labelledby="compare-title">
      <h3 id="compare-title">Compare</h3>
      {others.length === 0 ? (
        <p className="muted">No other release of {project} to compare with.</p>
      ) : (
        <label>
          Compare with{" "}
          <select value={other?.semanticVersion ?? ""} onChange={(e) => pick(e.target.value)}>
            <option value="">…</option>
            {others.map((r) => (
              <option key={r.id} value={r.semanticVersion}>
                {r.semanticVersion}
              </option>
            ))}
          </select>
        </label>
      )}
      {other && <DiffView from={other.id} to={releaseId} fromVersion={other.semanticVersion} toVersion={version} />}
    </section>
  );
}

function DiffView({
  from,
  to,
  fromVersion,
  toVersion,
}: {
  from: string;
  to: string;
  fromVersion: string;
  toVersion: string;
}) {
  const [{ data, error }] = useQuery({ query: Diff, variables: { from, to } });
  if (error) return <Failure what="the comparison" error={error} />;
  if (!data) return <Loading what="the comparison" />;
  const d = data.releaseDiff;
  if (!d) return <p>One of the releases is gone, or you may not see it.</p>;
  const l = d.lifecycle;
  return (
    <div className="diff">
      <p>
        From <strong>{fromVersion}</strong> to <strong>{toVersion}</strong>.
      </p>
      <h4>Lifecycle</h4>
      <p>
        {l.from.name} v{l.from.version} → {l.to.name} v{l.to.version}
        {!l.hclDiff && <span className="muted"> (the same template)</span>}
      </p>
      {l.hclDiff && <pre className="hcl-diff">{l.hclDiff}</pre>}
      <h4>Deployment templates</h4>
      <ul>
        {d.environments.map((e) => (
          <li key={e.name}>
            <strong>{e.name}</strong>: {e.templateFrom?.name ?? "none"} → {e.templateTo?.name ?? "none"}
            {!e.hclDiff && <span className="muted"> (no change)</span>}
            {e.hclDiff && <pre className="hcl-diff">{e.hclDiff}</pre>}
          </li>
        ))}
      </ul>
      <h4>Variables</h4>
      {d.variables.length === 0 ? (
        <p className="muted">The same variables.</p>
      ) : (
        <ul>
          {d.variables.map((v) => (
            <li key={v.key}>
              <code>{v.key}</code> {v.change.toLowerCase()}: <code>{v.from ?? "—"}</code> → <code>{v.to ?? "—"}</code>
            </li>
          ))}
        </ul>
      )}
      <h4>Deployments</h4>
      <ul>
        {d.deployments.map((x) => (
          <li key={x.environment}>
            <strong>{x.environment}</strong>: {x.from ? <Status status={x.from} /> : "not deployed"} →{" "}
            {x.to ? <Status status={x.to} /> : "not deployed"}
          </li>
        ))}
      </ul>
    </div>
  );
}
