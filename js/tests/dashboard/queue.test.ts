import { describe, expect, it } from "vitest";
import {
  EMPTY_FILTERS,
  HISTORY,
  appendPage,
  cannotApprove,
  compareQueue,
  listing,
  matches,
  policyText,
  quorum,
  quorumText,
  upsert,
} from "../../src/dashboard/queue";
import { listQuery } from "../../src/dashboard/api";
import type { Filters } from "../../src/dashboard/types";
import { stored } from "./fixtures";

const any: Filters = { ...EMPTY_FILTERS, status: "" };

describe("queue order", () => {
  it("puts pending first, then oldest first, then by id", () => {
    const late = stored({ created_at: "2026-12-01T21:10:00Z" });
    const early = stored({ created_at: "2026-12-01T20:00:00Z" });
    const decidedEarliest = stored({ status: "rejected", created_at: "2026-12-01T19:00:00Z" });
    const tieA = stored({ id: "a", created_at: "2026-12-01T21:10:00Z" });
    const sorted = [late, decidedEarliest, tieA, early].sort(compareQueue);
    expect(sorted.map((r) => r.id)).toEqual([early.id, "a", late.id, decidedEarliest.id]);
  });
});

describe("filters", () => {
  it("match the server's rules: exact function and risk; requester is on_behalf_of or the agent", () => {
    const r = stored({ function: "refund", risk: "high", on_behalf_of: "carol", agent: "billing" });
    expect(matches(r, { ...any, function: "refund" })).toBe(true);
    expect(matches(r, { ...any, function: "ref" })).toBe(false);
    expect(matches(r, { ...any, risk: "low" })).toBe(false);
    expect(matches(r, { ...any, requester: "carol" })).toBe(true);
    expect(matches(r, { ...any, requester: "billing" })).toBe(true);
    expect(matches(r, { ...any, requester: "dave" })).toBe(false);
    expect(matches(r, EMPTY_FILTERS)).toBe(true);
    expect(matches({ ...r, status: "approved" }, EMPTY_FILTERS)).toBe(false);
    expect(matches({ ...r, status: "approved" }, { ...any, status: HISTORY })).toBe(true);
    expect(matches(r, { ...any, status: HISTORY })).toBe(false);
  });

  it("become the API's query: statuses joined, history newest first, empty filters left out", () => {
    expect(listQuery({ ...EMPTY_FILTERS, ...listing(EMPTY_FILTERS) }, 50, null)).toBe("status=pending&limit=50");
    const history = { ...any, status: HISTORY, function: " refund " };
    const q = new URLSearchParams(listQuery({ ...history, ...listing(history) }, 20, "CUR"));
    expect(q.get("status")).toBe("approved,rejected,timed_out,cancelled,running,succeeded,failed");
    expect(q.get("order")).toBe("newest");
    expect(q.get("function")).toBe("refund");
    expect(q.get("cursor")).toBe("CUR");
    expect(q.has("risk")).toBe(false);
    expect(listQuery({ ...any, ...listing(any) }, 5, null)).toBe("limit=5");
  });
});

describe("live updates (upsert)", () => {
  const a = stored({ created_at: "2026-12-01T20:00:00Z" });
  const b = stored({ created_at: "2026-12-01T20:10:00Z" });
  const c = stored({ created_at: "2026-12-01T20:20:00Z" });

  it("inserts a new pending request in its place", () => {
    const rows = upsert([a, c], b, EMPTY_FILTERS, false);
    expect(rows.map((r) => r.id)).toEqual([a.id, b.id, c.id]);
  });

  it("replaces a changed row and keeps its place", () => {
    const approvedOnce = { ...b, approvals: [{ user: "ann", version: 1, at: "2026-12-01T20:11:00Z" }] };
    const rows = upsert([a, b, c], approvedOnce, EMPTY_FILTERS, false);
    expect(rows.map((r) => r.id)).toEqual([a.id, b.id, c.id]);
    expect(rows[1]!.approvals).toHaveLength(1);
  });

  it("removes a row that no longer matches (decided while the queue shows pending)", () => {
    const rows = upsert([a, b, c], { ...b, status: "rejected" }, EMPTY_FILTERS, false);
    expect(rows.map((r) => r.id)).toEqual([a.id, c.id]);
  });

  it("moves a decided row behind the pending ones when every status is shown", () => {
    const rows = upsert([a, b, c], { ...a, status: "approved" }, any, false);
    expect(rows.map((r) => r.id)).toEqual([b.id, c.id, a.id]);
  });

  it("leaves a request that sorts after the last loaded row to the next page", () => {
    const newest = stored({ created_at: "2026-12-01T23:00:00Z" });
    expect(upsert([a, b], newest, EMPTY_FILTERS, true).map((r) => r.id)).toEqual([a.id, b.id]);
    expect(upsert([a, b], newest, EMPTY_FILTERS, false).map((r) => r.id)).toEqual([a.id, b.id, newest.id]);
  });

  it("puts a newly decided request at the top of the history (newest first)", () => {
    const history = { ...any, status: HISTORY };
    const old = stored({ status: "approved", created_at: "2026-12-01T19:00:00Z" });
    const recent = stored({ status: "rejected", created_at: "2026-12-01T22:00:00Z" });
    expect(upsert([old], recent, history, true).map((r) => r.id)).toEqual([recent.id, old.id]);
  });

  it("a next page never repeats a row already shown", () => {
    expect(appendPage([a, b], [b, c]).map((r) => r.id)).toEqual([a.id, b.id, c.id]);
  });
});

describe("quorum", () => {
  it("counts each approver once, and only approvals of the current version", () => {
    const r = stored({
      version: 2,
      approvals: [
        { user: "ann", version: 1, at: "2026-12-01T21:01:00Z" },
        { user: "bob", version: 2, at: "2026-12-01T21:02:00Z" },
        { user: "bob", version: 2, at: "2026-12-01T21:03:00Z" },
      ],
    });
    expect(quorum(r)).toEqual({ approvers: ["bob"], needed: 2 });
    expect(quorumText(r)).toBe("1 of 2 approvals");
    expect(quorumText(stored({ approvals_needed: 1 }))).toBe("0 of 1 approval");
  });

  it("states the policy", () => {
    expect(policyText(stored())).toBe("2 approvals from ops");
    expect(policyText(stored({ approvals_needed: 1, roles: [] }))).toBe("1 approval from any approver");
    expect(policyText(stored({ approvals_needed: 1, roles: ["manager", "cfo"] }))).toBe("1 approval from manager or cfo");
  });

  it("explains why someone cannot approve (the server enforces it)", () => {
    const r = stored({ approvals: [{ user: "ann", version: 1, at: "2026-12-01T21:01:00Z" }] });
    expect(cannotApprove(r, { name: "carol", roles: ["ops"] })).toMatch(/you are the requester/);
    expect(cannotApprove(r, { name: "ann", roles: ["ops"] })).toMatch(/approved this version already/);
    expect(cannotApprove(r, { name: "dave", roles: ["dev"] })).toBe("it needs the role ops");
    expect(cannotApprove(r, { name: "bob", roles: ["ops"] })).toBeNull();
    expect(cannotApprove({ ...r, status: "timed_out" }, { name: "bob", roles: ["ops"] })).toBe("it is timed out");
  });
});
