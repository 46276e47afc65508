// Messages between the card and the kernel. Versioned, each carrying the request id;
// mirrored on the Python side, which validates them before acting.
export const PROTOCOL_VERSION = 1;

export interface ArgumentView {
  name: string;
  /** The annotation as Python renders it: `int`, `list[str]`, `'a' | 'b'`. */
  annotation: string;
  /** JSON-safe value (bounded), the starting point of an edit. */
  value: unknown;
  /** Pretty-printed, bounded text to show. */
  text: string;
  editable: boolean;
  /** Enum member values offered in a select, when the annotation is an Enum. */
  choices?: string[] | null;
}

export interface RequestView {
  id: string;
  function: string;
  summary: string;
  risk: "low" | "medium" | "high" | "critical";
  arguments: ArgumentView[];
  timeout: number | null;
  /** Full docstring (the summary is its first line). */
  doc?: string;
  /** How the agent knows this call, e.g. a batch's PENDING_APPROVAL_n placeholder. */
  label?: string | null;
  /** When the call times out, in ms since the epoch (for the countdown). */
  deadline_ms?: number | null;
}

export type AlwaysScope = "function" | "arguments";

export type DecisionPayload =
  | { kind: "approve"; always?: AlwaysScope }
  | { kind: "edit"; arguments: Record<string, unknown>; always?: AlwaysScope }
  | { kind: "reject"; feedback: string };

export interface ErrorMessage {
  kind: "error";
  version: typeof PROTOCOL_VERSION;
  request_id: string | null;
  error: string;
  problems: Record<string, string>;
}

export const MAX_FEEDBACK = 10_000;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function validScope(value: unknown): boolean {
  return value === undefined || value === null || value === "function" || value === "arguments";
}

/** The same checks as hitl_widget/protocol.py's parse_decision_message. */
export function isDecisionMessage(value: unknown, requestId: string): value is DecisionMessage {
  if (!isObject(value) || value.kind !== "decision" || value.version !== PROTOCOL_VERSION) return false;
  if (value.request_id !== requestId) return false;
  const decision = value.decision;
  if (!isObject(decision) || !validScope(decision.always)) return false;
  switch (decision.kind) {
    case "approve":
      return true;
    case "edit":
      return isObject(decision.arguments);
    case "reject":
      return (
        (decision.feedback === undefined || typeof decision.feedback === "string") &&
        String(decision.feedback ?? "").length <= MAX_FEEDBACK
      );
    default:
      return false;
  }
}

/** A reply from the kernel saying a message was refused (malformed, stale, invalid edit). */
export function isErrorMessage(value: unknown): value is ErrorMessage {
  return (
    isObject(value) &&
    value.kind === "error" &&
    value.version === PROTOCOL_VERSION &&
    typeof value.error === "string" &&
    isObject(value.problems)
  );
}

export interface DecisionMessage {
  kind: "decision";
  version: typeof PROTOCOL_VERSION;
  request_id: string;
  decision: DecisionPayload;
}

export function decisionMessage(requestId: string, decision: DecisionPayload): DecisionMessage {
  return { kind: "decision", version: PROTOCOL_VERSION, request_id: requestId, decision };
}
