// The request's log as the page lists it: one line per attempt, accepted or refused.
import { editDiff } from "./diff";
import { visible, when } from "./text";
import type { LogEntry } from "./types";
import type { RequestView } from "../messages";

const ACTIONS: Record<string, string> = {
  approve: "approve",
  edit: "edit",
  reject: "reject",
  claim: "claimed to run",
  outcome: "reported the outcome",
  invalid_edit: "refused the edit (invalid arguments)",
  cancel: "cancelled",
  timeout: "timed out",
};

/** "2026-12-01 21:40:05 UTC · carol via dashboard · approve v1 · refused (self_approval): …". */
export function logLine(entry: LogEntry, view?: RequestView): string {
  const who = `${visible(entry.actor)}${entry.actor_kind === "agent" ? " (agent)" : ""}${entry.channel ? ` via ${visible(entry.channel)}` : ""}`;
  const action = `${ACTIONS[entry.action] ?? visible(entry.action)}${entry.version !== null ? ` v${entry.version}` : ""}`;
  const result = entry.accepted ? `accepted${entry.status ? ` → ${entry.status.replace("_", " ")}` : ""}` : `refused (${visible(entry.code ?? "?")}): ${visible(entry.message)}`;
  const parts = [when(entry.at), who, action, result];
  if (view && entry.edits) {
    const changes = editDiff(view, entry.edits).map((c) => `${visible(c.name)}: ${visible(c.from)} → ${visible(c.to)}`);
    if (changes.length > 0) parts.push(changes.join(", "));
  }
  if (entry.feedback) parts.push(`feedback: ${visible(entry.feedback, true)}`);
  return parts.join(" · ");
}
