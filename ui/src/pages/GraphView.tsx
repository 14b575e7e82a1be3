// The stage graph, drawn by @xyflow/react (pan, zoom, minimap) at the
// positions layout.ts works out. Loaded lazily with its own chunk and CSS.
// Each task is a button (Tab moves between them, Enter opens one, as a
// click does); the boxes themselves are not focus stops.
import { memo, useCallback, useEffect, useMemo, useState } from "react";
import {
  Background,
  Controls,
  Handle,
  MiniMap,
  Position,
  ReactFlow,
  type Edge,
  type Node,
  type NodeChange,
  type NodeProps,
  useReactFlow,
  useStore,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { layout } from "../layout";
import { statusLook } from "../status";
import { useShownTheme } from "../theme";
import { Status } from "./common";

export interface GraphNode {
  id: string;
  path: string;
  name: string;
  section: string;
  status: string;
  dependencies: readonly string[];
}

export interface GraphStage {
  id: string;
  name: string;
  status: string;
  nodes: readonly GraphNode[];
}

export interface GraphProps {
  stages: readonly GraphStage[];
  selected?: string;
  onSelect: (path: string) => void;
  /** Stages drawn as one box of status counts. */
  collapsed: (stage: string) => boolean;
  onToggle?: (stage: string) => void;
}

type TaskData = { node: GraphNode; selected: boolean };
type StageData = { stage: GraphStage; collapsed: boolean; onToggle?: (stage: string) => void };

const TaskBox = memo(function TaskBox({ data }: NodeProps<Node<TaskData>>) {
  const { node, selected } = data;
  const look = statusLook(node.status);
  return (
    <>
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <button
        type="button"
        className={`node tone-${look.tone}${selected ? " selected" : ""}`}
        data-path={node.path}
        data-status={node.status}
        aria-pressed={selected}
        aria-label={`${node.name} (${node.section}), ${look.word}`}
      >
        <span aria-hidden="true">{look.icon}</span> {node.name}
        {node.section !== "main" && <span className="muted"> · {node.section}</span>}
      </button>
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </>
  );
});

const StageBox = memo(function StageBox({ data }: NodeProps<Node<StageData>>) {
  const { stage, collapsed, onToggle } = data;
  const counts = new Map<string, number>();
  for (const n of stage.nodes) counts.set(n.status, (counts.get(n.status) ?? 0) + 1);
  return (
    <div className="stage">
      <div className="stage-head">
        <strong>{stage.name}</strong> <Status status={stage.status} />{" "}
        {onToggle && (
          <button type="button" className="link nodrag" aria-expanded={!collapsed} onClick={() => onToggle(stage.name)}>
            {collapsed ? "show nodes" : "collapse"}
          </button>
        )}
      </div>
      {collapsed && (
        <ul className="counts">
          {[...counts].map(([status, n]) => (
            <li key={status}>
              {n} {statusLook(status).word.toLowerCase()}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
});

const nodeTypes = { task: TaskBox, stage: StageBox };

/** Fits the graph again when its box changes width (the node panel opens or closes). */
function FitOnResize() {
  const width = useStore((s) => s.width);
  const { fitView } = useReactFlow();
  useEffect(() => {
    if (width) void fitView({ maxZoom: 1 });
  }, [width, fitView]);
  return null;
}

export default function GraphView({ stages, selected, onSelect, collapsed, onToggle }: GraphProps) {
  const theme = useShownTheme();
  const shown = stages.map((s) => ({ name: s.name, nodes: s.nodes, collapsed: collapsed(s.name) }));
  // The layout depends on the shape only, not on statuses.
  const shape = JSON.stringify(shown.map((s) => [s.name, s.collapsed, s.nodes.map((n) => n.path)]));
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const placed = useMemo(() => layout(shown), [shape]);
  const total = stages.reduce((n, s) => n + s.nodes.length, 0);
  // The nodes are controlled, so the sizes React Flow measures must come
  // back in them: without `measured` it may never learn a node's handles,
  // and the edges to it are not drawn (xyflow/xyflow#4888, #4909).
  const [measured, setMeasured] = useState<Record<string, { width: number; height: number }>>({});
  const onNodesChange = useCallback((changes: NodeChange[]) => {
    const sized = changes.flatMap((c) =>
      c.type === "dimensions" && c.dimensions ? [[c.id, c.dimensions] as const] : [],
    );
    if (sized.length) setMeasured((m) => ({ ...m, ...Object.fromEntries(sized) }));
  }, []);
  const nodes: Node[] = [];
  placed.stages.forEach((box, i) => {
    const stage = stages[i];
    nodes.push({
      id: `stage:${stage.name}`,
      type: "stage",
      position: { x: box.x, y: box.y },
      width: box.w,
      height: box.h,
      measured: measured[`stage:${stage.name}`],
      data: { stage, collapsed: shown[i].collapsed, onToggle } satisfies StageData,
      draggable: false,
      selectable: false,
      focusable: false,
      zIndex: 0,
      // The pane pans under a stage's box; only its button takes clicks.
      style: { pointerEvents: "none" },
    });
    for (const n of stage.nodes) {
      const at = placed.nodes.get(n.path);
      if (!at) continue;
      nodes.push({
        id: n.path,
        type: "task",
        position: { x: at.x, y: at.y },
        width: at.w,
        height: at.h,
        measured: measured[n.path],
        data: { node: n, selected: selected === n.path } satisfies TaskData,
        draggable: false,
        selectable: false,
        focusable: false,
        zIndex: 1,
      });
    }
  });
  const edges: Edge[] = placed.edges.map((e) => ({
    id: `${e.from}>${e.to}`,
    source: e.from,
    target: e.to,
    focusable: false,
    selectable: false,
  }));
  return (
    <div className="graph" role="group" aria-label="Stages and nodes">
      <ReactFlow
        nodes={nodes}
        onNodesChange={onNodesChange}
        edges={edges}
        nodeTypes={nodeTypes}
        colorMode={theme}
        fitView
        fitViewOptions={{ maxZoom: 1 }}
        minZoom={0.1}
        nodesDraggable={false}
        nodesConnectable={false}
        nodesFocusable={false}
        edgesFocusable={false}
        elementsSelectable={false}
        // A click on a task (or Enter on its button, which clicks it) opens it.
        onNodeClick={(_, n) => n.type === "task" && onSelect(n.id)}
        onlyRenderVisibleElements={total > 300}
      >
        <FitOnResize />
        <Background />
        <Controls showInteractive={false} />
        <MiniMap pannable zoomable ariaLabel="Minimap of the stages" />
      </ReactFlow>
    </div>
  );
}
