import { describe, expect, it } from "vitest";
import { LogLines } from "./log";

describe("LogLines", () => {
  it("splits lines across chunks and keeps colours across them", () => {
    const log = new LogLines();
    log.append("first\nsec");
    log.append("ond \u001b[3");
    log.append("1mred\u001b[0m\nthird\n");
    expect(log.count).toBe(3);
    expect(log.plain.slice(0, 3)).toEqual(["first", "second red", "third"]);
    expect(log.lines[1]).toEqual([
      { text: "second ", style: {} },
      { text: "red", style: { fg: "p1" } },
    ]);
  });
  it("ignores a piece it already has", () => {
    const log = new LogLines();
    log.appendAt(0, 6, "first\n");
    log.appendAt(0, 6, "first\n");
    log.appendAt(6, 12, "again\n");
    log.appendAt(20, 26, "gap!!\n");
    expect(log.plain.slice(0, log.count)).toEqual(["first", "again"]);
    expect(log.end).toBe(12);
  });
  it("searches every line, not only those on screen", () => {
    const log = new LogLines();
    log.append(Array.from({ length: 100_000 }, (_, i) => `line ${i + 1}${i === 77_776 ? " NEEDLE" : ""}`).join("\n"));
    expect(log.count).toBe(100_000);
    expect(log.search("needle")).toEqual([77_777]);
    expect(log.search("")).toEqual([]);
  });
});
