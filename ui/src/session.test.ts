import { describe, expect, it } from "vitest";
import { refreshDelay } from "./session";

describe("refreshDelay", () => {
  const now = Date.parse("2026-12-03T12:00:00Z");
  it("refreshes a minute before a five-minute token expires", () => {
    expect(refreshDelay("2026-12-03T12:05:00Z", now)).toBe(240_000);
  });
  it("refreshes a short token at half its life", () => {
    expect(refreshDelay("2026-12-03T12:01:00Z", now)).toBe(30_000);
  });
  it("waits at least a second, even for a token already expired", () => {
    expect(refreshDelay("2026-12-03T11:00:00Z", now)).toBe(1000);
  });
});
