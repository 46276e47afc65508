import { describe, expect, it } from "vitest";
import { currentView, decisionRecord, editDiff, editText, mergeEdits } from "../../src/dashboard/diff";
import { decisionBody } from "../../src/dashboard/requestPage";
import { decisionMessage } from "../../src/messages";
import { stored, view } from "./fixtures";

describe("edit diff", () => {
  it("shows each edited argument as the agent sent it and as edited, strings quoted", () => {
    expect(editDiff(view, { amount: { json: "60" }, order_id: { text: "A-18" } })).toEqual([
      { name: "amount", from: "120.5", to: "60" },
      { name: "order_id", from: '"A-17"', to: '"A-18"' },
    ]);
    expect(editDiff(view, null)).toEqual([]);
  });

  it("writes invisible characters of an edited string as escapes", () => {
    expect(editText({ text: "a\u202eb\u0007" })).toBe('"a\\u202eb\\u0007"');
    expect(editText({ json: "[1, 2]" })).toBe("[1, 2]");
  });

  it("a further edit keeps the earlier ones", () => {
    expect(mergeEdits({ amount: { json: "60" } }, { order_id: { text: "B" } })).toEqual({
      amount: { json: "60" },
      order_id: { text: "B" },
    });
    expect(mergeEdits({ amount: { json: "60" } }, { amount: { json: "50" } })).toEqual({ amount: { json: "50" } });
    expect(mergeEdits(null, { amount: { json: "1" } })).toEqual({ amount: { json: "1" } });
  });
});

describe("the card's view of the current version", () => {
  it("lays the edits over the arguments, so the next approver sees what would run", () => {
    const r = stored({ version: 2, edits: { amount: { json: "60" }, order_id: { text: "A\u202e-18" } } });
    const v = currentView(r);
    const amount = v.arguments.find((a) => a.name === "amount")!;
    expect(amount.text).toBe("60");
    expect(amount.edit).toEqual({ text: "60", encoding: "json" });
    expect(amount.value_json).toBe("60");
    const order = v.arguments.find((a) => a.name === "order_id")!;
    expect(order.text).toBe('"A\\u202e-18"');
    expect(order.edit).toEqual({ text: "A\u202e-18", encoding: "text" });
    expect(v.approvable).toBe(true);
    // the agent's view itself is untouched
    expect(r.view.arguments[1]!.text).toBe("120.5");
  });

  it("takes the countdown from the server's expiry", () => {
    const v = currentView(stored({ created_at: "2026-12-01T21:00:00Z", expires_at: "2026-12-01T21:05:00Z" }));
    expect(v.deadline_ms).toBe(Date.parse("2026-12-01T21:05:00Z"));
    expect(v.timeout).toBe(300);
    const never = currentView(stored({ expires_at: null }));
    expect(never.timeout).toBeNull();
    expect(never.deadline_ms).toBeNull();
  });
});

describe("the card's decision as the API's body", () => {
  const r = stored({ version: 4, edits: { amount: { json: "60" } } });
  it("names the version the card showed", () => {
    expect(decisionBody(r, decisionMessage("call-1", { kind: "approve" }))).toEqual({ version: 4, kind: "approve" });
    expect(decisionBody(r, decisionMessage("call-1", { kind: "reject", feedback: "no" }))).toEqual({
      version: 4,
      kind: "reject",
      feedback: "no",
    });
  });

  it("sends an edit as protocol-v2 edit arguments, with the earlier edits kept", () => {
    expect(decisionBody(r, decisionMessage("call-1", { kind: "edit", arguments: { order_id: { text: "B" } } }))).toEqual({
      version: 4,
      kind: "edit",
      edits: { amount: { json: "60" }, order_id: { text: "B" } },
    });
  });
});

describe("the settled card's record", () => {
  it("is absent while pending", () => {
    expect(decisionRecord(stored())).toBeNull();
  });

  it("names who approved and the edit diff", () => {
    const r = stored({
      status: "approved",
      decision: { kind: "edit", by: ["ann", "bob"], at: "2026-12-01T21:03:04Z", feedback: null, edits: { amount: { json: "60" } } },
    });
    expect(decisionRecord(r)).toMatchObject({
      status: "edited",
      by: "ann, bob",
      at: "2026-12-01 21:03:04 UTC",
      diff: { amount: { from: "120.5", to: "60" } },
    });
  });

  it("keeps the rejection's feedback, and tells a timeout from a rejection", () => {
    const rejected = stored({
      status: "rejected",
      decision: { kind: "reject", by: ["ann"], at: "2026-12-01T21:03:04Z", feedback: "use archive", edits: null },
    });
    expect(decisionRecord(rejected)).toMatchObject({ status: "rejected", by: "ann", feedback: "use archive" });
    expect(decisionRecord(stored({ status: "timed_out", decided_at: "2026-12-01T21:05:00Z" }))).toMatchObject({ status: "timed_out" });
  });
});

describe("crossing answers", () => {
  it("an older state of the request never replaces a newer one", async () => {
    const { isOlder } = await import("../../src/dashboard/queue");
    const v1 = stored({ version: 1, updated_at: "2026-12-01T21:00:01Z" });
    expect(isOlder(v1, { ...v1, version: 2 })).toBe(true);
    expect(isOlder({ ...v1, version: 2 }, v1)).toBe(false);
    expect(isOlder(v1, { ...v1, updated_at: "2026-12-01T21:00:02Z" })).toBe(true);
    expect(isOlder(v1, v1)).toBe(false);
    expect(isOlder({ ...v1, updated_at: null }, v1)).toBe(false);
  });
});
