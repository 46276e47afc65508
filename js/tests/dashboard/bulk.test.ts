import { describe, expect, it } from "vitest";
import { bulkPlan, bulkSummary, pruneSelection } from "../../src/dashboard/bulk";
import { arg, stored, view } from "./fixtures";

describe("bulk decisions", () => {
  const a = stored({ version: 1 });
  const b = stored({ version: 3 });
  const done = stored({ status: "approved" });
  const huge = stored({
    view: { ...view, approvable: false, too_large: ["blob"], arguments: [arg({ name: "blob", complete: false, edit: null, editable: false })] },
  });

  it("sends each selected pending request with the version shown, and one comment", () => {
    const plan = bulkPlan([a, b, done], new Set([a.id, b.id]), "reject", "use the archive instead");
    expect(plan.body).toEqual({
      items: [
        { id: a.id, version: 1 },
        { id: b.id, version: 3 },
      ],
      kind: "reject",
      feedback: "use the archive instead",
    });
    expect(plan.skipped).toEqual([]);
  });

  it("leaves out what is no longer pending, and approvals of arguments too large to show", () => {
    const plan = bulkPlan([a, done, huge], new Set([a.id, done.id, huge.id]), "approve", "");
    expect(plan.body.items).toEqual([{ id: a.id, version: 1 }]);
    expect(plan.skipped.map((s) => s.id)).toEqual([done.id, huge.id]);
    expect(plan.skipped[0]!.reason).toBe("it is approved now");
    // rejecting a call whose arguments could not be shown is allowed
    expect(bulkPlan([huge], new Set([huge.id]), "reject", "no").body.items).toHaveLength(1);
  });

  it("approves a queue item whose argument is only a preview there, unless the whole value is too large", () => {
    // GET /api/requests cuts long texts to previews (truncated, complete: false): that alone is no reason to skip
    const preview = arg({ name: "notes", text: "y".repeat(300), complete: false, length: 1_000_000, edit: null, editable: false });
    const long = stored({ summary: true, truncated: true, view: { ...view, arguments: [{ ...preview, truncated: true } as typeof preview] } });
    expect(bulkPlan([long], new Set([long.id]), "approve", "").body.items).toEqual([{ id: long.id, version: long.version }]);
    const tooLarge = stored({
      summary: true,
      view: { ...view, approvable: false, too_large: ["notes"], arguments: [{ ...preview, truncated: true } as typeof preview] },
    });
    expect(bulkPlan([tooLarge], new Set([tooLarge.id]), "approve", "").skipped.map((s) => s.id)).toEqual([tooLarge.id]);
  });

  it("keeps only selected rows that are still shown and pending", () => {
    const kept = pruneSelection(new Set([a.id, done.id, "gone"]), [a, b, done]);
    expect([...kept]).toEqual([a.id]);
  });

  it("summarises per request: decided, counted toward a quorum, refused, not sent", () => {
    const names = new Map([
      [a.id, "refund()"],
      [b.id, "delete_user()"],
    ]);
    expect(
      bulkSummary(
        "approve",
        [
          { id: a.id, ok: true, status: "approved" },
          { id: b.id, ok: true, status: "pending" },
        ],
        [],
        names,
      ),
    ).toBe("1 approved; 1 approval counted, more needed");
    expect(
      bulkSummary(
        "reject",
        [
          { id: a.id, ok: true, status: "rejected" },
          { id: b.id, ok: false, error: "already decided\u202e", code: "conflict" },
        ],
        [{ id: "r9", reason: "it is approved now" }],
        names,
      ),
    ).toBe("1 rejected; 1 refused (delete_user(): already decided\\u202e); 1 not sent (r9: it is approved now)");
  });
});
