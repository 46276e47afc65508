// The approval card: pure DOM, no framework. Every value is set with textContent or
// an input's value, never innerHTML, so arguments are always shown as text.
import { decisionMessage, type ArgumentView, type DecisionMessage, type RequestView } from "./messages";

export type Status = "pending" | "approved" | "edited" | "rejected" | "timed_out" | "cancelled";

export interface DecisionRecord {
  status: Status;
  by?: string | null;
  at?: string | null;
  feedback?: string | null;
  diff?: Record<string, { from: unknown; to: unknown }>;
}

export interface CardHandle {
  root: HTMLElement;
  /** Show problems the kernel reported (an invalid edit, a refused message); re-enables the buttons. */
  showProblems(error: string, problems: Record<string, string>): void;
  /** Replace the card by its compact record once the request is settled. */
  settle(record: DecisionRecord): void;
  dispose(): void;
}

const TRUNCATE_AT = 400;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(label: string, className: string): HTMLButtonElement {
  const b = el("button", `hitl-button ${className}`, label);
  b.type = "button";
  return b;
}

/** Choices of a Literal/Enum annotation rendered by Python as `'a' | 'b'` or `1 | 2`. */
export function literalChoices(annotation: string): string[] | null {
  const parts = annotation.split(" | ").map((p) => p.trim());
  if (parts.length < 2) return null;
  const quoted = parts.every((p) => /^'.*'$|^".*"$/.test(p) || /^-?\d+(\.\d+)?$/.test(p) || p === "True" || p === "False");
  return quoted ? parts : null;
}

function valueFromChoice(choice: string): unknown {
  if (/^'.*'$|^".*"$/.test(choice)) return choice.slice(1, -1);
  if (choice === "True") return true;
  if (choice === "False") return false;
  return Number(choice);
}

export type InputKind = "number" | "checkbox" | "select" | "json" | "text";

export function inputKind(arg: ArgumentView): InputKind {
  const a = arg.annotation.replace(/ \| None$/, "");
  if (arg.choices && arg.choices.length > 0) return "select";
  if (literalChoices(a)) return "select";
  if (a === "int" || a === "float") return "number";
  if (a === "bool") return "checkbox";
  if (/^(list|dict|tuple|set|frozenset)\b/.test(a)) return "json";
  if (a === "str") return "text";
  return typeof arg.value === "object" && arg.value !== null ? "json" : "text";
}

interface FieldState {
  arg: ArgumentView;
  read(): { ok: true; value: unknown } | { ok: false; error: string };
  error: HTMLElement;
}

function makeField(arg: ArgumentView, onChange: () => void): { row: HTMLElement; state: FieldState } {
  const row = el("div", "hitl-edit-row");
  const id = `hitl-${Math.random().toString(36).slice(2)}-${arg.name}`;
  const label = el("label", "hitl-edit-label", `${arg.name} (${arg.annotation})`);
  label.htmlFor = id;
  const error = el("div", "hitl-edit-error");
  error.setAttribute("role", "alert");
  const kind = inputKind(arg);
  let read: FieldState["read"];
  if (kind === "checkbox") {
    const input = el("input", "hitl-input");
    input.type = "checkbox";
    input.id = id;
    input.checked = arg.value === true;
    input.addEventListener("change", onChange);
    read = () => ({ ok: true, value: input.checked });
    row.append(label, input, error);
  } else if (kind === "select") {
    const select = el("select", "hitl-input");
    select.id = id;
    const choices = arg.choices ?? literalChoices(arg.annotation.replace(/ \| None$/, "")) ?? [];
    for (const choice of choices) {
      const option = el("option", "", choice);
      option.value = choice;
      select.append(option);
    }
    const current = choices.find((c) => JSON.stringify(valueFromChoice(c)) === JSON.stringify(arg.value) || c === arg.value);
    if (current !== undefined) select.value = current;
    select.addEventListener("change", onChange);
    read = () => ({ ok: true, value: arg.choices ? select.value : valueFromChoice(select.value) });
    row.append(label, select, error);
  } else if (kind === "json") {
    const area = el("textarea", "hitl-input hitl-json");
    area.id = id;
    area.value = JSON.stringify(arg.value, null, 2);
    area.rows = Math.min(8, area.value.split("\n").length);
    area.addEventListener("input", onChange);
    read = () => {
      try {
        return { ok: true, value: JSON.parse(area.value) as unknown };
      } catch (e) {
        return { ok: false, error: `not valid JSON: ${(e as Error).message}` };
      }
    };
    row.append(label, area, error);
  } else {
    const input = el("input", "hitl-input");
    input.id = id;
    input.type = kind === "number" ? "text" : "text";
    input.inputMode = kind === "number" ? "decimal" : "text";
    input.value = arg.value === null || arg.value === undefined ? "" : String(arg.value);
    input.addEventListener("input", onChange);
    read = () => {
      if (kind !== "number") return { ok: true, value: input.value };
      const text = input.value.trim();
      const isInt = arg.annotation.startsWith("int");
      if (text === "" && arg.annotation.endsWith("| None")) return { ok: true, value: null };
      const n = Number(text);
      if (text === "" || !Number.isFinite(n)) return { ok: false, error: `expected a number, got ${JSON.stringify(text)}` };
      if (isInt && !Number.isInteger(n)) return { ok: false, error: `expected a whole number, got ${text}` };
      return { ok: true, value: n };
    };
    row.append(label, input, error);
  }
  return { row, state: { arg, read, error } };
}

function valueText(text: string): HTMLElement {
  const wrap = el("div", "hitl-arg-value");
  const pre = el("pre", "hitl-pre");
  if (text.length <= TRUNCATE_AT) {
    pre.textContent = text;
    wrap.append(pre);
    return wrap;
  }
  pre.textContent = `${text.slice(0, TRUNCATE_AT)}…`;
  const more = button(`Show all (${text.length} characters)`, "hitl-expand");
  more.setAttribute("aria-expanded", "false");
  more.addEventListener("click", () => {
    const expanded = more.getAttribute("aria-expanded") === "true";
    pre.textContent = expanded ? `${text.slice(0, TRUNCATE_AT)}…` : text;
    more.textContent = expanded ? `Show all (${text.length} characters)` : "Show less";
    more.setAttribute("aria-expanded", String(!expanded));
  });
  wrap.append(pre, more);
  return wrap;
}

function formatSeconds(s: number): string {
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}:${String(Math.floor(s % 60)).padStart(2, "0")}` : `${Math.ceil(s)} s`;
}

export function describeRecord(fn: string, record: DecisionRecord): string {
  const who = record.by ? ` by ${record.by}` : "";
  const when = record.at ? ` at ${record.at}` : "";
  switch (record.status) {
    case "approved":
      return `✓ ${fn}() approved${who}${when}`;
    case "edited": {
      const changes = Object.entries(record.diff ?? {})
        .map(([k, d]) => `${k}: ${JSON.stringify(d.from)} → ${JSON.stringify(d.to)}`)
        .join(", ");
      return `✎ ${fn}() edited${who}${when}: ${changes}`;
    }
    case "rejected":
      return `✗ ${fn}() rejected${who}${when}${record.feedback ? `: ${record.feedback}` : ""}`;
    case "timed_out":
      return `⏱ ${fn}() timed out${when}: not run`;
    case "cancelled":
      return `⊘ ${fn}() cancelled${when}: not run`;
    default:
      return `${fn}() pending`;
  }
}

export function renderCard(
  root: HTMLElement,
  request: RequestView,
  send: (message: DecisionMessage) => void,
  now: () => number = Date.now,
): CardHandle {
  const card = el("section", "hitl-card");
  card.setAttribute("aria-label", `Approval request for ${request.function}`);
  card.dataset.risk = request.risk;

  const header = el("header", "hitl-card-header");
  header.append(el("strong", "hitl-function", `${request.function}()`));
  header.append(el("span", `hitl-risk hitl-risk-${request.risk}`, request.risk));
  if (request.label) header.append(el("code", "hitl-label", request.label));
  const countdown = el("span", "hitl-countdown");
  countdown.setAttribute("aria-live", "off");
  header.append(countdown);
  card.append(header);

  if (request.summary) {
    if (request.doc && request.doc.trim() !== request.summary.trim()) {
      const details = el("details", "hitl-doc");
      details.append(el("summary", "hitl-summary", request.summary), el("pre", "hitl-pre", request.doc));
      card.append(details);
    } else {
      card.append(el("p", "hitl-summary", request.summary));
    }
  }

  const table = el("dl", "hitl-arguments");
  for (const arg of request.arguments) {
    table.append(el("dt", "hitl-arg-name", `${arg.name} (${arg.annotation})`));
    const dd = el("dd", "hitl-arg");
    dd.append(valueText(arg.text));
    table.append(dd);
  }
  if (request.arguments.length === 0) table.append(el("dd", "hitl-arg", "(no arguments)"));
  card.append(table);

  const panel = el("div", "hitl-panel");
  const problems = el("div", "hitl-problems");
  problems.setAttribute("role", "alert");
  const actions = el("div", "hitl-actions");
  const approve = button("Approve", "hitl-approve");
  const edit = button("Edit", "hitl-edit");
  const reject = button("Reject", "hitl-reject");
  const always = button("Always approve", "hitl-always");
  const scope = el("select", "hitl-scope");
  scope.setAttribute("aria-label", "Always approve scope");
  for (const [value, label] of [
    ["function", `${request.function}() for this session`],
    ["arguments", "these exact arguments"],
  ] as const) {
    const option = el("option", "", label);
    option.value = value;
    scope.append(option);
  }
  actions.append(approve, edit, reject, always, scope);
  card.append(actions, panel, problems);

  let sent = false;
  const buttons = [approve, edit, reject, always];
  const decide = (message: DecisionMessage) => {
    if (sent) return; // a double click sends one decision
    sent = true;
    for (const b of buttons) b.disabled = true;
    for (const b of panel.querySelectorAll("button")) (b as HTMLButtonElement).disabled = true;
    problems.textContent = "";
    send(message);
  };

  approve.addEventListener("click", () => decide(decisionMessage(request.id, { kind: "approve" })));
  always.addEventListener("click", () =>
    decide(decisionMessage(request.id, { kind: "approve", always: scope.value as "function" | "arguments" })),
  );

  let fields: FieldState[] = [];
  reject.addEventListener("click", () => {
    panel.replaceChildren();
    const label = el("label", "hitl-edit-label", "Feedback for the agent (why, and what to do instead)");
    const feedback = el("textarea", "hitl-feedback");
    feedback.id = `hitl-feedback-${request.id}`;
    label.htmlFor = feedback.id;
    const confirm = button("Send rejection", "hitl-send-reject");
    confirm.addEventListener("click", () => decide(decisionMessage(request.id, { kind: "reject", feedback: feedback.value })));
    panel.append(label, feedback, confirm);
    feedback.focus();
  });

  edit.addEventListener("click", () => {
    panel.replaceChildren();
    const diffView = el("ul", "hitl-diff");
    const confirm = button("Run with these arguments", "hitl-send-edit");
    const changes = (): { changed: Record<string, unknown>; ok: boolean } => {
      const changed: Record<string, unknown> = {};
      let ok = true;
      for (const f of fields) {
        const r = f.read();
        f.error.textContent = r.ok ? "" : r.error;
        if (!r.ok) ok = false;
        else if (JSON.stringify(r.value) !== JSON.stringify(f.arg.value)) changed[f.arg.name] = r.value;
      }
      return { changed, ok };
    };
    const refresh = () => {
      const { changed, ok } = changes();
      diffView.replaceChildren();
      for (const [name, value] of Object.entries(changed)) {
        const before = request.arguments.find((a) => a.name === name)?.value;
        diffView.append(el("li", "hitl-diff-item", `${name}: ${JSON.stringify(before)} → ${JSON.stringify(value)}`));
      }
      confirm.disabled = sent || !ok || Object.keys(changed).length === 0;
    };
    fields = [];
    for (const arg of request.arguments.filter((a) => a.editable)) {
      const { row, state } = makeField(arg, refresh);
      fields.push(state);
      panel.append(row);
    }
    confirm.addEventListener("click", () => {
      const { changed, ok } = changes();
      if (ok && Object.keys(changed).length > 0) decide(decisionMessage(request.id, { kind: "edit", arguments: changed }));
    });
    panel.append(diffView, confirm);
    refresh();
  });

  let timer: ReturnType<typeof setInterval> | undefined;
  if (request.timeout !== null && request.deadline_ms !== undefined && request.deadline_ms !== null) {
    const deadline = request.deadline_ms;
    const tick = () => {
      const left = Math.max(0, (deadline - now()) / 1000);
      countdown.textContent = `times out in ${formatSeconds(left)}`;
      if (left <= 0 && timer !== undefined) clearInterval(timer);
    };
    tick();
    timer = setInterval(tick, 1000);
  }

  root.replaceChildren(card);

  return {
    root: card,
    showProblems(error, found) {
      sent = false;
      for (const b of buttons) b.disabled = false;
      for (const b of panel.querySelectorAll("button")) (b as HTMLButtonElement).disabled = false;
      problems.textContent = error;
      for (const f of fields) {
        const p = found[f.arg.name];
        if (p) f.error.textContent = p;
      }
    },
    settle(record) {
      if (timer !== undefined) clearInterval(timer);
      const done = el("section", `hitl-card hitl-record hitl-record-${record.status}`);
      done.setAttribute("aria-label", `Decision for ${request.function}`);
      done.append(el("p", "hitl-record-text", describeRecord(request.function, record)));
      root.replaceChildren(done);
    },
    dispose() {
      if (timer !== undefined) clearInterval(timer);
    },
  };
}
