// Every value of every status enum of the schema has a symbol and a word:
// a new value on the server fails this test until the UI names it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PIPELINE_STATUSES, PIPELINE_TYPES, RESOURCE_TYPES, STATUS } from "./status";

const schema = readFileSync(join(__dirname, "..", "schema.graphql"), "utf8");
const enums = [...schema.matchAll(/enum (\w*Status)\s*\{([^}]*)\}/g)].map(([, name, body]) => ({
  name,
  values: body
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => /^[A-Z_]+$/.test(l)),
}));

describe("status words", () => {
  it("finds the status enums in the schema", () => {
    expect(enums.map((e) => e.name)).toEqual(
      expect.arrayContaining(["NodeStatus", "PipelineStatus", "StageStatus", "JobStatus"]),
    );
  });
  for (const e of enums) {
    it(`names every value of ${e.name}`, () => {
      expect(e.values.length).toBeGreaterThan(0);
      expect(e.values.filter((v) => !(v in STATUS))).toEqual([]);
    });
  }
});

describe("the pipeline list's filters", () => {
  const values = (name: string) => {
    const body = schema.match(new RegExp(`enum ${name}\\s*\\{([^}]*)\\}`))?.[1] ?? "";
    return body
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => /^[A-Z_]+$/.test(l))
      .sort();
  };
  it("offer every PipelineStatus and PipelineType", () => {
    expect([...PIPELINE_STATUSES].sort()).toEqual(values("PipelineStatus"));
    expect([...PIPELINE_TYPES].sort()).toEqual(values("PipelineType"));
    expect([...RESOURCE_TYPES].sort()).toEqual(values("ActivityResourceType"));
  });
});
