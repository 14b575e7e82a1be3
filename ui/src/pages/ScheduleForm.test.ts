import { describe, expect, it } from "vitest";
import { localToRfc3339 } from "./ScheduleForm";

describe("localToRfc3339", () => {
  it("sends the browser's local time as UTC, to the second", () => {
    const local = "2026-12-03T09:30";
    expect(localToRfc3339(local)).toBe(new Date(local).toISOString().replace(".000Z", "Z"));
    expect(localToRfc3339(local)).toMatch(/^2026-12-0[23]T\d\d:30:00Z$/);
  });
});
