import { describe, expect, it } from "vitest";
import type { RequestView } from "../src/messages";
import { renderReview } from "../src/review";

const req = (id: string, x: number): RequestView => ({
  id,
  function: "send",
  summary: "",
  risk: "medium",
  label: `PENDING_APPROVAL_${x}`,
  timeout: null,
  arguments: [{ name: "x", annotation: "int", schema: { type: "integer" }, text: String(x), edit: { text: String(x), encoding: "json" }, value_json: String(x), editable: true }],
});

function setup() {
  const root = document.createElement("div");
  const sent: unknown[] = [];
  const handle = renderReview(root, [req("r-1", 1), req("r-2", 2)], (m) => sent.push(m));
  const click = (label: string, scope: ParentNode = root) =>
    [...scope.querySelectorAll<HTMLButtonElement>("button")].find((b) => b.textContent === label)!.click();
  return { root, sent, handle, click };
}

describe("batch review table", () => {
  it("shows one card per pending call", () => {
    const { root } = setup();
    expect(root.querySelectorAll(".hitl-card")).toHaveLength(2);
    expect(root.querySelector(".hitl-review-header")?.textContent).toContain("2 calls waiting for review");
  });

  it("labels each row with the placeholder the agent got", () => {
    const { root } = setup();
    const labels = [...root.querySelectorAll(".hitl-review-row .hitl-label")].map((l) => l.textContent);
    expect(labels).toEqual(["PENDING_APPROVAL_1", "PENDING_APPROVAL_2"]);
  });

  it("the header counts down as rows are decided", () => {
    const { root, handle } = setup();
    const header = () => root.querySelector(".hitl-review-header strong")?.textContent;
    handle.settle({ "r-1": { status: "approved" } });
    expect(header()).toBe("1 call waiting for review (of 2)");
    handle.settle({ "r-1": { status: "approved" }, "r-2": { status: "rejected", feedback: "no" } });
    expect(header()).toBe("2 calls reviewed");
  });

  it("per-call decisions use the single card's messages", () => {
    const { root, sent, click } = setup();
    click("Approve", root.querySelectorAll(".hitl-review-row")[1]!);
    expect(sent).toEqual([{ kind: "decision", version: 2, request_id: "r-2", decision: { kind: "approve" } }]);
  });

  it("reject all sends the pending ids once, with the feedback", () => {
    const { root, sent, click, handle } = setup();
    handle.settle({ "r-1": { status: "approved" } });
    root.querySelector<HTMLInputElement>(".hitl-review-feedback")!.value = "not today";
    click("Reject all");
    click("Reject all");
    expect(sent).toEqual([
      { kind: "review_all", version: 2, request_ids: ["r-2"], decision: { kind: "reject", feedback: "not today" } },
    ]);
    expect(root.querySelector(".hitl-record-text")?.textContent).toBe("✓ send() approved");
  });
});
