// The caller's to-do items (`me.todoItems`): approvals it can give, manual
// nodes it can start, releases it takes part in that are due. Each links to
// the page where it is done; the server decides what is on the list with the
// same rules as the buttons there.
import { useQuery } from "urql";
import { graphql } from "../gql";
import { Link, type Route } from "../router";
import { dueState } from "./Releases";
import { Failure, lastSegment, Loading, Time } from "./common";

const Query = graphql(`
  query TodoItems {
    me {
      id
      todoItems(first: 100) {
        kind
        dueDate
        pipeline {
          id
          prn
          project {
            id
            name
            organizationName
          }
        }
        node {
          id
          path
          name
          status
        }
        release {
          id
          prn
          semanticVersion
        }
      }
    }
  }
`);

const ASKS = { APPROVE: "Approve", START: "Start", RELEASE_DUE: "Release due" } as const;

export function Todo() {
  const [{ data, error }] = useQuery({ query: Query, requestPolicy: "cache-and-network" });
  if (error) return <Failure what="your to-do items" error={error} />;
  if (!data) return <Loading what="your to-do items" />;
  const items = data.me.todoItems;
  return (
    <section aria-labelledby="todo">
      <h2 id="todo">To do</h2>
      {items.length === 0 ? (
        <p className="muted">Nothing waits for you: no approval, manual start or due release.</p>
      ) : (
        <ul className="cards">
          {items.map((t) => {
            const project = t.pipeline?.project;
            if (!t.pipeline || !project) return null;
            const at = { org: project.organizationName, project: project.name };
            const to: Route = t.release
              ? { page: "release", ...at, id: lastSegment(t.release.prn) }
              : { page: "pipeline", ...at, id: lastSegment(t.pipeline.prn), node: t.node?.path };
            const due = dueState(t.dueDate, false);
            return (
              <li key={`${t.kind}:${t.pipeline.id}:${t.node?.path ?? ""}`} data-todo={t.kind}>
                <span className="chip">{ASKS[t.kind]}</span>{" "}
                <Link to={to}>
                  {t.release ? `release ${t.release.semanticVersion}` : (t.node?.name ?? t.node?.path)}
                </Link>{" "}
                <span className="muted">
                  in {at.org}/{at.project}
                </span>
                {t.dueDate && (
                  <>
                    {" "}
                    due <Time at={t.dueDate} /> {due && <span className="chip warn">{due}</span>}
                  </>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
