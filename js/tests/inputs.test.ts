// Edit inputs from JSON Schema; values stay text end to end (no JS number ever holds them).
import { afterEach, describe, expect, it } from "vitest";
import { renderCard } from "../src/card";
import { inputSpec, isPlainText, jsonString, makeField, resolveRef } from "../src/inputs";
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

describe("an input is chosen by the value too: it must hold the value exactly", () => {
  const str = (text: string, schema: ArgumentView["schema"] = { type: "string" }, over: Partial<ArgumentView> = {}) =>
    arg({ name: "s", schema, text: JSON.stringify(text), edit: { text, encoding: "text" }, value_json: JSON.stringify(text), ...over });
  const optionalDate = { anyOf: [{ type: "string", format: "date" }, { type: "null" }] };

  // Text a textarea or a one-line input would change as it is put in, or would show as something else.
  const notPlain = [
    "line one\r\nline two\r\n".repeat(10), // CRLF (mail, HTTP): a textarea makes it LF
    "a\rb", // a lone CR: a one-line input drops it
    "x".repeat(70) + "\u2028" + "y", // a line separator
    "rm -rf /safe\u202e/evil", // a bidi override
    "zero\u200bwidth",
    "no\u00a0break", // looks like a space
    "soft\u00adhyphen",
    "escape \u001b[2J",
    "form feed \u000c",
    "lone \ud800 surrogate",
    "tag \u{e0041} char",
  ];
  for (const text of notPlain) {
    it(`${JSON.stringify(text).slice(0, 40)} is edited as JSON text`, () => {
      expect(isPlainText(text)).toBe(false);
      const spec = inputSpec(str(text));
      expect(spec.kind).toBe("json");
      expect(spec.asJson).toContain("JSON");
      const f = makeField(str(text), () => undefined);
      const shown = f.control.value;
      expect(shown).toBe(jsonString(text));
      expect(JSON.parse(shown)).toBe(text); // the JSON text is the value, exactly
      expect(shown).not.toMatch(/[\r\u2028\u202e\u200b\u00a0\u00ad\u001b\u000c]/); // every such character is a visible escape
      expect(f.read()).toEqual({ ok: true, changed: false }); // untouched: nothing sent
      f.control.value = jsonString(text + "!");
      expect(f.read()).toEqual({ ok: true, changed: true, value: { json: jsonString(text + "!") }, shown: jsonString(text + "!") });
    });
  }

  for (const text of ["plain", "tab\there", "two\nlines", "  spaces  ", "Grüße 東京 🚀", "y".repeat(61)]) {
    it(`${JSON.stringify(text).slice(0, 30)} stays text`, () => {
      expect(isPlainText(text)).toBe(true);
      expect(["text", "textarea"]).toContain(inputSpec(str(text)).kind);
      const f = makeField(str(text), () => undefined);
      expect(f.control.value).toBe(text);
      expect(f.read()).toEqual({ ok: true, changed: false });
    });
  }

  const mismatches: [string, ArgumentView, string][] = [
    ["a datetime for `date`", str("2026-01-02T03:04:05", { type: "string", format: "date" }), "text"],
    ["a datetime for `date | None`", str("2026-01-02T03:04:05", optionalDate), "text"],
    ["a week for `date`", str("2026-W01", { type: "string", format: "date" }), "text"],
    ["a string for `int`", str("12 apples", { type: "integer" }), "text"],
    ["a float for `int`", jsonArg("n", { type: "integer" }, "1.5"), "json"],
    ["a list for `int`", jsonArg("n", { type: "integer" }, "[1]"), "json"],
    ["a string for `float`", str("lots", { type: "number" }), "text"],
    ["an int for `bool`", jsonArg("b", { type: "boolean" }, "1"), "json"],
    ["a string for `bool`", str("yes", { type: "boolean" }), "text"],
    ["a string with CR for `list`", str("a\rb", { type: "array" }), "json"],
  ];
  for (const [name, a, kind] of mismatches) {
    it(`${name} gets a ${kind} field, and untouched sends nothing`, () => {
      expect(inputSpec(a).kind).toBe(kind);
      const f = makeField(a, () => undefined);
      expect(f.row.dataset.kind).toBe(kind);
      expect(f.read()).toEqual({ ok: true, changed: false });
    });
  }

  it("the fitting input where the value fits", () => {
    expect(inputSpec(str("2026-01-02", optionalDate))).toEqual({ kind: "date", nullable: true, format: "date" });
    expect(inputSpec(jsonArg("n", { type: "integer" }, "-12345678901234567890")).kind).toBe("integer");
    expect(inputSpec(jsonArg("f", { type: "number" }, "1e-7")).kind).toBe("number");
    expect(inputSpec(jsonArg("b", { type: "boolean" }, "false")).kind).toBe("checkbox");
    expect(inputSpec(jsonArg("w", optionalDate, "null"))).toEqual({ kind: "date", nullable: true, format: "date" });
  });

  it("an input the DOM changes the value of falls back to JSON text, and sends nothing untouched", () => {
    // A date input empties itself for a value that is not a date (real browsers and happy-dom alike).
    const a = str("2026-01-02T03:04:05", { type: "string", format: "date" });
    const f = makeField(a, () => undefined, { kind: "date", nullable: false, format: "date" });
    expect(f.row.dataset.kind).toBe("json");
    expect(f.control.value).toBe('"2026-01-02T03:04:05"');
    expect(f.read()).toEqual({ ok: true, changed: false });
    // ... and a one-line input drops CR and LF.
    const g = makeField(str("a\rb\nc"), () => undefined, { kind: "text", nullable: false });
    expect(g.row.dataset.kind).toBe("json");
    expect(JSON.parse(g.control.value)).toBe("a\rb\nc");
    expect(g.read()).toEqual({ ok: true, changed: false });
  });

  it("in the card: editing `to` alone sends `to` alone, whatever the other values are", () => {
    const others: ArgumentView[] = [
      ...notPlain.map((text, i) => ({ ...str(text), name: `s${i}` })),
      ...mismatches.map(([, a], i) => ({ ...a, name: `m${i}` })),
    ];
    const view: RequestView = {
      id: "r-x",
      function: "send",
      summary: "",
      risk: "high",
      timeout: null,
      arguments: [str("bob", { type: "string" }, { name: "to" }), ...others],
    };
    const root = document.createElement("div");
    document.body.append(root);
    const sent: DecisionMessage[] = [];
    renderCard(root, view, (m) => sent.push(m));
    [...root.querySelectorAll<HTMLButtonElement>("button")].find((b) => b.textContent === "Edit")!.click();
    const to = root.querySelector<HTMLInputElement>('.hitl-edit-row[data-name="to"] .hitl-input')!;
    to.value = "alice";
    to.dispatchEvent(new Event("input"));
    root.querySelector<HTMLButtonElement>(".hitl-send-edit")!.click();
    expect(sent[0]!.decision).toEqual({ kind: "edit", arguments: { to: { text: "alice" } } });
  });
});
