import { afterEach, describe, expect, it, vi } from "vitest";
import { describeRecord, inputKind, literalChoices, renderCard } from "../src/card";
import type { ArgumentView, DecisionMessage, RequestView } from "../src/messages";

const arg = (over: Partial<ArgumentView>): ArgumentView => ({
  name: "x",
  annotation: "str",
  value: "",
  text: '""',
  editable: true,
  ...over,
});

const request: RequestView = {
  id: "abc-1",
  function: "delete_user",
  summary: "Delete a user account.",
  doc: "Delete a user account.\n\nIrreversible.",
  risk: "high",
  timeout: null,
  arguments: [
    arg({ name: "user_id", annotation: "int", value: 123, text: "123" }),
    arg({ name: "hard", annotation: "bool", value: false, text: "false" }),
    arg({ name: "mode", annotation: "'soft' | 'hard'", value: "soft", text: '"soft"' }),
    arg({ name: "tags", annotation: "list[str]", value: ["a"], text: '[\n  "a"\n]' }),
  ],
};

function setup(view: RequestView = request, now?: () => number) {
  const root = document.createElement("div");
  document.body.append(root);
  const sent: DecisionMessage[] = [];
  const handle = renderCard(root, view, (m) => sent.push(m), now);
  const q = <T extends Element>(sel: string) => root.querySelector<T>(sel)!;
  const click = (label: string) =>
    [...root.querySelectorAll<HTMLButtonElement>("button")].find((b) => b.textContent === label)!.click();
  return { root, sent, handle, q, click };
}

afterEach(() => {
  document.body.replaceChildren();
  vi.useRealTimers();
});

describe("card rendering", () => {
  it("shows the function, risk, docstring and typed arguments", () => {
    const { root, q } = setup();
    expect(q(".hitl-function").textContent).toBe("delete_user()");
    expect(q(".hitl-risk").textContent).toBe("high");
    expect(q(".hitl-summary").textContent).toBe("Delete a user account.");
    expect(q("details pre").textContent).toContain("Irreversible.");
    const names = [...root.querySelectorAll(".hitl-arg-name")].map((n) => n.textContent);
    expect(names).toEqual(["user_id (int)", "hard (bool)", "mode ('soft' | 'hard')", "tags (list[str])"]);
  });

  it("has the accessible button names", () => {
    const { root } = setup();
    const labels = [...root.querySelectorAll("button")].map((b) => b.textContent);
    expect(labels).toEqual(["Approve", "Edit", "Reject", "Always approve"]);
  });

  it("shows hostile values as text, never markup", () => {
    const hostile = "<img src=x onerror=alert(1)><script>alert(2)</script>";
    const { root, q } = setup({ ...request, function: "<b>f</b>", arguments: [arg({ text: hostile, value: hostile })] });
    expect(root.querySelector("img, script, b")).toBeNull();
    expect(q(".hitl-arg .hitl-pre").textContent).toBe(hostile);
    expect(q(".hitl-function").textContent).toBe("<b>f</b>()");
  });

  it("truncates long values with an expand control", () => {
    const long = "y".repeat(5000);
    const { q } = setup({ ...request, arguments: [arg({ text: long, value: long })] });
    expect(q(".hitl-arg .hitl-pre").textContent!.length).toBeLessThan(500);
    q<HTMLButtonElement>(".hitl-expand").click();
    expect(q(".hitl-arg .hitl-pre").textContent).toBe(long);
    expect(q(".hitl-expand").getAttribute("aria-expanded")).toBe("true");
  });

  it("counts down to the timeout", () => {
    vi.useFakeTimers();
    let t = 0;
    const { q } = setup({ ...request, timeout: 90, deadline_ms: 90_000 }, () => t);
    expect(q(".hitl-countdown").textContent).toBe("times out in 1:30");
    t = 85_000;
    vi.advanceTimersByTime(1000);
    expect(q(".hitl-countdown").textContent).toBe("times out in 5 s");
  });
});

describe("decisions", () => {
  it("sends one versioned approve message, even on a double click", () => {
    const { sent, click } = setup();
    click("Approve");
    click("Approve");
    expect(sent).toEqual([{ kind: "decision", version: 1, request_id: "abc-1", decision: { kind: "approve" } }]);
  });

  it("always approve carries the chosen scope", () => {
    const { sent, click, q } = setup();
    q<HTMLSelectElement>(".hitl-scope").value = "arguments";
    click("Always approve");
    expect(sent[0]?.decision).toEqual({ kind: "approve", always: "arguments" });
  });

  it("sends the feedback with a rejection", () => {
    const { sent, click, q } = setup();
    click("Reject");
    q<HTMLTextAreaElement>(".hitl-feedback").value = "use archive_user";
    click("Send rejection");
    expect(sent[0]?.decision).toEqual({ kind: "reject", feedback: "use archive_user" });
  });
});

describe("editing", () => {
  it("offers inputs typed by annotation, labelled with the parameter name", () => {
    const { root, click } = setup();
    click("Edit");
    const labels = [...root.querySelectorAll("label")].map((l) => l.textContent);
    expect(labels).toContain("user_id (int)");
    expect(root.querySelector<HTMLInputElement>('input[type="checkbox"]')!.checked).toBe(false);
    expect([...root.querySelectorAll("select.hitl-input option")].map((o) => o.textContent)).toEqual(["'soft'", "'hard'"]);
    expect(root.querySelector<HTMLTextAreaElement>(".hitl-json")!.value).toBe('[\n  "a"\n]');
  });

  it("checks inputs client-side, shows the diff, and sends only changed arguments", () => {
    const { root, sent, click, q } = setup();
    click("Edit");
    const send = q<HTMLButtonElement>(".hitl-send-edit");
    expect(send.disabled).toBe(true); // nothing changed yet
    const userId = root.querySelector<HTMLInputElement>("#" + CSS.escape(q("label").getAttribute("for")!))!;
    userId.value = "abc";
    userId.dispatchEvent(new Event("input"));
    expect(q(".hitl-edit-error").textContent).toContain("expected a number");
    expect(send.disabled).toBe(true);
    userId.value = "7";
    userId.dispatchEvent(new Event("input"));
    const select = q<HTMLSelectElement>("select.hitl-input");
    select.value = "'hard'";
    select.dispatchEvent(new Event("change"));
    const json = q<HTMLTextAreaElement>(".hitl-json");
    json.value = '["a", "b"]';
    json.dispatchEvent(new Event("input"));
    expect([...root.querySelectorAll(".hitl-diff-item")].map((li) => li.textContent)).toEqual([
      "user_id: 123 → 7",
      'mode: "soft" → "hard"',
      'tags: ["a"] → ["a","b"]',
    ]);
    send.click();
    expect(sent[0]?.decision).toEqual({ kind: "edit", arguments: { user_id: 7, mode: "hard", tags: ["a", "b"] } });
  });

  it("refuses a fractional int and invalid JSON", () => {
    const { root, click, q } = setup();
    click("Edit");
    const inputs = root.querySelectorAll<HTMLInputElement>("input.hitl-input:not([type=checkbox])");
    inputs[0]!.value = "1.5";
    inputs[0]!.dispatchEvent(new Event("input"));
    expect(q(".hitl-edit-error").textContent).toContain("whole number");
    const json = q<HTMLTextAreaElement>(".hitl-json");
    json.value = "[oops";
    json.dispatchEvent(new Event("input"));
    expect(root.textContent).toContain("not valid JSON");
  });

  it("shows the kernel's problems inline and allows another try", () => {
    const { handle, click, q, sent } = setup();
    click("Edit");
    const input = q<HTMLInputElement>("input.hitl-input");
    input.value = "8";
    input.dispatchEvent(new Event("input"));
    click("Run with these arguments");
    expect(sent).toHaveLength(1);
    handle.showProblems("invalid edit of delete_user()", { user_id: "must be below 5" });
    expect(q(".hitl-problems").textContent).toBe("invalid edit of delete_user()");
    expect(q(".hitl-edit-error").textContent).toBe("must be below 5");
    expect(q<HTMLButtonElement>(".hitl-send-edit").disabled).toBe(false);
  });
});

describe("after the decision", () => {
  it("turns into a compact record", () => {
    const { root, handle } = setup();
    handle.settle({ status: "rejected", by: "alice", at: "12:00", feedback: "<i>no</i>" });
    expect(root.querySelector("button")).toBeNull();
    expect(root.textContent).toBe("✗ delete_user() rejected by alice at 12:00: <i>no</i>");
    expect(root.querySelector("i")).toBeNull();
  });

  it("describes every status", () => {
    expect(describeRecord("f", { status: "edited", diff: { n: { from: 1, to: 2 } } })).toBe("✎ f() edited: n: 1 → 2");
    expect(describeRecord("f", { status: "timed_out" })).toBe("⏱ f() timed out: not run");
    expect(describeRecord("f", { status: "cancelled" })).toBe("⊘ f() cancelled: not run");
    expect(describeRecord("f", { status: "approved", by: "bob" })).toBe("✓ f() approved by bob");
  });
});

describe("annotation helpers", () => {
  it("maps annotations to inputs", () => {
    expect(inputKind(arg({ annotation: "int" }))).toBe("number");
    expect(inputKind(arg({ annotation: "float | None" }))).toBe("number");
    expect(inputKind(arg({ annotation: "bool" }))).toBe("checkbox");
    expect(inputKind(arg({ annotation: "dict[str, int]" }))).toBe("json");
    expect(inputKind(arg({ annotation: "Color", choices: ["red", "blue"] }))).toBe("select");
    expect(literalChoices("'a' | 'b'")).toEqual(["'a'", "'b'"]);
    expect(literalChoices("int | str")).toBeNull();
  });
});
