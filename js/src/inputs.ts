// Edit inputs built from each parameter's JSON Schema. Every input holds text and every
// edit goes back as text ({text}) or JSON text ({json}) that Python parses: no value ever
// becomes a JavaScript number, so integers above 2**53 stay exact.
import type { ArgumentView, Choice, EditValue, JsonSchema } from "./messages";

export type InputKind = "select" | "checkbox" | "integer" | "number" | "date" | "text" | "textarea" | "json";

export interface InputSpec {
  kind: InputKind;
  /** The schema allows null (`X | None`): the card offers a "None" checkbox. */
  nullable: boolean;
  /** The schema's string format (date-time, time, uuid, ...), for the placeholder. */
  format?: string;
  /** Why a string is edited as JSON text rather than as itself (shown next to the field). */
  asJson?: string;
}

// Characters a text field cannot hold (a textarea turns \r\n and \r into \n, a one-line input drops
// \r and \n) or that a person cannot see for what they are (controls, format characters such as
// bidi overrides and zero-width ones, separators other than the space, lone surrogates, and the
// printable-but-invisible Default_Ignorable_Code_Point set: variation selectors, Hangul fillers,
// combining grapheme joiner, tags, ... plus the braille blank U+2800). A string with any of them
// is edited as its JSON text, where they are visible escapes. The same definition as
// display.is_hidden in Python; tests/fixtures/hidden_characters.json is checked by both.
const NOT_PLAIN_TEXT = /\r|(?![\n\t ])[\p{C}\p{Z}\p{Default_Ignorable_Code_Point}\u2800]/u;
const NOT_PLAIN_TEXT_ALL = /(?![\n\t ])[\p{C}\p{Z}\p{Default_Ignorable_Code_Point}\u2800]/gu;

/** Can a text field show `text` exactly, every character visible? */
export function isPlainText(text: string): boolean {
  return !NOT_PLAIN_TEXT.test(text);
}

/** `text` as a JSON string literal with every invisible character written as a `\\uXXXX` escape. */
export function jsonString(text: string): string {
  return JSON.stringify(text).replace(NOT_PLAIN_TEXT_ALL, (chars) =>
    Array.from({ length: chars.length }, (_, i) => `\\u${chars.charCodeAt(i).toString(16).padStart(4, "0")}`).join(""),
  );
}

/** `text` with every invisible character written as a `\\uXXXX` escape (newlines and tabs kept): free text
 * such as a rejection's feedback, shown as text. */
export function visibleText(text: string): string {
  return text.replace(NOT_PLAIN_TEXT_ALL, (chars) =>
    Array.from({ length: chars.length }, (_, i) => `\\u${chars.charCodeAt(i).toString(16).padStart(4, "0")}`).join(""),
  );
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function isSchema(value: unknown): value is JsonSchema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `schema` with local `$ref`s (`#/$defs/Name`) followed. */
export function resolveRef(schema: unknown, root: JsonSchema): JsonSchema {
  let current = schema;
  for (let i = 0; i < 32; i++) {
    if (!isSchema(current)) return {};
    const ref = current.$ref;
    if (typeof ref !== "string" || !ref.startsWith("#/$defs/")) return current;
    const defs = isSchema(root.$defs) ? root.$defs : {};
    current = defs[ref.slice("#/$defs/".length)];
  }
  return {};
}

function types(schema: JsonSchema): string[] {
  if (typeof schema.type === "string") return [schema.type];
  if (Array.isArray(schema.type)) return schema.type.filter((t): t is string => typeof t === "string");
  return [];
}

const LONG_TEXT = 60;

/** Which input an argument gets: from its schema, but never one that cannot hold its current value.

A string the fields cannot hold exactly (carriage returns, invisible characters) is JSON text;
a date input only for a value that is a plain date; a number, checkbox or date input only for a
value of that kind (a datetime passed for a `date`, a string for an `int` get a text or JSON field).
 */
export function inputSpec(arg: ArgumentView): InputSpec {
  const spec = schemaSpec(arg);
  const edit = arg.edit;
  const isNull = arg.value_json === "null";
  if (!edit || (isNull && spec.nullable)) return spec; // a None starts as an empty field (or the None box)
  const { nullable } = spec;
  const asText = (): InputSpec => {
    if (edit.encoding === "text" && !isPlainText(edit.text)) {
      return { kind: "json", nullable, asJson: "as JSON text: it holds carriage returns or invisible characters, shown as \\u escapes" };
    }
    const long = edit.text.length > LONG_TEXT || edit.text.includes("\n");
    return { kind: long ? "textarea" : "text", nullable, ...(spec.format ? { format: spec.format } : {}) };
  };
  const asJson = (): InputSpec => (edit.encoding === "text" ? asText() : { kind: "json", nullable });
  switch (spec.kind) {
    case "text":
    case "textarea":
      return asText();
    case "date":
      return edit.encoding === "text" && DATE.test(edit.text) ? spec : asText();
    case "integer":
      return edit.encoding === "json" && INTEGER.test(edit.text) ? spec : asJson();
    case "number":
      return edit.encoding === "json" && NUMBER.test(edit.text) ? spec : asJson();
    case "checkbox":
      return arg.value_json === "true" || arg.value_json === "false" ? spec : asJson();
    default:
      return spec;
  }
}

function schemaSpec(arg: ArgumentView): InputSpec {
  const root: JsonSchema = isSchema(arg.schema) ? arg.schema : {};
  let schema = resolveRef(root, root);
  let nullable = false;
  const members = Array.isArray(schema.anyOf) ? schema.anyOf : Array.isArray(schema.oneOf) ? schema.oneOf : null;
  let memberTypes: string[] = [];
  if (members) {
    const resolved = members.map((m) => resolveRef(m, root));
    const nonNull = resolved.filter((m) => !(types(m).length === 1 && types(m)[0] === "null"));
    nullable = nonNull.length < resolved.length;
    if (nonNull.length === 1) schema = nonNull[0]!;
    else memberTypes = [...new Set(nonNull.flatMap(types))].sort();
  }
  const own = types(schema);
  if (own.includes("null")) nullable = true;
  if (arg.choices && arg.choices.length > 0) return { kind: "select", nullable };
  if (memberTypes.length > 0) {
    // A union of several kinds: numbers-or-strings (Decimal) are typed as text; anything else as JSON,
    // so the person's text says which member it is (`"7"` a string, `7` a number).
    const decimalLike = memberTypes.every((t) => t === "number" || t === "integer" || t === "string");
    if (decimalLike && memberTypes.includes("string") && !memberTypes.includes("integer")) return { kind: "text", nullable };
    return { kind: "json", nullable };
  }
  const kinds = own.filter((t) => t !== "null");
  const single = kinds.length === 1 ? kinds[0] : undefined;
  const format = typeof schema.format === "string" ? schema.format : undefined;
  const long = (arg.edit?.text.length ?? 0) > LONG_TEXT || (arg.edit?.text ?? "").includes("\n");
  switch (single) {
    case "boolean":
      return { kind: "checkbox", nullable };
    case "integer":
      return { kind: "integer", nullable };
    case "number":
      return { kind: "number", nullable };
    case "string":
      if (format === "date" && !long) return { kind: "date", nullable, format };
      return { kind: long ? "textarea" : "text", nullable, ...(format ? { format } : {}) };
    case "object":
    case "array":
      return { kind: "json", nullable };
    default:
      if (kinds.length > 1) return { kind: "json", nullable };
      // No type in the schema (an unannotated parameter, Any): a string stays text, anything else JSON.
      if (arg.edit?.encoding === "text") return { kind: long ? "textarea" : "text", nullable };
      return { kind: "json", nullable };
  }
}

const PLACEHOLDERS: Record<string, string> = {
  "date-time": "YYYY-MM-DDTHH:MM:SS (optionally +HH:MM)",
  date: "YYYY-MM-DD",
  time: "HH:MM:SS",
  duration: "seconds, or ISO 8601 like PT1H30M",
  uuid: "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
};

const INTEGER = /^-?(0|[1-9]\d*)$/;
const NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

export type FieldRead =
  | { ok: true; changed: false }
  | { ok: true; changed: true; value: EditValue; shown: string }
  | { ok: false; error: string };

export interface Field {
  arg: ArgumentView;
  spec: InputSpec;
  /** The input (or select / textarea) holding the value. */
  control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
  /** What the person changed (if anything), as it would be sent. */
  read(): FieldRead;
  error: HTMLElement;
  row: HTMLElement;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

let counter = 0;

/** The input row for one editable argument; `onChange` runs on every change.

Untouched means "as the field holds it once the value was put in": should the DOM still change a
value (it normalises some text), the field falls back to JSON text, and never sends a value
nobody changed.
 */
export function makeField(arg: ArgumentView, onChange: () => void, forced?: InputSpec): Field {
  const spec = forced ?? inputSpec(arg);
  const edit = arg.edit ?? { text: arg.text, encoding: "json" as const };
  // A JSON field always starts with JSON text: a string's own text is quoted (and escaped).
  const start = spec.kind === "json" && edit.encoding === "text" ? { text: jsonString(edit.text), encoding: "json" as const } : edit;
  const row = el("div", "hitl-edit-row");
  row.dataset.name = arg.name;
  row.dataset.kind = spec.kind;
  const id = `hitl-input-${++counter}`;
  const label = el("label", "hitl-edit-label", `${arg.name} (${arg.annotation})`);
  label.htmlFor = id;
  const error = el("div", "hitl-edit-error");
  error.setAttribute("role", "alert");
  const box = el("div", "hitl-edit-box");

  let control: Field["control"];
  let readValue: () => FieldRead;
  if (spec.kind === "checkbox") {
    const input = el("input", "hitl-input");
    input.type = "checkbox";
    const initial = arg.value_json === "true";
    input.checked = initial;
    input.addEventListener("change", onChange);
    control = input;
    readValue = () =>
      input.checked === initial && arg.value_json !== "null"
        ? { ok: true, changed: false }
        : { ok: true, changed: true, value: { json: input.checked ? "true" : "false" }, shown: String(input.checked) };
  } else if (spec.kind === "select") {
    const select = el("select", "hitl-input");
    const choices: Choice[] = arg.choices ?? [];
    const current = choices.findIndex((c) => c.json === arg.value_json);
    if (current < 0) {
      // The value is none of the choices (or null): keep it selectable as it is.
      const option = el("option", "", arg.value_json === "null" ? "None" : `(as it is) ${arg.text.slice(0, 80)}`);
      option.value = "";
      select.append(option);
    }
    choices.forEach((choice, index) => {
      const option = el("option", "", choice.label);
      option.value = String(index);
      select.append(option);
    });
    const initial = current < 0 ? "" : String(current);
    select.value = initial;
    select.addEventListener("change", onChange);
    control = select;
    readValue = () => {
      if (select.value === initial) return { ok: true, changed: false };
      const choice = choices[Number(select.value)];
      if (!choice) return { ok: true, changed: false };
      return { ok: true, changed: true, value: { json: choice.json }, shown: choice.label };
    };
  } else {
    const multiline = spec.kind === "json" || spec.kind === "textarea";
    const input = multiline ? el("textarea", `hitl-input ${spec.kind === "json" ? "hitl-json" : "hitl-textarea"}`) : el("input", "hitl-input");
    if (!(input instanceof HTMLTextAreaElement)) {
      input.type = spec.kind === "date" ? "date" : "text"; // before the value: the type decides what it may hold
      if (spec.kind === "integer" || spec.kind === "number") {
        input.inputMode = spec.kind === "integer" ? "numeric" : "decimal";
        input.classList.add("hitl-number");
      }
      const placeholder = spec.format ? PLACEHOLDERS[spec.format] : undefined;
      if (placeholder) input.placeholder = placeholder;
    }
    const intended = arg.value_json === "null" && spec.nullable ? "" : start.text;
    input.value = intended;
    if (input.value !== intended && spec.kind !== "json") {
      // This input cannot hold the value (the DOM changed it as it was put in): JSON text instead.
      return makeField(arg, onChange, { kind: "json", nullable: spec.nullable, asJson: "as JSON text: this field could not hold the value exactly" });
    }
    // What the field holds now is "untouched"; should even JSON text not be held as given, the
    // field is read-only (below) rather than sending what nobody typed.
    const initial = input.value;
    const exact = initial === intended;
    if (input instanceof HTMLTextAreaElement) {
      input.rows = Math.max(2, Math.min(12, initial.split("\n").length + Math.floor(initial.length / 90)));
      input.spellcheck = false;
    }
    input.addEventListener("input", onChange);
    input.addEventListener("change", onChange);
    control = input;
    if (!exact) input.readOnly = true;
    readValue = () => {
      const text = input.value;
      if (text === initial || !exact) return { ok: true, changed: false };
      if (spec.kind === "integer" || spec.kind === "number") {
        const trimmed = text.trim();
        const pattern = spec.kind === "integer" ? INTEGER : NUMBER;
        if (!pattern.test(trimmed)) {
          return { ok: false, error: spec.kind === "integer" ? `expected a whole number, got ${JSON.stringify(text)}` : `expected a number, got ${JSON.stringify(text)}` };
        }
        return { ok: true, changed: true, value: { json: trimmed }, shown: trimmed };
      }
      if (spec.kind === "json") {
        try {
          JSON.parse(text); // a syntax check only: the text itself is sent, and Python parses it exactly
        } catch (e) {
          return { ok: false, error: `not valid JSON: ${(e as Error).message}` };
        }
        return { ok: true, changed: true, value: { json: text }, shown: text };
      }
      return { ok: true, changed: true, value: { text }, shown: JSON.stringify(text) };
    };
  }
  control.id = id;
  control.dataset.name = arg.name;
  box.append(control);
  if (spec.asJson) box.append(el("span", "hitl-meta hitl-as-json", spec.asJson));

  let read = readValue;
  if (spec.nullable && spec.kind !== "select") {
    const none = el("input", "hitl-none");
    none.type = "checkbox";
    none.id = `${id}-none`;
    none.setAttribute("aria-label", `${arg.name} is None`);
    const initialNone = arg.value_json === "null";
    none.checked = initialNone;
    control.disabled = initialNone;
    const noneLabel = el("label", "hitl-none-label", "None");
    noneLabel.prepend(none);
    none.addEventListener("change", () => {
      control.disabled = none.checked;
      onChange();
    });
    box.append(noneLabel);
    read = () => {
      if (none.checked) return initialNone ? { ok: true, changed: false } : { ok: true, changed: true, value: { json: "null" }, shown: "None" };
      if (initialNone) {
        const r = readValue();
        if (r.ok && !r.changed) {
          // None was unticked but the field left as it was: send what the field says.
          if (spec.kind === "checkbox") return { ok: true, changed: true, value: { json: "false" }, shown: "false" };
          if (spec.kind === "text" || spec.kind === "textarea" || spec.kind === "date") return { ok: true, changed: true, value: { text: control.value }, shown: JSON.stringify(control.value) };
          return { ok: false, error: "enter a value, or tick None" };
        }
        return r;
      }
      return readValue();
    };
  } else if (spec.nullable && spec.kind === "select") {
    const select = control as HTMLSelectElement;
    if (arg.value_json !== "null") {
      const option = el("option", "", "None");
      option.value = "null";
      select.append(option);
    }
    read = () => {
      if (select.value === "null") return { ok: true, changed: true, value: { json: "null" }, shown: "None" };
      return readValue();
    };
  }
  row.append(label, box, error);
  return { arg, spec, control, read, error, row };
}
