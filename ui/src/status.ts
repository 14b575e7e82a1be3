// A symbol and a word for every status the API has (pipelines, stages,
// nodes, jobs, attempts, releases…). The symbol is never the only signal:
// the word is shown beside it, or is its accessible name.

export type Tone = "ok" | "bad" | "busy" | "wait" | "idle";

export interface StatusLook {
  icon: string;
  word: string;
  tone: Tone;
}

export const STATUS: Record<string, StatusLook> = {
  CREATED: { icon: "○", word: "Created", tone: "idle" },
  BLOCKED: { icon: "◌", word: "Blocked", tone: "idle" },
  APPROVAL_PENDING: { icon: "✋", word: "Awaiting approval", tone: "wait" },
  WAITING: { icon: "⏸", word: "Waiting", tone: "wait" },
  SCHEDULED: { icon: "⏰", word: "Scheduled", tone: "wait" },
  READY: { icon: "◔", word: "Ready", tone: "busy" },
  PENDING: { icon: "◑", word: "Pending", tone: "busy" },
  NEW: { icon: "○", word: "New", tone: "idle" },
  QUEUED: { icon: "◔", word: "Queued", tone: "busy" },
  CLAIMED: { icon: "◑", word: "Claimed", tone: "busy" },
  RUNNING: { icon: "▶", word: "Running", tone: "busy" },
  SUCCEEDED: { icon: "✔", word: "Succeeded", tone: "ok" },
  FAILED: { icon: "✖", word: "Failed", tone: "bad" },
  CANCELING: { icon: "⊘", word: "Canceling", tone: "busy" },
  CANCELED: { icon: "⊘", word: "Canceled", tone: "idle" },
  SKIPPED: { icon: "↷", word: "Skipped", tone: "idle" },
  TIMED_OUT: { icon: "⌛", word: "Timed out", tone: "bad" },
  IN_PROGRESS: { icon: "▶", word: "In progress", tone: "busy" },
  COMPLETED: { icon: "✔", word: "Completed", tone: "ok" },
  APPROVED: { icon: "✔", word: "Approved", tone: "ok" },
  REJECTED: { icon: "✖", word: "Rejected", tone: "bad" },
  SENT: { icon: "✉", word: "Sent", tone: "ok" },
  NOT_STARTED: { icon: "○", word: "Not started", tone: "idle" },
};

export function statusLook(status: string): StatusLook {
  return STATUS[status] ?? { icon: "?", word: status.toLowerCase().replace(/_/g, " "), tone: "idle" };
}

/** The values of the PipelineStatus enum, in the order filters offer them. */
export const PIPELINE_STATUSES = [
  "CREATED",
  "RUNNING",
  "WAITING",
  "SUCCEEDED",
  "FAILED",
  "CANCELING",
  "CANCELED",
] as const;

/** The values of the PipelineType enum. */
export const PIPELINE_TYPES = ["RUNBOOK", "NESTED", "DEPLOYMENT", "RELEASE_LIFECYCLE"] as const;

/** The values of the ActivityResourceType enum, for the activity filter. */
export const RESOURCE_TYPES = [
  "ORGANIZATION",
  "PROJECT",
  "MEMBERSHIP",
  "PIPELINE_TEMPLATE",
  "PIPELINE",
  "PIPELINE_NODE",
  "DEPLOYMENT",
  "ENVIRONMENT",
  "RELEASE_LIFECYCLE",
  "RELEASE",
  "APPROVAL_RULE",
] as const;
