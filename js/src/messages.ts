// Messages between the card and the kernel. Versioned, each carrying the request id;
// mirrored on the Python side (hitl_widget/protocol.py), which validates them before acting.
//
// Values never pass through JavaScript numbers: the kernel sends each argument's exact text
// (display.full_text), the card's inputs hold text, and an edit goes back as that text —
// `{text}` for a string, `{json}` for JSON text that Python parses exactly. (Version 1 sent
// values as JSON, and JS rounded integers above 2**53.)
export const PROTOCOL_VERSION = 2;

/** A JSON Schema object (pydantic's TypeAdapter(hint).json_schema()). */
export type JsonSchema = Record<string, unknown>;

/** One allowed value of an enum/const/Literal parameter, as exact JSON text. */
export interface Choice {
  label: string;
  json: string;
}

/** What an edit field starts with: a string's own text, or JSON text. */
export interface EditStart {
  text: string;
  encoding: "text" | "json";
}

export interface ArgumentView {
  name: string;
  /** The annotation as Python renders it: `int`, `list[str]`, `'a' | 'b'` (shown, never parsed). */
  annotation: string;
  /** The parameter's JSON Schema: the card builds its input from this. `{}` or null: anything. */
  schema?: JsonSchema | null;
  /** The whole value as text (JSON, or a Python repr); when `complete` is false, only its start. */
  text: string;
  /** "json" when `text` is JSON, "repr" when it is a Python repr. */
  format?: "json" | "repr";
  /** False when the value is too large to show whole: the request is then not approvable. */
  complete?: boolean;
  /** Characters in the whole text (null when too large to count cheaply). */
  length?: number | null;
  /** What an edit field starts with; null when the value cannot be edited in the card. */
  edit?: EditStart | null;
  /** Compact JSON of the value, for matching a select option or a checkbox (short values only). */
  value_json?: string | null;
  /** Allowed values (from the schema's enum/const), as exact JSON text. */
  choices?: Choice[] | null;
  editable: boolean;
  /** Why the argument cannot be edited here, if it cannot. */
  not_editable?: string | null;
  /** An agent framework's context parameter (RunContext, ToolContext): shown as context, never edited. */
  injected?: boolean;
  /** Why the argument could not be copied when the call was made (the function gets the live object). */
  uncopied?: string | null;
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
  /** False when an argument is too large to show whole: only Reject is offered (and accepted). */
  approvable?: boolean;
  /** The longest argument text the card shows whole. */
  max_shown_chars?: number;
  /** Names of the arguments too large to show whole. */
  too_large?: string[];
  /** What the program attached to the call (`context=`: a dict, or computed per call, e.g. a dry run's row count). */
  context?: ContextEntry[];
}

/** One entry of a request's context: its name and its value as text (JSON unless it is a string). */
export interface ContextEntry {
  name: string;
  text: string;
}

export type AlwaysScope = "function" | "arguments";

/** One edited argument: the text of its input, as a string or as JSON text. */
export type EditValue = { text: string } | { json: string };

export type DecisionPayload =
  | { kind: "approve"; always?: AlwaysScope }
  | { kind: "edit"; arguments: Record<string, EditValue>; always?: AlwaysScope }
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

/** `{text: string}` or `{json: string}`, nothing else. */
export function isEditValue(value: unknown): value is EditValue {
  if (!isObject(value)) return false;
  const keys = Object.keys(value);
  if (keys.length !== 1) return false;
  const key = keys[0];
  return (key === "text" || key === "json") && typeof value[key] === "string";
}

/** The same checks as hitl_widget/protocol.py's parse_decision_message (the shape; Python also parses the JSON). */
export function isDecisionMessage(value: unknown, requestId: string): value is DecisionMessage {
  if (!isObject(value) || value.kind !== "decision" || value.version !== PROTOCOL_VERSION) return false;
  if (value.request_id !== requestId) return false;
  const decision = value.decision;
  if (!isObject(decision) || !validScope(decision.always)) return false;
  switch (decision.kind) {
    case "approve":
      return true;
    case "edit":
      return isObject(decision.arguments) && Object.values(decision.arguments).every(isEditValue);
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
