// One request: its context (requester, agent, risk, the policy, approvals so far, the time
// left) and THE card of the notebook (js/src/card.ts) to decide it. The card's decision is
// POSTed to /api/requests/{id}/decisions with the version the card shows; the server's answer
// (or a live event) redraws the page with the request as it is now.
import { renderCard, type CardHandle } from "../card";
import type { DecisionMessage } from "../messages";
import { Api, ApiError } from "./api";
import { currentView, decisionRecord, editDiff, mergeEdits } from "./diff";
import { el } from "./dom";
import { logLine } from "./log";
import { cannotApprove, isOlder, policyText, quorum, quorumText } from "./queue";
import { errorText, failure, header, toLoginIfSignedOut } from "./shell";
import { age, countdown, visible, when } from "./text";
import type { DecisionBody, Me, StoredRequest } from "./types";

/** The API body for the card's decision message about `request` (at the version shown). */
export function decisionBody(request: StoredRequest, message: DecisionMessage): DecisionBody {
  const d = message.decision;
  switch (d.kind) {
    case "approve":
      return { version: request.version, kind: "approve" };
    case "edit":
      return { version: request.version, kind: "edit", edits: mergeEdits(request.edits, d.arguments) };
    case "reject":
      return { version: request.version, kind: "reject", feedback: d.feedback };
  }
}

function row(list: HTMLElement, name: string, value: string | HTMLElement, className = ""): HTMLElement {
  const line = el("div", `dash-context-row ${className}`.trim());
  const v = typeof value === "string" ? el("dd", "", value) : value;
  line.append(el("dt", "", name), v);
  list.append(line);
  return v;
}

/** What the agent said when its gate refused an edit (`problems` after `POST …/invalid-edit`):
 * `{error, problems: {argument: text}, version}`; null when there is nothing. */
export function refusedEdit(problems: unknown): { error: string; problems: Record<string, string>; version: number | null } | null {
  if (problems === null || problems === undefined) return null;
  if (typeof problems !== "object" || Array.isArray(problems)) return { error: String(problems), problems: {}, version: null };
  const p = problems as Record<string, unknown>;
  const each: Record<string, string> = {};
  if (p.problems && typeof p.problems === "object" && !Array.isArray(p.problems)) {
    for (const [name, text] of Object.entries(p.problems as Record<string, unknown>)) {
      each[name] = typeof text === "string" ? text : JSON.stringify(text);
    }
  }
  const error = typeof p.error === "string" ? p.error : "the agent refused the edit";
  return { error, problems: each, version: typeof p.version === "number" ? p.version : null };
}

export function requestPage(root: HTMLElement, api: Api, me: Me, id: string): () => void {
  let request: StoredRequest | null = null;
  let card: CardHandle | undefined;
  let shown: { version: number; status: string } | null = null;
  let said = "";
  let expiresCell: HTMLElement | null = null;
  let ageCell: HTMLElement | null = null;

  const main = el("main", "dash-main dash-request-page");
  root.replaceChildren(header(api, me, "Request"), main);
  const back = el("a", "dash-back", "← Queue");
  back.href = api.url("");
  const context = el("dl", "dash-context");
  context.setAttribute("aria-label", "Context");
  const notice = el("p", "dash-notice");
  notice.setAttribute("role", "status");
  const slot = el("div", "dash-card");
  const history = el("section", "dash-history");
  history.setAttribute("aria-label", "History");
  const log = el("section", "dash-log");
  log.setAttribute("aria-label", "Decision log");
  main.append(back, context, notice, slot, history, log);

  let logTicket = 0;
  const drawLog = async (r: StoredRequest) => {
    const ticket = ++logTicket;
    try {
      const entries = await api.requestLog(r.id);
      if (ticket !== logTicket) return;
      const list = el("ol", "dash-log-entries");
      for (const entry of entries) {
        const item = el("li", entry.accepted ? "dash-log-accepted" : "dash-log-refused", logLine(entry, r.view));
        list.append(item);
      }
      if (entries.length === 0) list.append(el("li", "dash-meta", "no decision attempted yet"));
      log.replaceChildren(el("h2", "", "Decision log: every attempt, accepted or refused"), list);
    } catch (e) {
      if (ticket === logTicket) log.replaceChildren(el("p", "dash-meta", `The decision log could not be read: ${errorText(e)}`));
    }
  };

  const drawContext = (r: StoredRequest) => {
    context.replaceChildren();
    const now = Date.now();
    row(context, "Function", `${visible(r.function)}()`, "dash-ctx-function");
    row(context, "Status", r.status.replace("_", " "), "dash-ctx-status");
    const risk = el("dd");
    risk.append(el("span", `hitl-risk dash-risk dash-risk-${r.risk}`, r.risk));
    row(context, "Risk", risk);
    row(context, "Requester", visible(r.on_behalf_of ?? "") || "— (the agent acts for nobody named)", "dash-ctx-requester");
    row(context, "Agent", visible(r.agent), "dash-ctx-agent");
    row(context, "Policy", policyText(r), "dash-ctx-policy");
    const { approvers } = quorum(r);
    row(context, "Approvals", `${quorumText(r)}${approvers.length > 0 ? `: ${visible(approvers.join(", "))}` : ""}`, "dash-ctx-quorum");
    ageCell = row(context, "Requested", `${when(r.created_at)} (${age(r.created_at, now)})`, "dash-ctx-created");
    expiresCell = row(context, "Expires", r.status === "pending" ? countdown(r.expires_at, now) : when(r.expires_at) || "no timeout", "dash-ctx-expires");
    row(context, "Version", String(r.version), "dash-ctx-version");
    row(context, "Request id", r.id, "dash-ctx-id");
    if (r.outcome !== null && r.outcome !== undefined) {
      row(context, "Outcome", visible(typeof r.outcome === "string" ? r.outcome : JSON.stringify(r.outcome)), "dash-ctx-outcome");
    }
    const refused = refusedEdit(r.problems);
    if (refused) {
      const lines = [refused.error, ...Object.entries(refused.problems).map(([name, text]) => `${name}: ${text}`)];
      const which = refused.version !== null ? `The agent refused the edit of version ${refused.version}` : "The agent refused an edit";
      row(context, "Refused edit", visible(`${which}:\n${lines.join("\n")}`, true), "dash-ctx-problems");
    }
  };

  const drawHistory = (r: StoredRequest) => {
    history.replaceChildren(el("h2", "", "History"));
    const list = el("ol", "dash-events");
    list.append(el("li", "", `${when(r.created_at)}: requested by ${visible(r.agent)}${r.on_behalf_of ? ` for ${visible(r.on_behalf_of)}` : ""}`));
    for (const a of r.approvals) {
      const stale = a.version !== r.version && r.status === "pending" ? " (an older version: no longer counts)" : "";
      list.append(el("li", "", `${when(a.at)}: approved by ${visible(a.user)}, version ${a.version}${stale}`));
    }
    const changes = editDiff(r.view, r.decision?.edits ?? r.edits);
    if (changes.length > 0) {
      const item = el("li", "", r.decision ? "Edits run:" : `Edits in version ${r.version}:`);
      const diff = el("ul", "dash-diff");
      diff.setAttribute("aria-label", "Edits");
      for (const c of changes) diff.append(el("li", "", `${visible(c.name)}: ${visible(c.from)} → ${visible(c.to)}`));
      item.append(diff);
      list.append(item);
    }
    if (r.decision) {
      const d = r.decision;
      const verb = d.kind === "reject" ? "rejected" : d.kind === "edit" ? "edited and approved" : "approved";
      const item = el("li", "dash-final", `${when(d.at)}: ${verb} by ${visible(d.by.join(", "))}`);
      if (d.feedback) item.append(el("p", "dash-feedback", `Feedback: ${visible(d.feedback, true)}`));
      list.append(item);
    } else if (r.status !== "pending") {
      list.append(el("li", "dash-final", `${when(r.decided_at)}: ${r.status.replace("_", " ")}`));
    }
    history.append(list);
  };

  const send = (message: DecisionMessage) => {
    const r = request;
    if (!r) return;
    const body = decisionBody(r, message);
    void (async () => {
      try {
        const after = await api.decide(r.id, body);
        const verb = body.kind === "approve" ? "approval" : body.kind === "edit" ? "edit" : "rejection";
        const more = after.status === "pending" ? ` It has ${quorumText(after)}; it needs more before it runs.` : "";
        draw(after, `Your ${verb} was recorded.${more}`);
      } catch (e) {
        if (toLoginIfSignedOut(e, api)) return;
        if (e instanceof ApiError && (e.status === 409 || e.status === 404)) {
          // Stale (someone decided or edited first), expired, or gone: show the request as it is now.
          try {
            draw(await api.getRequest(r.id), `Not recorded: ${visible(e.message)}. The page now shows the request as it is.`, true);
          } catch {
            card?.showProblems(errorText(e), {});
          }
          return;
        }
        const problems = e instanceof ApiError ? e.problems : {};
        card?.showProblems(errorText(e), problems);
        void drawLog(r); // the refused attempt is on the record too
      }
    })();
  };

  const draw = (r: StoredRequest, message = "", force = false) => {
    request = r;
    document.title = `${visible(r.function)}() ${r.status.replace("_", " ")} · hitl dashboard`;
    drawContext(r);
    drawHistory(r);
    void drawLog(r);
    const changed = force || shown === null || shown.version !== r.version || shown.status !== r.status;
    if (changed) {
      card?.dispose();
      card = renderCard(slot, currentView(r), send, Date.now, { always: false });
      const record = decisionRecord(r);
      if (record) card.settle(record);
      const refused = r.status === "pending" ? refusedEdit(r.problems) : null;
      if (refused) {
        // the arguments as edited are shown; the agent's reasons go where the card shows problems
        const named = Object.fromEntries(Object.entries(refused.problems).map(([k, v]) => [k, visible(v, true)]));
        card.showProblems(visible(`The agent refused this edit, so nothing ran: ${refused.error}. Edit again, or reject.`, true), named);
      }
      shown = { version: r.version, status: r.status };
    }
    // A live event that only echoes this page's own decision keeps what the page said about it.
    if (message) said = message;
    else if (changed) said = "";
    const why = r.status === "pending" ? cannotApprove(r, me) : null;
    notice.textContent = [said, why ? `You cannot approve this request: ${why}.` : ""].filter(Boolean).join(" ");
  };

  const load = async (message = "") => {
    try {
      draw(await api.getRequest(id), message);
    } catch (e) {
      if (toLoginIfSignedOut(e, api)) return;
      if (e instanceof ApiError && e.status === 404) failure(root, api, `No request with id ${visible(id)}.`);
      else notice.textContent = `Could not load the request: ${errorText(e)}`;
    }
  };

  let wasDown = false;
  const close = api.events(
    (event) => {
      if (event.id !== id || !request) return;
      void (async () => {
        try {
          const after = await api.getRequest(id);
          const before = request; // as the page shows it now (this page's own decision may have redrawn it meanwhile)
          if (!before || isOlder(after, before)) return; // answers of two quick events may cross
          let message = "";
          if (after.version !== before.version && after.status === "pending") {
            message = `The arguments were edited (now version ${after.version}): review them again.`;
          } else if (after.status !== before.status) message = `Now ${after.status.replace("_", " ")}.`;
          draw(after, message);
        } catch (e) {
          if (!toLoginIfSignedOut(e, api)) notice.textContent = `Could not refresh: ${errorText(e)}`;
        }
      })();
    },
    (connected) => {
      if (connected && wasDown) void load();
      wasDown = !connected;
    },
  );

  const tick = setInterval(() => {
    if (!request) return;
    const now = Date.now();
    if (expiresCell && request.status === "pending") expiresCell.textContent = countdown(request.expires_at, now);
    if (ageCell) ageCell.textContent = `${when(request.created_at)} (${age(request.created_at, now)})`;
  }, 1000);

  void load();
  return () => {
    close();
    clearInterval(tick);
    card?.dispose();
  };
}
