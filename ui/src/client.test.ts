import { describe, expect, it } from "vitest";
import { CombinedError } from "urql";
import { following, subscribeFollowing, unauthenticated } from "./client";

describe("the client", () => {
  it("tells a lost connection from the socket's own close: it carries a subscription", () => {
    const subscriptions: { sink: { complete(): void } }[] = [];
    const ws = {
      subscribe(_: unknown, sink: { complete(): void }) {
        subscriptions.push({ sink });
        return () => {};
      },
    } as unknown as Parameters<typeof subscribeFollowing>[0];
    const sink = { next() {}, error() {}, complete() {} };
    expect(following(ws)).toBe(false);
    const stop = subscribeFollowing(ws, "subscription { a }", {}, sink);
    subscribeFollowing(ws, "subscription { b }", {}, sink);
    expect(following(ws)).toBe(true);
    stop();
    stop(); // ends once
    expect(following(ws)).toBe(true);
    subscriptions[1].sink.complete();
    expect(following(ws)).toBe(false);
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
