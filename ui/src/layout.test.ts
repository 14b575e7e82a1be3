import { describe, expect, it } from "vitest";
import { depths, layout, overlaps, type LayoutStage } from "./layout";

const n = (name: string, section = "main", dependencies: string[] = []) => ({
  path: `stage.s.${section}.task.${name}`,
  name,
  section,
  dependencies,
});

describe("layout", () => {
  it("puts a node one column right of its deepest dependency", () => {
    const d = depths([n("a"), n("b", "main", ["a"]), n("c", "main", ["a", "b"]), n("d")]);
    expect([...d.values()]).toEqual([0, 1, 2, 0]);
  });
  it("survives a cycle the server would have refused", () => {
    const d = depths([n("a", "main", ["b"]), n("b", "main", ["a"])]);
    expect(d.size).toBe(2);
  });
  it("lays out stages in order with no overlapping boxes, the same every time", () => {
    const stages: LayoutStage[] = [
      {
        name: "build",
        nodes: [n("prepare", "pre"), n("compile"), n("test", "main", ["compile"]), n("report", "post")],
      },
      { name: "release", nodes: [n("publish")] },
      { name: "big", nodes: Array.from({ length: 50 }, (_, i) => n(`t${i}`, "main", i % 5 ? [`t${i - 1}`] : [])) },
    ];
    const a = layout(stages);
    const b = layout(stages);
    expect([...a.nodes.entries()]).toEqual([...b.nodes.entries()]);
    const boxes = [...a.nodes.values()];
    for (let i = 0; i < boxes.length; i++)
      for (let j = i + 1; j < boxes.length; j++) expect(overlaps(boxes[i], boxes[j])).toBe(false);
    for (let i = 0; i < a.stages.length; i++)
      for (let j = i + 1; j < a.stages.length; j++) expect(overlaps(a.stages[i], a.stages[j])).toBe(false);
    // Every node inside its own stage's box.
    stages.forEach((s, i) => {
      for (const node of s.nodes) {
        const box = a.nodes.get(node.path)!;
        const st = a.stages[i];
        expect(box.x >= st.x && box.x + box.w <= st.x + st.w && box.y + box.h <= st.y + st.h).toBe(true);
      }
    });
    expect(a.edges).toContainEqual({ from: "stage.s.main.task.compile", to: "stage.s.main.task.test" });
    // pre before main before post.
    const x = (p: string) => a.nodes.get(p)!.x;
    expect(x("stage.s.pre.task.prepare")).toBeLessThan(x("stage.s.main.task.compile"));
    expect(x("stage.s.main.task.test")).toBeLessThan(x("stage.s.post.task.report"));
  });
  it("draws a collapsed stage as one box", () => {
    const l = layout([{ name: "s", nodes: [n("a"), n("b")], collapsed: true }]);
    expect(l.nodes.size).toBe(0);
    expect(l.stages[0].w).toBeGreaterThan(0);
  });
});
