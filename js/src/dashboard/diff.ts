// What an edit changed, and the card's view of a request at its current version: the
// arguments the agent sent with the edits so far laid over them, so the next approver reviews
// (and may edit again) exactly what would run.
import type { DecisionRecord } from "../card";
import { jsonString } from "../inputs";
import type { ArgumentView, EditValue, RequestView } from "../messages";
import { parseTime, when } from "./text";
import type { Edits, StoredRequest } from "./types";

/** An edited value as the card shows values: JSON text (a string quoted, invisible characters escaped). */
export function editText(value: EditValue): string {
  return "text" in value ? jsonString(value.text) : value.json;
}

export interface Change {
  name: string;
  from: string;
  to: string;
}

/** Each edited argument: its text as the agent sent it, and as edited. */
export function editDiff(view: RequestView, edits: Edits | null | undefined): Change[] {
  if (!edits) return [];
  return Object.entries(edits).map(([name, value]) => ({
    name,
    from: view.arguments.find((a) => a.name === name)?.text ?? "(not in the request)",
    to: editText(value),
  }));
}

/** The edits of the next version: the earlier ones with the new changes over them (the server
 * gets every argument that differs from what the agent sent, not only the last change). */
export function mergeEdits(previous: Edits | null | undefined, changed: Edits): Edits {
  return { ...(previous ?? {}), ...changed };
}

/** Whether the argument's text is a preview cut by the queue's list (the whole is at GET /api/requests/{id}). */
export function isTruncated(arg: ArgumentView): boolean {
  return (arg as ArgumentView & { truncated?: boolean }).truncated === true;
}

function overlay(arg: ArgumentView, value: EditValue, maxShown: number): ArgumentView {
  const text = editText(value);
  const edit = "text" in value ? { text: value.text, encoding: "text" as const } : { text: value.json, encoding: "json" as const };
  const valueJson = "text" in value ? JSON.stringify(value.text) : value.json.trim();
  // an edited value is whole (not the queue's preview of the argument)
  const { truncated: _preview, ...whole } = arg as ArgumentView & { truncated?: boolean };
  return {
    ...whole,
    text,
    format: "json",
    complete: text.length <= maxShown,
    length: text.length,
    edit,
    value_json: valueJson.length <= 1000 ? valueJson : null,
    uncopied: null,
  };
}

/** The card's view of `request` now: its current edits laid over the arguments, and the
 * countdown taken from the server's expiry (the server enforces it). */
export function currentView(request: StoredRequest): RequestView {
  const view = request.view;
  const maxShown = view.max_shown_chars ?? 1_000_000;
  const edits = request.edits ?? {};
  const args = view.arguments.map((arg) => {
    const value = edits[arg.name];
    return value === undefined ? arg : overlay(arg, value, maxShown);
  });
  // In a queue item (a summary) an argument's text may be cut to a preview (`truncated`): it is
  // too large only if the server said so of the whole value.
  const serverTooLarge = new Set(view.too_large ?? []);
  const tooLarge = args
    .filter((a) => !a.injected && (isTruncated(a) ? serverTooLarge.has(a.name) : a.complete === false))
    .map((a) => a.name);
  const expires = parseTime(request.expires_at);
  return {
    ...view,
    arguments: args,
    approvable: tooLarge.length === 0,
    too_large: tooLarge,
    timeout: expires === null ? null : Math.max(0, (expires - parseTime(request.created_at)!) / 1000) || 0,
    deadline_ms: expires,
  };
}

/** The compact record the card settles into once the request is no longer pending. */
export function decisionRecord(request: StoredRequest): DecisionRecord | null {
  const decision = request.decision;
  const at = when(decision?.at ?? request.decided_at) || null;
  const call = request.call_text || null;
  if (request.status === "pending") return null;
  if (request.status === "timed_out") return { status: "timed_out", at, call };
  if (request.status === "cancelled") return { status: "cancelled", at, call };
  if (!decision) return null;
  const by = decision.by.join(", ") || null;
  if (decision.kind === "reject") return { status: "rejected", by, at, feedback: decision.feedback, call };
  const diff: NonNullable<DecisionRecord["diff"]> = {};
  for (const change of editDiff(request.view, decision.edits)) diff[change.name] = { from: change.from, to: change.to };
  const edited = decision.kind === "edit" || Object.keys(diff).length > 0;
  return { status: edited ? "edited" : "approved", by, at, feedback: decision.feedback, diff, call };
}
