// Bulk decisions: the selected pending requests, each with the version the person saw, and
// one comment for all; the answer is per request (one may be refused while the others pass).
import { currentView } from "./diff";
import { visible } from "./text";
import type { BulkBody, BulkResult, StoredRequest } from "./types";

export interface BulkPlan {
  body: BulkBody;
  /** Selected requests left out, and why (no longer pending, or too large to approve unseen). */
  skipped: { id: string; reason: string }[];
}

/** The body of `POST /api/decisions` for the selected rows. */
export function bulkPlan(rows: readonly StoredRequest[], selected: ReadonlySet<string>, kind: "approve" | "reject", comment: string): BulkPlan {
  const items: BulkBody["items"] = [];
  const skipped: BulkPlan["skipped"] = [];
  for (const row of rows) {
    if (!selected.has(row.id)) continue;
    if (row.status !== "pending") skipped.push({ id: row.id, reason: `it is ${row.status.replace("_", " ")} now` });
    else if (kind === "approve" && currentView(row).approvable === false) {
      skipped.push({ id: row.id, reason: "an argument is too large to show whole: open it to reject it" });
    } else items.push({ id: row.id, version: row.version });
  }
  return { body: { items, kind, feedback: comment }, skipped };
}

/** The selection once rows changed: only ids still shown and still pending stay selected. */
export function pruneSelection(selected: ReadonlySet<string>, rows: readonly StoredRequest[]): Set<string> {
  const pending = new Set(rows.filter((r) => r.status === "pending").map((r) => r.id));
  return new Set([...selected].filter((id) => pending.has(id)));
}

/** One line for the person: "2 rejected; 1 refused (f(): already decided)". */
export function bulkSummary(
  kind: "approve" | "reject",
  results: readonly BulkResult[],
  skipped: BulkPlan["skipped"],
  names: ReadonlyMap<string, string>,
): string {
  const ok = results.filter((r) => r.ok);
  const refused = results.filter((r) => !r.ok);
  const parts: string[] = [];
  if (kind === "reject") parts.push(`${ok.length} rejected`);
  else {
    // An approval counts toward the quorum; the request is approved once the quorum is met.
    const waiting = ok.filter((r) => r.status === "pending").length;
    parts.push(`${ok.length - waiting} approved`);
    if (waiting > 0) parts.push(`${waiting} approval${waiting === 1 ? "" : "s"} counted, more needed`);
  }
  const label = (id: string) => visible(names.get(id) ?? id);
  if (refused.length > 0) {
    parts.push(`${refused.length} refused (${refused.map((r) => `${label(r.id)}: ${visible(r.error ?? r.code ?? "refused")}`).join("; ")})`);
  }
  if (skipped.length > 0) parts.push(`${skipped.length} not sent (${skipped.map((s) => `${label(s.id)}: ${s.reason}`).join("; ")})`);
  return parts.join("; ");
}
