// The queue's logic, apart from its DOM: order (pending first, oldest first, as the server
// lists), which rows a live update adds, moves or removes, and how far a quorum has got.
import { parseTime } from "./text";
import { STATUSES, type Filters, type RequestStatus, type StoredRequest } from "./types";

export const EMPTY_FILTERS: Filters = { function: "", risk: "", status: "pending", requester: "" };

/** The status filter's "history": everything no longer waiting for a person, newest first. */
export const HISTORY = "history";
export const DECIDED: readonly RequestStatus[] = STATUSES.filter((s) => s !== "pending");

export type Order = "queue" | "newest";

/** The statuses a filter admits (empty: any) and the list's order: the queue (pending first,
 * oldest first) or, for the history, newest first. */
export function listing(filters: Filters): { statuses: readonly string[]; order: Order } {
  if (filters.status === HISTORY) return { statuses: DECIDED, order: "newest" };
  const statuses = filters.status.split(",").map((s) => s.trim()).filter(Boolean);
  return { statuses, order: "queue" };
}

/** The server's order: the queue puts pending before everything else, then oldest first; the
 * history newest first; ties by id. */
export function compareRows(a: StoredRequest, b: StoredRequest, order: Order = "queue"): number {
  const ta = parseTime(a.created_at) ?? 0;
  const tb = parseTime(b.created_at) ?? 0;
  if (order === "newest") {
    if (ta !== tb) return tb - ta;
    return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
  }
  const pa = a.status === "pending" ? 0 : 1;
  const pb = b.status === "pending" ? 0 : 1;
  if (pa !== pb) return pa - pb;
  if (ta !== tb) return ta - tb;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function compareQueue(a: StoredRequest, b: StoredRequest): number {
  return compareRows(a, b, "queue");
}

/** Does `request` belong in a list with these filters (empty filter: any)? As the server
 * filters: function and risk exactly; the requester is the person the agent acts for, or the agent. */
export function matches(request: StoredRequest, filters: Filters): boolean {
  const { statuses } = listing(filters);
  if (statuses.length > 0 && !statuses.includes(request.status)) return false;
  if (filters.risk && request.risk !== filters.risk) return false;
  const fn = filters.function.trim();
  if (fn && request.function !== fn) return false;
  const who = filters.requester.trim();
  if (who && request.on_behalf_of !== who && request.agent !== who) return false;
  return true;
}

/**
 * The rows after `request` changed (or arrived): replaced in place of its old row, moved to its
 * place in the order, or removed when it no longer matches the filters. While more pages exist
 * (`more`), a request that sorts after the last loaded row is left for those pages to bring.
 */
export function upsert(rows: readonly StoredRequest[], request: StoredRequest, filters: Filters, more: boolean): StoredRequest[] {
  const { order } = listing(filters);
  const kept = rows.filter((r) => r.id !== request.id);
  if (!matches(request, filters)) return kept;
  const last = kept[kept.length - 1];
  if (more && last !== undefined && compareRows(request, last, order) > 0) return kept;
  let at = kept.findIndex((r) => compareRows(request, r, order) < 0);
  if (at < 0) at = kept.length;
  return [...kept.slice(0, at), request, ...kept.slice(at)];
}

/** Rows of the next page added after the loaded ones, without repeating a row already shown. */
export function appendPage(rows: readonly StoredRequest[], page: readonly StoredRequest[]): StoredRequest[] {
  const shown = new Set(rows.map((r) => r.id));
  return [...rows, ...page.filter((r) => !shown.has(r.id))];
}

export interface Quorum {
  /** People whose approval counts: of the current version, each once. */
  approvers: string[];
  needed: number;
}

/** Who has approved the current version so far, and how many approvals the policy needs. */
export function quorum(request: StoredRequest): Quorum {
  const approvers: string[] = [];
  for (const approval of request.approvals) {
    if (approval.version === request.version && !approvers.includes(approval.user)) approvers.push(approval.user);
  }
  return { approvers, needed: request.approvals_needed };
}

/** "1 of 2 approvals" (and, apart, who). */
export function quorumText(request: StoredRequest): string {
  const { approvers, needed } = quorum(request);
  return `${approvers.length} of ${needed} approval${needed === 1 ? "" : "s"}`;
}

/** The policy in words: "2 approvals from ops", "1 approval from any approver". */
export function policyText(request: StoredRequest): string {
  const needed = request.approvals_needed;
  const roles = request.roles.length > 0 ? request.roles.join(" or ") : "any approver";
  return `${needed} approval${needed === 1 ? "" : "s"} from ${roles}`;
}

/** Why `user` cannot approve `request`, or null when they may (the server decides; this only explains). */
export function cannotApprove(request: StoredRequest, user: { name: string; roles: string[] }): string | null {
  if (request.status !== "pending") return `it is ${request.status.replace("_", " ")}`;
  if (request.on_behalf_of !== null && request.on_behalf_of === user.name) {
    return "you are the requester: the agent acts on your behalf, so someone else must approve";
  }
  if (quorum(request).approvers.includes(user.name)) return "you have approved this version already";
  if (request.roles.length > 0 && !request.roles.some((role) => user.roles.includes(role))) {
    return `it needs the role ${request.roles.join(" or ")}`;
  }
  return null;
}

/** Is `a` an older state of the request than `b` (by version, then by the server's updated_at)? */
export function isOlder(a: StoredRequest, b: StoredRequest): boolean {
  if (a.version !== b.version) return a.version < b.version;
  const ta = parseTime(a.updated_at);
  const tb = parseTime(b.updated_at);
  return ta !== null && tb !== null && ta < tb;
}
