// The approval card: pure DOM, no framework. Every value is set with textContent or
// an input's value, never innerHTML, so arguments are always shown as text.
import { makeField, visibleText, type Field } from "./inputs";
import { decisionMessage, type ArgumentView, type DecisionMessage, type EditValue, type RequestView } from "./messages";

export type Status = "pending" | "approved" | "edited" | "rejected" | "timed_out" | "cancelled";

export interface DecisionRecord {
  status: Status;
  by?: string | null;
  at?: string | null;
  feedback?: string | null;
  /** Changed arguments, each value as exact text (cut with "…" past a few hundred characters). */
  diff?: Record<string, { from: string | unknown; to: string | unknown }>;
  /** Which call: `function(name=value, …)`, bounded, secret-looking arguments redacted (absent in older records). */
  call?: string | null;
  /** The batch label the agent got for the call (`PENDING_APPROVAL_1`); absent outside a batch and in older records. */
  label?: string | null;
}

export interface CardHandle {
  root: HTMLElement;
  /** Show problems the kernel reported (an invalid edit, a refused message); re-enables the buttons. */
  showProblems(error: string, problems: Record<string, string>): void;
  /** Replace the card by its compact record once the request is settled. */
  settle(record: DecisionRecord): void;
  dispose(): void;
}

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

const SCROLL_OVER = 600;
const TAIL_CHARS = 80;
const DIFF_CHARS = 200;

function count(n: number): string {
  return n.toLocaleString("en-US");
}

function shorten(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

/** One argument's text: always the whole text (scrollable when long), never a silent cut. */
export function valueView(arg: ArgumentView, maxShown: number): HTMLElement {
  const wrap = el("div", "hitl-arg-value");
  const pre = el("pre", "hitl-pre hitl-value", arg.text);
  wrap.append(pre);
  const complete = arg.complete !== false;
  if (arg.uncopied) {
    const notice = el(
      "p",
      "hitl-notice hitl-uncopied",
      "⚠ could not be copied: the function receives the live object; it may change before it runs.",
    );
    notice.setAttribute("role", "note");
    notice.append(el("span", "hitl-meta hitl-uncopied-why", ` (${arg.uncopied})`));
    wrap.append(notice);
  }
  if (!complete) {
    pre.textContent = arg.text.endsWith("…") ? arg.text : `${arg.text}…`;
    const size = arg.length ? `${count(arg.length)} characters` : `more than ${count(maxShown)} characters`;
    const notice = el(
      "p",
      "hitl-notice hitl-too-large",
      `Too large to show whole here (${size}; the card shows up to ${count(maxShown)}). ` +
        "Only its start is shown, so this call can only be rejected in the card.",
    );
    notice.setAttribute("role", "alert");
    wrap.append(notice);
    return wrap;
  }
  const meta: string[] = [];
  if (arg.format === "repr") meta.push("Python repr (not JSON)");
  if (arg.text.length > SCROLL_OVER) {
    pre.classList.add("hitl-scroll");
    pre.tabIndex = 0; // scrollable with the keyboard
    meta.push(`${count(arg.text.length)} characters, all shown: scroll to read`);
    const tail = el("p", "hitl-tail");
    tail.append(el("span", "hitl-tail-label", "ends with: "), el("code", "hitl-tail-text", `…${arg.text.slice(-TAIL_CHARS)}`));
    const more = button("Show all", "hitl-expand");
    more.setAttribute("aria-expanded", "false");
    more.addEventListener("click", () => {
      const expanded = more.getAttribute("aria-expanded") === "true";
      pre.classList.toggle("hitl-scroll", expanded);
      more.textContent = expanded ? "Show all" : "Show less";
      more.setAttribute("aria-expanded", String(!expanded));
    });
    wrap.append(tail, more);
  }
  if (meta.length > 0) wrap.insertBefore(el("p", "hitl-meta", meta.join(" · ")), pre.nextSibling);
  return wrap;
}

function formatSeconds(s: number): string {
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}:${String(Math.floor(s % 60)).padStart(2, "0")}` : `${Math.ceil(s)} s`;
}

/** A record's value: text (version 2); a JSON value in a notebook saved by an older card. */
function recordValue(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** The record's second line: label and call summary ("" for an older record without them). */
export function recordCall(record: DecisionRecord): string {
  return [record.label, record.call].filter((part) => typeof part === "string" && part !== "").join(" ");
}

export function describeRecord(fn: string, record: DecisionRecord): string {
  const who = record.by ? ` by ${record.by}` : "";
  const when = record.at ? ` at ${record.at}` : "";
  switch (record.status) {
    case "approved":
      return `✓ ${fn}() approved${who}${when}`;
    case "edited": {
      const changes = Object.entries(record.diff ?? {})
        .map(([k, d]) => `${k}: ${recordValue(d.from)} → ${recordValue(d.to)}`)
        .join(", ");
      return `✎ ${fn}() edited${who}${when}: ${changes}`;
    }
    case "rejected":
      return `✗ ${fn}() rejected${who}${when}${record.feedback ? `: ${visibleText(record.feedback)}` : ""}`;
    case "timed_out":
      return `⏱ ${fn}() timed out${when}: not run`;
    case "cancelled":
      return `⊘ ${fn}() cancelled${when}: not run`;
    default:
      return `${fn}() pending`;
  }
}

/** How a host page uses the card (the notebook widget needs none of these). */
export interface CardOptions {
  /** Offer "Always approve" and its scope (default true). The dashboard has no session to remember it in. */
  always?: boolean;
}

/** Render `request` into `root`. `send` is the transport: the notebook widget sends the message
 * over the comm (or the Lite relay), the dashboard POSTs it as a decision; either answers a refusal
 * with `showProblems`. */
export function renderCard(
  root: HTMLElement,
  request: RequestView,
  send: (message: DecisionMessage) => void,
  now: () => number = Date.now,
  options: CardOptions = {},
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

  const maxShown = request.max_shown_chars ?? 1_000_000;
  // One row element per argument holding its name and its value together (never dl/dt/dd: host
  // pages such as JupyterLab's output area float dt and block dl, which split names from values).
  const table = el("div", "hitl-arguments");
  table.setAttribute("role", "list");
  table.setAttribute("aria-label", "Arguments");
  const row = (arg: ArgumentView, context: boolean): HTMLElement => {
    const line = el("div", context ? "hitl-arg-row hitl-context-row" : "hitl-arg-row");
    line.setAttribute("role", "listitem");
    line.dataset.name = arg.name;
    const name = el("div", context ? "hitl-arg-name hitl-context-name" : "hitl-arg-name", `${arg.name} (${arg.annotation})`);
    const value = el("div", context ? "hitl-arg hitl-context" : "hitl-arg");
    value.dataset.name = arg.name;
    if (context) value.append(el("p", "hitl-meta", "context from the agent framework, not chosen by the model; not editable"));
    value.append(valueView(context ? { ...arg, uncopied: arg.uncopied ?? null } : arg, maxShown));
    line.append(name, value);
    return line;
  };
  const shown = request.arguments.filter((a) => !a.injected);
  const context = request.arguments.filter((a) => a.injected);
  for (const arg of shown) table.append(row(arg, false));
  if (shown.length === 0) table.append(el("div", "hitl-arg-row hitl-no-arguments", "(no arguments)"));
  for (const arg of context) table.append(row(arg, true));
  card.append(table);
  const facts = request.context ?? [];
  if (facts.length > 0) {
    // What the program computed about this call (a dry run's row count, say): read-only, not the model's.
    const about = el("div", "hitl-arguments hitl-facts");
    about.setAttribute("role", "list");
    about.setAttribute("aria-label", "Context");
    about.append(el("p", "hitl-meta hitl-facts-title", "Context (attached by the program, not chosen by the model)"));
    for (const fact of facts) {
      const line = el("div", "hitl-arg-row hitl-fact-row");
      line.setAttribute("role", "listitem");
      line.dataset.name = fact.name;
      line.append(el("div", "hitl-arg-name hitl-fact-name", fact.name), el("div", "hitl-arg hitl-fact", fact.text));
      about.append(line);
    }
    card.append(about);
  }
  const approvable = request.approvable !== false;
  if (!approvable) {
    const names = (request.too_large ?? []).join(", ");
    const notice = el(
      "p",
      "hitl-notice hitl-not-approvable",
      `${names || "An argument"} cannot be shown whole here, so Approve and Edit are off: reject this call, ` +
        "or decide it where the whole value can be read (the terminal pages any length).",
    );
    notice.setAttribute("role", "alert");
    card.append(notice);
  }

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
  actions.append(approve, edit, reject);
  const offerAlways = options.always !== false;
  if (offerAlways) actions.append(always, scope);
  // Shown while the edit panel holds changes not yet sent: Approve would run the ORIGINAL
  // arguments, so it is off until the person runs the edit or discards it.
  const unsent = el(
    "p",
    "hitl-notice hitl-unsent",
    "You have unsent edits: Approve would run the original arguments. Run with these arguments, or discard the edits.",
  );
  unsent.setAttribute("role", "status");
  unsent.hidden = true;
  card.append(actions, unsent, panel, problems);

  let sent = false;
  /** The edit panel holds changes (or unparsable input) that were not sent. */
  let dirty = false;
  const buttons = [approve, edit, reject, always];
  const offApproval = approvable ? [] : [approve, edit, always, scope];
  const applyApprovable = () => {
    for (const b of offApproval) b.disabled = true;
    if (!sent && approvable) {
      approve.disabled = always.disabled = scope.disabled = dirty;
    }
    unsent.hidden = !dirty || sent;
  };
  const setDirty = (value: boolean) => {
    dirty = value;
    applyApprovable();
  };
  applyApprovable();
  const decide = (message: DecisionMessage) => {
    if (sent) return; // a double click sends one decision
    sent = true;
    for (const b of buttons) b.disabled = true;
    for (const b of panel.querySelectorAll("button")) (b as HTMLButtonElement).disabled = true;
    problems.textContent = "";
    unsent.hidden = true;
    send(message);
  };

  approve.addEventListener("click", () => {
    if (!dirty) decide(decisionMessage(request.id, { kind: "approve" }));
  });
  always.addEventListener("click", () => {
    if (!dirty) decide(decisionMessage(request.id, { kind: "approve", always: scope.value as "function" | "arguments" }));
  });

  let fields: Field[] = [];
  /** Problems reported per argument while no edit panel was open (a page that shows a request
   * whose edit was refused earlier): shown beside the fields once Edit is opened. */
  let reported: Record<string, string> = {};
  reject.addEventListener("click", () => {
    panel.replaceChildren();
    const label = el("label", "hitl-edit-label", "Feedback for the agent (why, and what to do instead)");
    const feedback = el("textarea", "hitl-feedback");
    feedback.id = `hitl-feedback-${request.id}`;
    label.htmlFor = feedback.id;
    const confirm = button("Send rejection", "hitl-send-reject");
    confirm.addEventListener("click", () => decide(decisionMessage(request.id, { kind: "reject", feedback: feedback.value })));
    panel.append(label, feedback, confirm);
    fields = [];
    setDirty(false); // rejecting runs nothing, so leaving an edit for a rejection loses no decision
    feedback.focus();
  });

  edit.addEventListener("click", () => {
    if (!approvable) return;
    panel.replaceChildren();
    const diffView = el("ul", "hitl-diff");
    diffView.setAttribute("aria-label", "Changes");
    const confirm = button("Run with these arguments", "hitl-send-edit");
    /** Only the arguments whose input the person changed; untouched ones are never sent. */
    const changes = (): { changed: Record<string, EditValue>; shown: Record<string, string>; ok: boolean } => {
      const changed: Record<string, EditValue> = {};
      const shownAfter: Record<string, string> = {};
      let ok = true;
      for (const f of fields) {
        const r = f.read();
        f.error.textContent = r.ok ? "" : r.error;
        if (!r.ok) ok = false;
        else if (r.changed) {
          changed[f.arg.name] = r.value;
          shownAfter[f.arg.name] = r.shown;
        }
      }
      return { changed, shown: shownAfter, ok };
    };
    const refresh = () => {
      const { changed, shown: after, ok } = changes();
      diffView.replaceChildren();
      for (const name of Object.keys(changed)) {
        const before = request.arguments.find((a) => a.name === name)?.text ?? "";
        diffView.append(
          el("li", "hitl-diff-item", `${name}: ${shorten(before, DIFF_CHARS)} → ${shorten(after[name] ?? "", DIFF_CHARS)}`),
        );
      }
      confirm.disabled = sent || !ok || Object.keys(changed).length === 0;
      setDirty(!ok || Object.keys(changed).length > 0);
    };
    fields = [];
    for (const arg of request.arguments) {
      if (arg.editable && arg.edit) {
        const field = makeField(arg, refresh);
        fields.push(field);
        panel.append(field.row);
      } else {
        const row = el("div", "hitl-edit-row hitl-edit-fixed");
        row.dataset.name = arg.name;
        row.append(
          el("span", "hitl-edit-label", `${arg.name} (${arg.annotation})`),
          el("span", "hitl-meta", `not editable: ${arg.not_editable ?? "fixed"}; runs as shown`),
        );
        panel.append(row);
      }
    }
    confirm.addEventListener("click", () => {
      const { changed, ok } = changes();
      if (ok && Object.keys(changed).length > 0) decide(decisionMessage(request.id, { kind: "edit", arguments: changed }));
    });
    const discard = button("Discard edits", "hitl-discard-edit");
    discard.addEventListener("click", () => {
      panel.replaceChildren();
      fields = [];
      setDirty(false);
      approve.focus();
    });
    const row = el("div", "hitl-actions hitl-edit-actions");
    row.append(confirm, discard);
    panel.append(diffView, row);
    refresh();
    for (const f of fields) {
      const p = reported[f.arg.name];
      if (p && !f.error.textContent) f.error.textContent = p;
    }
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
      reported = fields.length === 0 ? { ...found } : {}; // an open panel shows them below, at once
      sent = false;
      for (const b of buttons) b.disabled = false;
      for (const b of panel.querySelectorAll("button")) (b as HTMLButtonElement).disabled = false;
      applyApprovable();
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
      const call = recordCall(record);
      if (call) done.append(el("p", "hitl-record-call", visibleText(call)));
      root.replaceChildren(done);
    },
    dispose() {
      if (timer !== undefined) clearInterval(timer);
    },
  };
}
