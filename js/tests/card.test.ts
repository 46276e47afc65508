import { describe, expect, it } from "vitest";
import { renderCard } from "../src/card";
import type { DecisionMessage, RequestView } from "../src/messages";

const request: RequestView = {
  id: "abc-1",
  function: "delete_user",
  summary: "Delete a user account.",
  risk: "high",
  timeout: null,
  arguments: [{ name: "user_id", annotation: "int", text: "123", editable: true }],
};

function setup(view: RequestView = request) {
  const root = document.createElement("div");
  const sent: DecisionMessage[] = [];
  renderCard(root, view, (m) => sent.push(m));
  return { root, sent };
}

describe("card", () => {
  it("shows the function, risk and arguments", () => {
    const { root } = setup();
    expect(root.querySelector(".hitl-function")?.textContent).toBe("delete_user()");
    expect(root.querySelector(".hitl-risk")?.textContent).toBe("high");
    expect(root.querySelector(".hitl-arg-value")?.textContent).toBe("123");
  });

  it("shows hostile values as text, never markup", () => {
    const hostile = "<img src=x onerror=alert(1)>";
    const { root } = setup({ ...request, arguments: [{ name: "q", annotation: "str", text: hostile, editable: true }] });
    expect(root.querySelector("img")).toBeNull();
    expect(root.querySelector(".hitl-arg-value")?.textContent).toBe(hostile);
  });

  it("sends one versioned approve message, even on a double click", () => {
    const { root, sent } = setup();
    const approve = root.querySelector<HTMLButtonElement>(".hitl-approve")!;
    approve.click();
    approve.click();
    expect(sent).toEqual([{ kind: "decision", version: 1, request_id: "abc-1", decision: { kind: "approve" } }]);
  });

  it("sends the feedback with a rejection", () => {
    const { root, sent } = setup();
    root.querySelector<HTMLTextAreaElement>(".hitl-feedback")!.value = "use archive_user";
    root.querySelector<HTMLButtonElement>(".hitl-reject")!.click();
    expect(sent[0]?.decision).toEqual({ kind: "reject", feedback: "use archive_user" });
  });
});
