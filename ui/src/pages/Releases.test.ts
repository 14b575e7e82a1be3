import { describe, expect, it } from "vitest";
import { lastSegment } from "./common";
import { dueState } from "./Releases";

describe("dueState", () => {
  const now = Date.parse("2026-12-03T12:00:00Z");
  it("is overdue after the due date", () => {
    expect(dueState("2026-12-02T12:00:00Z", false, now)).toBe("overdue");
  });
  it("is due soon within three days", () => {
    expect(dueState("2026-12-05T12:00:00Z", false, now)).toBe("due soon");
  });
  it("says nothing when far, absent or completed", () => {
    expect(dueState("2026-12-30T12:00:00Z", false, now)).toBe("");
    expect(dueState(null, false, now)).toBe("");
    expect(dueState("2026-12-02T12:00:00Z", true, now)).toBe("");
  });
});

describe("lastSegment", () => {
  it("is the id at the end of a PRN", () => {
    expect(lastSegment("prn:release:acme/web/9b2e")).toBe("9b2e");
  });
});

describe("the new release form's prefill", () => {
  it("lists the lifecycle's environments once each, in order, skipping interpolated ones", async () => {
    const { environmentsOf } = await import("./NewRelease");
    const hcl =
      'stage "dev" {\n  deployment {\n    environment = "dev"\n  }\n}\nstage "prod" {\n  deployment {\n    environment = "prod"\n  }\n  deployment {\n    environment = "${var.region}"\n  }\n  deployment {\n    environment = "dev"\n  }\n}\n';
    expect(environmentsOf(hcl)).toEqual(["dev", "prod"]);
  });
});
