// The queue page: pending requests first, oldest first, with their age, risk, quorum so far,
// requester and expiry; decided ones with who decided, when, the edit diff and the feedback.
// Filters live in the URL (?status=&risk=&function=&requester=), so a view can be linked.
// Live: every `request` event re-reads that request and moves, adds or removes its row.
import { Api, ApiError } from "./api";
import { bulkPlan, bulkSummary, pruneSelection } from "./bulk";
import { editDiff } from "./diff";
import { button, el, labelled, select } from "./dom";
import { EMPTY_FILTERS, HISTORY, appendPage, isOlder, listing, quorum, quorumText, upsert } from "./queue";
import { errorText, header, toLoginIfSignedOut } from "./shell";
import { age, countdown, shorten, visible, when } from "./text";
import { RISKS, STATUSES, type Filters, type Me, type StoredRequest } from "./types";

export const PAGE_SIZE = 50;
const CALL_SHOWN = 160;

export function filtersFromUrl(href: string): Filters {
  const params = new URL(href).searchParams;
  const status = params.get("status");
  return {
    function: params.get("function") ?? "",
    risk: params.get("risk") ?? "",
    // absent: the pending queue; "any": every status
    status: status === null ? EMPTY_FILTERS.status : status === "any" ? "" : status,
    requester: params.get("requester") ?? "",
  };
}

export function filtersToQuery(filters: Filters): string {
  const params = new URLSearchParams();
  if (filters.status !== EMPTY_FILTERS.status) params.set("status", filters.status || "any");
  for (const key of ["risk", "function", "requester"] as const) if (filters[key].trim()) params.set(key, filters[key].trim());
  const query = params.toString();
  return query ? `?${query}` : "";
}

function statusLabel(status: string): string {
  return status.replace("_", " ");
}

/** The decision cell: who, when, what changed, the feedback (all as text). */
export function decisionCell(request: StoredRequest): HTMLElement {
  const cell = el("div", "dash-decision");
  const d = request.decision;
  if (request.status === "pending") {
    const { approvers } = quorum(request);
    if (approvers.length > 0) cell.append(el("span", "dash-meta", `approved by ${visible(approvers.join(", "))}`));
    if (request.edits && Object.keys(request.edits).length > 0) {
      cell.append(el("span", "dash-meta", ` · edited (version ${request.version})`));
    }
    return cell;
  }
  if (!d) {
    cell.append(el("span", "", `${statusLabel(request.status)}${request.decided_at ? ` at ${when(request.decided_at)}` : ""}`));
    return cell;
  }
  const verb = d.kind === "reject" ? "rejected" : d.kind === "edit" ? "edited and approved" : "approved";
  cell.append(el("span", "dash-decided", `${verb} by ${visible(d.by.join(", ")) || "?"} at ${when(d.at)}`));
  const changes = editDiff(request.view, d.edits);
  if (changes.length > 0) {
    const list = el("ul", "dash-diff");
    list.setAttribute("aria-label", "Edits");
    for (const c of changes) {
      list.append(el("li", "", `${visible(c.name)}: ${shorten(visible(c.from), 120)} → ${shorten(visible(c.to), 120)}`));
    }
    cell.append(list);
  }
  if (d.feedback) cell.append(el("p", "dash-feedback", `“${visible(d.feedback, true)}”`));
  return cell;
}

export function queuePage(root: HTMLElement, api: Api, me: Me): () => void {
  let filters = filtersFromUrl(window.location.href);
  let rows: StoredRequest[] = [];
  let cursor: string | null = null;
  let selected = new Set<string>();
  let loading = 0;

  const main = el("main", "dash-main");
  root.replaceChildren(header(api, me, "Approval queue"), main);

  // Filters
  const form = el("form", "dash-filters");
  form.setAttribute("aria-label", "Filters");
  const fn = el("input", "hitl-input");
  fn.name = "function";
  fn.value = filters.function;
  fn.placeholder = "any";
  const risk = select([["", "any"], ...RISKS.map((r) => [r, r] as const)], filters.risk);
  risk.name = "risk";
  const status = select(
    [["pending", "pending (the queue)"], [HISTORY, "decided (history, newest first)"], ["", "any"], ...STATUSES.filter((s) => s !== "pending").map((s) => [s, statusLabel(s)] as const)],
    filters.status,
  );
  status.name = "status";
  const requester = el("input", "hitl-input");
  requester.name = "requester";
  requester.value = filters.requester;
  requester.placeholder = "any";
  // The server matches function and requester exactly: offer the names seen so far.
  const functions = el("datalist");
  functions.id = "dash-functions";
  fn.setAttribute("list", functions.id);
  const requesters = el("datalist");
  requesters.id = "dash-requesters";
  requester.setAttribute("list", requesters.id);
  const known = { functions: new Set<string>(), requesters: new Set<string>() };
  const learn = (items: readonly StoredRequest[]) => {
    const add = (set: Set<string>, list: HTMLDataListElement, value: string | null) => {
      if (!value || set.has(value) || set.size >= 500) return;
      set.add(value);
      const option = el("option");
      option.value = value;
      list.append(option);
    };
    for (const r of items) {
      add(known.functions, functions, r.function);
      add(known.requesters, requesters, r.on_behalf_of);
      add(known.requesters, requesters, r.agent);
    }
  };
  const live = el("span", "dash-live", "connecting…");
  live.setAttribute("role", "status");
  form.append(labelled("Function", fn), labelled("Risk", risk), labelled("Status", status), labelled("Requester", requester), live, functions, requesters);

  // Bulk
  const bulk = el("section", "dash-bulk");
  bulk.setAttribute("aria-label", "Decide the selected requests");
  const selectedCount = el("span", "dash-selected", "0 selected");
  const comment = el("input", "hitl-input dash-comment");
  comment.name = "comment";
  const approveSelected = button("Approve selected", "hitl-approve dash-approve-selected");
  const rejectSelected = button("Reject selected", "hitl-reject dash-reject-selected");
  const bulkResult = el("p", "dash-bulk-result");
  bulkResult.setAttribute("role", "status");
  bulk.append(selectedCount, labelled("Comment for the selected requests", comment, "dash-field dash-comment-field"), approveSelected, rejectSelected, bulkResult);

  // Table
  const table = el("table", "dash-queue");
  table.setAttribute("aria-label", "Requests");
  const head = el("thead");
  const headRow = el("tr");
  const all = el("input", "dash-select-all");
  all.type = "checkbox";
  all.setAttribute("aria-label", "Select every pending request shown");
  const allCell = el("th");
  allCell.append(all);
  headRow.append(allCell);
  for (const title of ["Request", "Risk", "Status", "Age", "Approvals", "Requester", "Agent", "Expires", "Decision"]) {
    const th = el("th", "", title);
    th.scope = "col";
    headRow.append(th);
  }
  head.append(headRow);
  const body = el("tbody");
  table.append(head, body);
  const empty = el("p", "dash-empty");
  const more = button("Load more", "dash-more");
  const error = el("p", "dash-error");
  error.setAttribute("role", "alert");
  main.append(form, bulk, error, table, empty, more);

  const names = () => new Map(rows.map((r) => [r.id, `${r.function}()`]));

  const renderRows = () => {
    selected = pruneSelection(selected, rows);
    const now = Date.now();
    body.replaceChildren(
      ...rows.map((r) => {
        const tr = el("tr", `dash-row dash-status-${r.status}`);
        tr.dataset.id = r.id;
        const pick = el("input", "dash-select");
        pick.type = "checkbox";
        pick.disabled = r.status !== "pending";
        pick.checked = selected.has(r.id);
        pick.setAttribute("aria-label", `Select ${visible(r.function)}() ${r.id}`);
        pick.addEventListener("change", () => {
          if (pick.checked) selected.add(r.id);
          else selected.delete(r.id);
          updateBulk();
        });
        const pickCell = el("td");
        pickCell.append(pick);
        const link = el("a", "dash-open", `${visible(r.function)}()`);
        link.href = api.url(`requests/${encodeURIComponent(r.id)}`);
        const reqCell = el("td", "dash-request");
        const call = el("div", "dash-call", shorten(visible(r.call_text), CALL_SHOWN));
        call.title = visible(r.call_text);
        reqCell.append(link, call);
        const riskCell = el("td");
        riskCell.append(el("span", `hitl-risk dash-risk dash-risk-${r.risk}`, r.risk));
        const ageCell = el("td", "dash-age", age(r.created_at, now));
        ageCell.dataset.at = r.created_at;
        ageCell.title = when(r.created_at);
        const { approvers } = quorum(r);
        const quorumCell = el("td", "dash-quorum", quorumText(r));
        if (approvers.length > 0) quorumCell.title = visible(approvers.join(", "));
        const expires = el("td", "dash-expires", r.status === "pending" ? countdown(r.expires_at, now) : "");
        if (r.status === "pending" && r.expires_at) expires.dataset.at = r.expires_at;
        const decisionTd = el("td");
        decisionTd.append(decisionCell(r));
        tr.append(
          pickCell,
          reqCell,
          riskCell,
          el("td", "dash-status", statusLabel(r.status)),
          ageCell,
          quorumCell,
          el("td", "dash-requester", visible(r.on_behalf_of ?? "") || "—"),
          el("td", "dash-agent", visible(r.agent)),
          expires,
          decisionTd,
        );
        return tr;
      }),
    );
    const anything = filters.status || filters.risk || filters.function || filters.requester;
    empty.textContent = rows.length > 0 ? "" : anything ? "No requests match these filters." : "No requests.";
    empty.hidden = rows.length > 0;
    more.hidden = cursor === null;
    const waiting = rows.filter((r) => r.status === "pending").length;
    document.title = `${waiting > 0 ? `(${waiting}${cursor !== null ? "+" : ""}) ` : ""}Approval queue · hitl dashboard`;
    updateBulk();
  };

  const updateBulk = () => {
    const pending = rows.filter((r) => r.status === "pending");
    selectedCount.textContent = `${selected.size} selected`;
    approveSelected.disabled = rejectSelected.disabled = selected.size === 0;
    all.disabled = pending.length === 0;
    all.checked = pending.length > 0 && pending.every((r) => selected.has(r.id));
    all.indeterminate = selected.size > 0 && !all.checked;
  };

  all.addEventListener("change", () => {
    selected = all.checked ? new Set(rows.filter((r) => r.status === "pending").map((r) => r.id)) : new Set();
    renderRows();
  });

  const fail = (e: unknown) => {
    if (toLoginIfSignedOut(e, api)) return;
    error.textContent = errorText(e);
  };

  const load = async (append: boolean) => {
    const ticket = ++loading;
    try {
      const page = await api.listRequests({ ...filters, ...listing(filters) }, PAGE_SIZE, append ? cursor : null);
      if (ticket !== loading) return; // a newer filter's answer wins
      rows = append ? appendPage(rows, page.items) : page.items;
      learn(page.items);
      cursor = page.next_cursor;
      error.textContent = "";
      renderRows();
    } catch (e) {
      if (ticket === loading) fail(e);
    }
  };

  const applyFilters = () => {
    filters = { function: fn.value, risk: risk.value, status: status.value, requester: requester.value };
    window.history.replaceState(null, "", `${window.location.pathname}${filtersToQuery(filters)}`);
    selected = new Set();
    bulkResult.textContent = "";
    void load(false);
  };
  let typing: ReturnType<typeof setTimeout> | undefined;
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    applyFilters();
  });
  for (const control of [risk, status]) control.addEventListener("change", applyFilters);
  for (const control of [fn, requester]) {
    control.addEventListener("input", () => {
      clearTimeout(typing);
      typing = setTimeout(applyFilters, 300);
    });
  }
  more.addEventListener("click", () => void load(true));

  const decideSelected = async (kind: "approve" | "reject") => {
    const plan = bulkPlan(rows, selected, kind, comment.value);
    const labels = names();
    if (plan.body.items.length === 0) {
      bulkResult.textContent = bulkSummary(kind, [], plan.skipped, labels);
      return;
    }
    approveSelected.disabled = rejectSelected.disabled = true;
    bulkResult.textContent = kind === "approve" ? "Approving…" : "Rejecting…";
    try {
      const results = await api.decideMany(plan.body);
      bulkResult.textContent = bulkSummary(kind, results, plan.skipped, labels);
      selected = new Set(results.filter((r) => !r.ok).map((r) => r.id));
      comment.value = "";
      await Promise.all(results.map((r) => refresh(r.id)));
    } catch (e) {
      if (toLoginIfSignedOut(e, api)) return;
      bulkResult.textContent = `Nothing was decided: ${errorText(e)}`;
    } finally {
      updateBulk();
    }
  };
  approveSelected.addEventListener("click", () => void decideSelected("approve"));
  rejectSelected.addEventListener("click", () => void decideSelected("reject"));

  /** Re-read one request and put it where it belongs now. */
  const refresh = async (id: string) => {
    try {
      const request = await api.getRequest(id, true); // a row: the bounded summary, as the list has
      const current = rows.find((r) => r.id === id);
      if (current && isOlder(request, current)) return; // answers of two quick events may cross
      learn([request]);
      rows = upsert(rows, request, filters, cursor !== null);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) rows = rows.filter((r) => r.id !== id);
      else return fail(e);
    }
    renderRows();
  };

  let wasDown = false;
  const close = api.events(
    (event) => {
      // A row shown, or one that would now match (a status filter that the new status meets).
      const shown = rows.some((r) => r.id === event.id);
      const statuses = listing(filters).statuses;
      if (shown || statuses.length === 0 || statuses.includes(event.status)) void refresh(event.id);
    },
    (connected) => {
      live.textContent = connected ? "live" : "reconnecting…";
      live.classList.toggle("dash-live-down", !connected);
      if (connected && wasDown) void load(false); // events may have been missed meanwhile
      wasDown = !connected;
    },
  );

  const tick = setInterval(() => {
    const now = Date.now();
    for (const cell of body.querySelectorAll<HTMLElement>(".dash-age")) cell.textContent = age(cell.dataset.at, now);
    for (const cell of body.querySelectorAll<HTMLElement>(".dash-expires[data-at]")) cell.textContent = countdown(cell.dataset.at, now);
  }, 1000);

  void load(false);
  return () => {
    close();
    clearInterval(tick);
  };
}

