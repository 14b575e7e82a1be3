import { describe, expect, it } from "vitest";
import { CombinedError } from "urql";
import { connected, lostConnection, subscribeFollowing, unauthenticated } from "./client";

describe("the client", () => {
  it("tells a lost connection from the socket's own lazy close", () => {
    const subscriptions: { sink: { complete(): void } }[] = [];
    const ws = {
      subscribe(_: unknown, sink: { complete(): void }) {
        subscriptions.push({ sink });
        return () => {};
      },
    } as unknown as Parameters<typeof subscribeFollowing>[0];
    const sink = { next() {}, error() {}, complete() {} };
    expect(lostConnection(ws)).toBe(false);
    const stop = subscribeFollowing(ws, "subscription { a }", {}, sink);
    subscribeFollowing(ws, "subscription { b }", {}, sink);
    connected(ws);
    expect(lostConnection(ws)).toBe(true);
    stop();
    stop(); // ends once
    expect(lostConnection(ws)).toBe(true);
    subscriptions[1].sink.complete();
    expect(lostConnection(ws)).toBe(false);
    // A page subscribes as the idle socket closes itself: still its own close.
    subscribeFollowing(ws, "subscription { c }", {}, sink);
    expect(lostConnection(ws)).toBe(false);
    // Once connected again, a close with a subscription is a lost connection.
    connected(ws);
    expect(lostConnection(ws)).toBe(true);
  });
  it("renews the token only when the server refused it", () => {
    const refused = new CombinedError({
      graphQLErrors: [{ message: "authentication required", extensions: { code: "UNAUTHENTICATED" } }],
    });
    const forbidden = new CombinedError({
      graphQLErrors: [{ message: "needs Developer", extensions: { code: "FORBIDDEN" } }],
    });
    expect(unauthenticated(refused)).toBe(true);
    expect(unauthenticated(forbidden)).toBe(false);
    expect(unauthenticated(new CombinedError({ networkError: new Error("down") }))).toBe(false);
  });
});
