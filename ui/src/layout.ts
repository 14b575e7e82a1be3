// The stage graph's layout, our own layering (no dagre needed for this
// shape): stages left to right in template order; inside a stage its pre,
// main and post sections in that order; inside a section, nodes in columns
// by dependency depth (a node sits one column right of the deepest node it
// waits for), stacked in template order. Pure and deterministic: the same
// pipeline always gets the same picture, and no two boxes overlap.

export const NODE_W = 170;
export const NODE_H = 44;
const GAP_X = 32;
const GAP_Y = 14;
const STAGE_PAD = 16;
const STAGE_HEAD = 34;
const STAGE_GAP = 36;
const SECTIONS = ["pre", "main", "post"] as const;

export interface LayoutNode {
  path: string;
  name: string;
  section: string;
  dependencies: readonly string[];
}

export interface LayoutStage {
  name: string;
  nodes: readonly LayoutNode[];
  /** Drawn as one box with counts instead of its nodes. */
  collapsed?: boolean;
}

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Layout {
  stages: (Box & { name: string })[];
  nodes: Map<string, Box>;
  /** Dependency edges, from the node waited for to the one that waits. */
  edges: { from: string; to: string }[];
  width: number;
  height: number;
}

/** Each node's column within its section: 0, or one past its deepest dependency. */
export function depths(nodes: readonly LayoutNode[]): Map<string, number> {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const of = (n: LayoutNode): number => {
    const known = depth.get(n.path);
    if (known !== undefined) return known;
    // A cycle is refused by the server; guard anyway so a bad answer
    // cannot hang the page.
    if (visiting.has(n.path)) return 0;
    visiting.add(n.path);
    let d = 0;
    for (const dep of n.dependencies) {
      const m = byName.get(dep);
      if (m) d = Math.max(d, of(m) + 1);
    }
    visiting.delete(n.path);
    depth.set(n.path, d);
    return d;
  };
  nodes.forEach(of);
  return depth;
}

export function layout(stages: readonly LayoutStage[]): Layout {
  const out: Layout = { stages: [], nodes: new Map(), edges: [], width: 0, height: 0 };
  let x = 0;
  for (const stage of stages) {
    const left = x;
    let col = left + STAGE_PAD;
    let tallest = 0;
    if (stage.collapsed) {
      col += NODE_W + GAP_X;
      tallest = NODE_H * 2;
    } else {
      for (const section of SECTIONS) {
        const nodes = stage.nodes.filter((n) => n.section === section);
        if (nodes.length === 0) continue;
        const depth = depths(nodes);
        const columns: LayoutNode[][] = [];
        for (const n of nodes) (columns[depth.get(n.path)!] ??= []).push(n);
        const byName = new Map(nodes.map((n) => [n.name, n.path]));
        for (const column of columns) {
          if (!column) continue;
          column.forEach((n, i) => {
            out.nodes.set(n.path, { x: col, y: STAGE_HEAD + i * (NODE_H + GAP_Y), w: NODE_W, h: NODE_H });
            for (const dep of n.dependencies) {
              const from = byName.get(dep);
              if (from) out.edges.push({ from, to: n.path });
            }
          });
          tallest = Math.max(tallest, column.length * (NODE_H + GAP_Y) - GAP_Y);
          col += NODE_W + GAP_X;
        }
      }
    }
    const w = Math.max(col - GAP_X + STAGE_PAD - left, NODE_W + 2 * STAGE_PAD);
    const h = STAGE_HEAD + tallest + STAGE_PAD;
    out.stages.push({ name: stage.name, x: left, y: 0, w, h });
    out.height = Math.max(out.height, h);
    x = left + w + STAGE_GAP;
  }
  out.width = Math.max(0, x - STAGE_GAP);
  for (const s of out.stages) s.h = out.height;
  return out;
}

/** Whether two boxes overlap (touching edges do not). */
export function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}
