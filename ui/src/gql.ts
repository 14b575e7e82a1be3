// Queries are written with `graphql(...)` and type-checked by tsc against
// ui/schema.graphql (gql.tada; `gql-tada generate output` turns the schema
// into src/graphql-env.d.ts before every check and build). A Rust test keeps
// ui/schema.graphql equal to the server's schema, so a change of the API
// that breaks a query breaks `cargo xtask ui`, not the page at run time.
import { initGraphQLTada } from "gql.tada";
import type { introspection } from "./graphql-env.d.ts";

export const graphql = initGraphQLTada<{
  introspection: introspection;
  scalars: { DateTime: string; JSON: unknown };
  // Fragments are for sharing selections (the node fields the graph and
  // the subscription both read), not for hiding data between components.
  disableMasking: true;
}>();

export type { ResultOf } from "gql.tada";

/** A problem as every create or change mutation answers it. */
export const ProblemFields = graphql(`
  fragment ProblemFields on Problem {
    field
    message
    line
    column
  }
`);
