// The GraphQL client: urql with graphcache, a normalized cache, so that a
// subscription event carrying a node's `id` and `status` updates the graph,
// the lists and the badges at once; and one graphql-ws socket (the
// `graphql-transport-ws` protocol the server speaks) for every subscription.
import { createContext, useContext } from "react";
import { Client, fetchExchange, mapExchange, subscriptionExchange, type CombinedError } from "urql";
import { cacheExchange } from "@urql/exchange-graphcache";
import { EMBEDDED } from "./embedded.gen";
import { createClient as createWsClient, type Client as WsClient } from "graphql-ws";

export type Connection = "idle" | "connecting" | "connected" | "reconnecting";

/** Objects without an id of their own are kept inside their parent. */
function keys() {
  const k: Record<string, () => null> = {};
  for (const t of EMBEDDED) k[t] = () => null;
  return k;
}

/**
 * A subscription resumes where it was after a reconnect: the payload's
 * `after` (pipelineEvents) or `offset` (jobLogEvents) variable follows the
 * last event received, and graphql-ws sends the payload again as it is
 * when it retries.
 */
export function follow(variables: Record<string, unknown>, data: unknown) {
  if (data == null || typeof data !== "object") return;
  for (const event of Object.values(data as Record<string, unknown>)) {
    if (event == null || typeof event !== "object") continue;
    const e = event as Record<string, unknown>;
    if (typeof e.cursor === "string" && "after" in variables) variables.after = e.cursor;
    if (typeof e.nextOffset === "number" && "offset" in variables) variables.offset = e.nextOffset;
  }
}

/**
 * Subscribes on the one socket, moving the payload's cursor along as events
 * arrive (see `follow`), so that a retry after a reconnect resumes there.
 */
export function subscribeFollowing<T>(
  ws: WsClient,
  query: string,
  variables: Record<string, unknown>,
  sink: {
    next(result: { data?: T | null; errors?: readonly unknown[] }): void;
    error(e: unknown): void;
    complete(): void;
  },
): () => void {
  const payload = { query, variables: { ...variables } };
  open.set(ws, (open.get(ws) ?? 0) + 1);
  let ended = false;
  const end = () => {
    if (!ended) {
      const left = (open.get(ws) ?? 1) - 1;
      open.set(ws, left);
      if (left === 0) idled.add(ws);
    }
    ended = true;
  };
  const stop = ws.subscribe<T>(payload, {
    next(result) {
      follow(payload.variables, result.data);
      sink.next(result as { data?: T | null });
    },
    error: (e) => (end(), sink.error(e)),
    complete: () => (end(), sink.complete()),
  });
  return () => (end(), stop());
}

export interface Api {
  client: Client;
  ws: WsClient;
  dispose(): void;
}

/** How many subscriptions each socket carries (subscribed, not yet ended). */
const open = new WeakMap<object, number>();
/** The sockets that carried none at some moment since they last connected. */
const idled = new WeakSet<object>();

/**
 * Whether a close of `ws` now is a lost connection (graphql-ws retries it):
 * it carries a subscription and has carried one all along since it
 * connected. Otherwise it is the socket's own lazy close, which graphql-ws
 * makes once nothing is followed (a page that subscribes meanwhile gets a
 * new socket). The close code cannot tell them apart: the server ends both
 * without a close frame, so the browser reports 1006 for each.
 */
export function lostConnection(ws: object): boolean {
  return (open.get(ws) ?? 0) > 0 && !idled.has(ws);
}

/** `ws` (re)connected: from now on its closes are judged afresh. */
export function connected(ws: object): void {
  idled.delete(ws);
}

/** Whether the server refused the access token (it expired early, or the server's keys changed). */
export function unauthenticated(error: CombinedError): boolean {
  return error.graphQLErrors.some((e) => e.extensions?.code === "UNAUTHENTICATED");
}

/**
 * The client of one access token. `onRefused` is called when the server
 * refuses the token, on a query, a mutation or a subscription: the session
 * renews it, which makes a new client.
 */
export function createApi(token: string, onConnection: (c: Connection) => void, onRefused: () => void): Api {
  const wsUrl = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/graphql`;
  // A disposed client's socket (the token was renewed) says nothing more:
  // its close must not read as the new one's lost connection.
  let disposed = false;
  const report = (c: Connection) => {
    if (!disposed) onConnection(c);
  };
  const ws = createWsClient({
    url: wsUrl,
    connectionParams: { Authorization: `Bearer ${token}` },
    lazy: true,
    retryAttempts: Infinity,
    shouldRetry: () => true,
    on: {
      // The socket closes by itself when no page follows anything (lazy):
      // a close while something is followed is a lost connection, and the
      // page is "reconnecting" from then (graphql-ws waits a moment before
      // each retry) until the socket is back.
      connecting: (isRetry) => report(isRetry ? "reconnecting" : "connecting"),
      connected: () => (connected(ws), report("connected")),
      closed: () => report(lostConnection(ws) ? "reconnecting" : "idle"),
    },
  });
  const client = new Client({
    url: "/graphql",
    fetchOptions: () => ({ headers: { Authorization: `Bearer ${token}` } }),
    requestPolicy: "cache-and-network",
    // GET /graphql is GraphiQL (and the websocket); queries are POSTed.
    preferGetMethod: false,
    exchanges: [
      mapExchange({
        onError(error) {
          if (unauthenticated(error)) onRefused();
        },
      }),
      cacheExchange({ keys: keys() }),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          return {
            subscribe(sink) {
              const unsubscribe = subscribeFollowing(ws, request.query ?? "", request.variables ?? {}, {
                next: (result) => sink.next(result as never),
                error: (e) => sink.error(e),
                complete: () => sink.complete(),
              });
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });
  return {
    client,
    ws,
    dispose: () => {
      disposed = true;
      void ws.dispose();
    },
  };
}

/** The one socket, for what is not kept in the cache (a job's log text). */
export const SocketContext = createContext<WsClient | null>(null);

export function useSocket(): WsClient {
  const ws = useContext(SocketContext);
  if (!ws) throw new Error("useSocket outside the signed-in app");
  return ws;
}
