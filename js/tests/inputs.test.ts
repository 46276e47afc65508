// Edit inputs from JSON Schema; values stay text end to end (no JS number ever holds them).
import { afterEach, describe, expect, it } from "vitest";
import { renderCard } from "../src/card";
import { inputSpec, makeField, resolveRef } from "../src/inputs";
import type { ArgumentView, DecisionMessage, RequestView } from "../src/messages";

const arg = (over: Partial<ArgumentView>): ArgumentView => ({
  name: "x",
  annotation: "any",
  schema: {},
  text: '""',
  format: "json",
  complete: true,
  edit: { text: "", encoding: "text" },
  value_json: '""',
  editable: true,
  ...over,
});

/** A JSON argument as request_view sends it: exact text for the view, the edit and matching. */
const jsonArg = (name: string, schema: ArgumentView["schema"], text: string, over: Partial<ArgumentView> = {}) =>
  arg({ name, schema, text, edit: { text, encoding: "json" }, value_json: text, ...over });

afterEach(() => document.body.replaceChildren());

describe("inputs from JSON Schema", () => {
  const cases: [string, ArgumentView, ReturnType<typeof inputSpec>][] = [
    ["integer", jsonArg("n", { type: "integer" }, "1"), { kind: "integer", nullable: false }],
    ["number", jsonArg("f", { type: "number" }, "1.5"), { kind: "number", nullable: false }],
    ["boolean", jsonArg("b", { type: "boolean" }, "true"), { kind: "checkbox", nullable: false }],
    ["Optional[int]", jsonArg("n", { anyOf: [{ type: "integer" }, { type: "null" }] }, "null"), { kind: "integer", nullable: true }],
    ["type list with null", jsonArg("n", { type: ["string", "null"] }, "null"), { kind: "text", nullable: true }],
    ["array", jsonArg("ids", { type: "array", items: { type: "integer" } }, "[1]"), { kind: "json", nullable: false }],
    ["object", jsonArg("o", { type: "object" }, "{}"), { kind: "json", nullable: false }],
    ["$ref to a model", jsonArg("o", { $defs: { M: { type: "object", properties: {} } }, $ref: "#/$defs/M" }, "{}"), { kind: "json", nullable: false }],
    ["int | str", jsonArg("u", { anyOf: [{ type: "integer" }, { type: "string" }] }, "7"), { kind: "json", nullable: false }],
    ["Decimal", arg({ schema: { anyOf: [{ type: "number" }, { type: "string" }] }, text: '"1.10"', edit: { text: "1.10", encoding: "text" } }), { kind: "text", nullable: false }],
    ["date", arg({ schema: { type: "string", format: "date" }, text: '"2026-02-28"', edit: { text: "2026-02-28", encoding: "text" } }), { kind: "date", nullable: false, format: "date" }],
    ["date-time", arg({ schema: { type: "string", format: "date-time" }, edit: { text: "2026-02-28T10:00:00", encoding: "text" } }), { kind: "text", nullable: false, format: "date-time" }],
    ["uuid", arg({ schema: { type: "string", format: "uuid" } }), { kind: "text", nullable: false, format: "uuid" }],
    ["long string", arg({ schema: { type: "string" }, edit: { text: "y".repeat(61), encoding: "text" } }), { kind: "textarea", nullable: false }],
    ["multi-line string", arg({ schema: { type: "string" }, edit: { text: "a\nb", encoding: "text" } }), { kind: "textarea", nullable: false }],
    ["no schema, a string value", arg({ schema: {}, edit: { text: "hi", encoding: "text" } }), { kind: "text", nullable: false }],
    ["no schema, a list value", jsonArg("v", {}, "[1]"), { kind: "json", nullable: false }],
    ["schema null (unknown)", jsonArg("v", null, "{}"), { kind: "json", nullable: false }],
    [
      "enum via choices",
      jsonArg("c", { $defs: { C: { enum: ["a"], type: "string" } }, anyOf: [{ $ref: "#/$defs/C" }, { type: "null" }] }, '"a"', {
        choices: [{ label: '"a"', json: '"a"' }],
      }),
      { kind: "select", nullable: true },
    ],
  ];
  for (const [name, a, expected] of cases) {
    it(name, () => expect(inputSpec(a)).toEqual(expected));
  }

  it("follows $refs and stops on cycles", () => {
    const root = { $defs: { A: { $ref: "#/$defs/B" }, B: { type: "integer" }, L: { $ref: "#/$defs/L" } } };
    expect(resolveRef({ $ref: "#/$defs/A" }, root)).toEqual({ type: "integer" });
    expect(resolveRef({ $ref: "#/$defs/L" }, root)).toEqual({});
    expect(resolveRef({ $ref: "#/$defs/Missing" }, root)).toEqual({});
  });

  it("builds the matching control", () => {
    const kinds = (a: ArgumentView) => {
      const f = makeField(a, () => undefined);
      return [f.control.tagName.toLowerCase(), (f.control as HTMLInputElement).type];
    };
    expect(kinds(jsonArg("b", { type: "boolean" }, "false"))).toEqual(["input", "checkbox"]);
    expect(kinds(jsonArg("n", { type: "integer" }, "1"))).toEqual(["input", "text"]);
    expect(kinds(jsonArg("ids", { type: "array" }, "[1]"))).toEqual(["textarea", "textarea"]);
    expect(kinds(arg({ schema: { type: "string", format: "date" }, edit: { text: "2026-02-28", encoding: "text" } }))).toEqual(["input", "date"]);
    const select = makeField(jsonArg("m", { enum: ["a", "b"] }, '"b"', { choices: [{ label: '"a"', json: '"a"' }, { label: '"b"', json: '"b"' }] }), () => undefined);
    expect(select.control.tagName).toBe("SELECT");
    expect((select.control as HTMLSelectElement).selectedOptions[0]!.textContent).toBe('"b"');
    const when = makeField(arg({ schema: { type: "string", format: "date-time" }, edit: { text: "x", encoding: "text" } }), () => undefined);
    expect((when.control as HTMLInputElement).placeholder).toContain("YYYY-MM-DD");
  });
});

describe("values stay exact text", () => {
  const set = (control: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement, value: string) => {
    control.value = value;
    control.dispatchEvent(new Event("input"));
    control.dispatchEvent(new Event("change"));
  };

  it("a big-int list is edited as text and sent as the same text", () => {
    const text = "[1234567890123456789, 1234567890123456790, 42]";
    const f = makeField(jsonArg("ids", { type: "array", items: { type: "integer" } }, text), () => undefined);
    expect(f.control.value).toBe(text);
    set(f.control, "[1234567890123456789, 1234567890123456790]");
    expect(f.read()).toEqual({
      ok: true,
      changed: true,
      value: { json: "[1234567890123456789, 1234567890123456790]" },
      shown: "[1234567890123456789, 1234567890123456790]",
    });
  });

  it("integers above 2**53 in a number input stay digit for digit", () => {
    for (const digits of ["9007199254740993", "-12345678901234567890123", "18446744073709551617"]) {
      const f = makeField(jsonArg("n", { type: "integer" }, "1"), () => undefined);
      set(f.control, ` ${digits} `);
      expect(f.read()).toMatchObject({ ok: true, changed: true, value: { json: digits } });
    }
    const f = makeField(jsonArg("n", { type: "integer" }, "1"), () => undefined);
    for (const bad of ["1.5", "1e3", "0x10", "", "abc"]) {
      set(f.control, bad);
      expect(f.read().ok).toBe(false);
    }
  });

  it("numbers keep their digits and reject non-numbers", () => {
    const f = makeField(jsonArg("f", { type: "number" }, "0.1"), () => undefined);
    set(f.control, "0.30000000000000000001");
    expect(f.read()).toMatchObject({ value: { json: "0.30000000000000000001" } });
    set(f.control, "1e400");
    expect(f.read()).toMatchObject({ value: { json: "1e400" } });
    set(f.control, "NaN");
    expect(f.read().ok).toBe(false);
  });

  it("a select sends the choice's exact JSON text", () => {
    const big = "1234567890123456789";
    const f = makeField(
      jsonArg("id", { enum: [1, 2] }, "1", {
        choices: [
          { label: "1", json: "1" },
          { label: big, json: big },
        ],
      }),
      () => undefined,
    );
    set(f.control, "1");
    expect(f.read()).toMatchObject({ value: { json: big } });
    set(f.control, "0");
    expect(f.read()).toEqual({ ok: true, changed: false });
  });

  it("a string is sent as the text itself, spaces and all", () => {
    for (const text of ["  bob  ", '{"looks": "like json"}', "42", ""]) {
      const f = makeField(arg({ schema: { type: "string" }, edit: { text: "alice", encoding: "text" } }), () => undefined);
      set(f.control, text);
      expect(f.read()).toMatchObject({ ok: true, changed: true, value: { text } });
    }
    const multi = makeField(arg({ schema: { type: "string" }, edit: { text: "a\nb", encoding: "text" } }), () => undefined);
    expect(multi.control.tagName).toBe("TEXTAREA");
    set(multi.control, "line 1\r\nline 2\n");
    expect(multi.read()).toMatchObject({ value: { text: multi.control.value } });
    expect(multi.control.value).toContain("line 2");
  });

  it("None for a nullable parameter, and back", () => {
    const f = makeField(jsonArg("n", { anyOf: [{ type: "integer" }, { type: "null" }] }, "5"), () => undefined);
    const none = f.row.querySelector<HTMLInputElement>(".hitl-none")!;
    expect(none.checked).toBe(false);
    none.checked = true;
    none.dispatchEvent(new Event("change"));
    expect(f.read()).toMatchObject({ value: { json: "null" } });
    expect(f.control.disabled).toBe(true);
    const g = makeField(jsonArg("n", { anyOf: [{ type: "string" }, { type: "null" }] }, "null", { edit: { text: "null", encoding: "json" } }), () => undefined);
    expect(g.row.querySelector<HTMLInputElement>(".hitl-none")!.checked).toBe(true);
    expect(g.read()).toEqual({ ok: true, changed: false });
    const gNone = g.row.querySelector<HTMLInputElement>(".hitl-none")!;
    gNone.checked = false;
    gNone.dispatchEvent(new Event("change"));
    set(g.control, "80331");
    expect(g.read()).toMatchObject({ value: { text: "80331" } });
  });

  it("JSON text is checked for syntax but sent as typed", () => {
    const f = makeField(jsonArg("o", { type: "object" }, '{"a": 1}'), () => undefined);
    set(f.control, '{"a": 12345678901234567890, "b": [1.0]}');
    expect(f.read()).toMatchObject({ value: { json: '{"a": 12345678901234567890, "b": [1.0]}' } });
    set(f.control, "{oops");
    expect(f.read()).toMatchObject({ ok: false });
  });
});

describe("an edit sends only what the person changed", () => {
  const body = `Dear team,\n${"lorem ipsum ".repeat(450)}\n… [5223 chars] is not a marker here`;
  const view: RequestView = {
    id: "r-9",
    function: "send_email",
    summary: "",
    risk: "high",
    timeout: null,
    arguments: [
      arg({ name: "to", schema: { type: "string" }, text: '"alice@example.com"', edit: { text: "alice@example.com", encoding: "text" } }),
      arg({ name: "body", schema: { type: "string" }, text: JSON.stringify(body), edit: { text: body, encoding: "text" } }),
      jsonArg("ids", { type: "array", items: { type: "integer" } }, "[1234567890123456789, 42]"),
      jsonArg("urgent", { type: "boolean" }, "false"),
    ],
  };

  function setup() {
    const root = document.createElement("div");
    document.body.append(root);
    const sent: DecisionMessage[] = [];
    renderCard(root, view, (m) => sent.push(m));
    const click = (label: string) => [...root.querySelectorAll<HTMLButtonElement>("button")].find((b) => b.textContent === label)!.click();
    const control = (name: string) => root.querySelector<HTMLInputElement & HTMLTextAreaElement>(`.hitl-edit-row[data-name="${name}"] .hitl-input`)!;
    return { root, sent, click, control };
  }

  it("editing `to` sends `to` alone; the long body is never sent", () => {
    const { sent, click, control } = setup();
    click("Edit");
    expect(control("body").value).toBe(body); // the whole body in the edit field
    control("to").value = "bob@example.com";
    control("to").dispatchEvent(new Event("input"));
    click("Run with these arguments");
    expect(sent).toHaveLength(1);
    expect(sent[0]!.decision).toEqual({ kind: "edit", arguments: { to: { text: "bob@example.com" } } });
  });

  it("touching a field and putting it back sends nothing for it", () => {
    const { sent, click, control, root } = setup();
    click("Edit");
    control("ids").value = "[1]";
    control("ids").dispatchEvent(new Event("input"));
    control("ids").value = "[1234567890123456789, 42]";
    control("ids").dispatchEvent(new Event("input"));
    expect(root.querySelector<HTMLButtonElement>(".hitl-send-edit")!.disabled).toBe(true);
    control("urgent").checked = true;
    control("urgent").dispatchEvent(new Event("change"));
    click("Run with these arguments");
    expect(sent[0]!.decision).toEqual({ kind: "edit", arguments: { urgent: { json: "true" } } });
  });

  it("removing 42 from the ids sends the two exact ids", () => {
    const { sent, click, control, root } = setup();
    click("Edit");
    control("ids").value = "[1234567890123456789]";
    control("ids").dispatchEvent(new Event("input"));
    expect(root.querySelector(".hitl-diff-item")!.textContent).toBe("ids: [1234567890123456789, 42] → [1234567890123456789]");
    click("Run with these arguments");
    expect(sent[0]!.decision).toEqual({ kind: "edit", arguments: { ids: { json: "[1234567890123456789]" } } });
  });
});
