// The pages' DOM against a scripted server (the fetch seam of Api): what is shown, and what
// each click POSTs (the CSRF token, the version, the protocol-v2 edit arguments).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Api, type Fetch } from "../../src/dashboard/api";
import { queuePage } from "../../src/dashboard/queuePage";
import { requestPage } from "../../src/dashboard/requestPage";
import type { Me, StoredRequest } from "../../src/dashboard/types";
import { stored } from "./fixtures";

interface Call {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

function server(routes: Record<string, (call: Call) => [number, unknown]>) {
  const calls: Call[] = [];
  const fetcher: Fetch = async (input, init) => {
    const url = new URL(input);
    const call: Call = {
      method: init?.method ?? "GET",
      url: url.pathname + url.search,
      headers: (init?.headers ?? {}) as Record<string, string>,
      body: typeof init?.body === "string" ? JSON.parse(init.body) : undefined,
    };
    calls.push(call);
    const key = `${call.method} ${url.pathname}`;
    const route = routes[key];
    const [status, body] = route ? route(call) : [404, { error: `no route ${key}`, code: "not_found" }];
    return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  };
  return { calls, api: new Api("http://dash.test/", fetcher) };
}

const me: Me = { name: "ann", roles: ["ops"], csrf_token: "tok-123" };
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 50 && !check(); i++) await settle();
  expect(check()).toBe(true);
}
const buttons = (root: HTMLElement) => [...root.querySelectorAll<HTMLButtonElement>("button")];
const clickButton = (root: HTMLElement, label: string) => buttons(root).find((b) => b.textContent === label)!.click();

let root: HTMLElement;
let stop: (() => void) | undefined;
beforeEach(() => {
  vi.stubGlobal("EventSource", undefined);
  root = document.createElement("div");
  document.body.append(root);
});
afterEach(() => {
  stop?.();
  stop = undefined;
  vi.unstubAllGlobals();
  document.body.replaceChildren();
});

describe("the request page", () => {
  it("shows the context and the notebook's card without 'Always approve'", async () => {
    const r = stored({ expires_at: new Date(Date.now() + 120_000).toISOString() });
    const { api } = server({ [`GET /api/requests/${r.id}`]: () => [200, r] });
    stop = requestPage(root, api, me, r.id);
    await until(() => root.querySelector(".hitl-card") !== null);
    const text = (sel: string) => root.querySelector(sel)?.textContent ?? "";
    expect(text(".dash-ctx-requester dd")).toBe("carol");
    expect(text(".dash-ctx-agent dd")).toBe("billing-agent");
    expect(text(".dash-ctx-policy dd")).toBe("2 approvals from ops");
    expect(text(".dash-ctx-quorum dd")).toBe("0 of 2 approvals");
    expect(text(".dash-ctx-expires dd")).toMatch(/^times out in (1 min|\d+ s)$/);
    expect(text(".hitl-countdown")).toMatch(/^times out in/);
    const labels = buttons(root.querySelector(".hitl-card")!).map((b) => b.textContent);
    expect(labels).toEqual(["Approve", "Edit", "Reject"]);
    expect(root.querySelector(".hitl-scope")).toBeNull();
  });

  it("POSTs an approval with the CSRF token and the version, then shows the quorum so far", async () => {
    const r = stored();
    const after: StoredRequest = { ...r, approvals: [{ user: "ann", version: 1, at: "2026-12-01T21:01:00Z" }] };
    const { api, calls } = server({
      "GET /api/me": () => [200, me],
      [`GET /api/requests/${r.id}`]: () => [200, r],
      [`POST /api/requests/${r.id}/decisions`]: () => [200, after],
    });
    stop = requestPage(root, api, me, r.id);
    await until(() => root.querySelector(".hitl-approve") !== null);
    clickButton(root, "Approve");
    await until(() => (root.querySelector(".dash-notice")?.textContent ?? "").includes("recorded"));
    const post = calls.find((c) => c.method === "POST")!;
    expect(post.headers["X-CSRF-Token"]).toBe("tok-123");
    expect(post.body).toEqual({ version: 1, kind: "approve" });
    expect(root.querySelector(".dash-notice")!.textContent).toContain("1 of 2 approvals");
    expect(root.querySelector(".dash-ctx-quorum dd")!.textContent).toBe("1 of 2 approvals: ann");
  });

  it("sends a typed edit as protocol-v2 edit arguments", async () => {
    const r = stored({ version: 3 });
    const { api, calls } = server({
      "GET /api/me": () => [200, me],
      [`GET /api/requests/${r.id}`]: () => [200, r],
      [`POST /api/requests/${r.id}/decisions`]: (call) => [200, { ...r, version: 4, edits: (call.body as { edits: unknown }).edits }],
    });
    stop = requestPage(root, api, me, r.id);
    await until(() => root.querySelector(".hitl-edit") !== null);
    clickButton(root, "Edit");
    const amount = root.querySelector<HTMLInputElement>('.hitl-edit-row[data-name="amount"] input')!;
    expect(amount.classList.contains("hitl-number")).toBe(true);
    amount.value = "60";
    amount.dispatchEvent(new Event("input"));
    clickButton(root, "Run with these arguments");
    await until(() => calls.some((c) => c.method === "POST"));
    expect(calls.find((c) => c.method === "POST")!.body).toEqual({ version: 3, kind: "edit", edits: { amount: { json: "60" } } });
    await until(() => root.querySelector(".dash-ctx-version dd")?.textContent === "4");
    expect(root.querySelector('.hitl-arg[data-name="amount"] .hitl-pre')!.textContent).toBe("60");
  });

  it("a refusal (403) shows in the card and re-enables it; a stale decision (409) reloads the request", async () => {
    const r = stored();
    let answer: [number, unknown] = [403, { error: "you are the requester: someone else must approve", code: "self_approval" }];
    const { api } = server({
      "GET /api/me": () => [200, me],
      [`GET /api/requests/${r.id}`]: () => [200, r],
      [`POST /api/requests/${r.id}/decisions`]: () => answer,
    });
    stop = requestPage(root, api, me, r.id);
    await until(() => root.querySelector(".hitl-approve") !== null);
    clickButton(root, "Approve");
    await until(() => (root.querySelector(".hitl-problems")?.textContent ?? "") !== "");
    expect(root.querySelector(".hitl-problems")!.textContent).toContain("you are the requester");
    expect(root.querySelector<HTMLButtonElement>(".hitl-approve")!.disabled).toBe(false);
    answer = [409, { error: "the request is at version 2, not 1", code: "stale_version" }];
    clickButton(root, "Approve");
    await until(() => (root.querySelector(".dash-notice")?.textContent ?? "").includes("Not recorded"));
    expect(root.querySelector(".dash-notice")!.textContent).toContain("version 2, not 1");
  });

  it("a decided request shows the card's record: who, when, feedback", async () => {
    const r = stored({
      status: "rejected",
      decision: { kind: "reject", by: ["bob"], at: "2026-12-01T21:04:00Z", feedback: "use archive_user", edits: null },
    });
    const { api } = server({ [`GET /api/requests/${r.id}`]: () => [200, r] });
    stop = requestPage(root, api, me, r.id);
    await until(() => root.querySelector(".hitl-record") !== null);
    expect(root.querySelector(".hitl-record-text")!.textContent).toBe("✗ refund() rejected by bob at 2026-12-01 21:04:00 UTC: use archive_user");
    expect(root.querySelector(".dash-history")!.textContent).toContain("Feedback: use archive_user");
  });
});

describe("the queue page", () => {
  it("lists requests with age, risk, quorum, requester; bulk-rejects the selected with one comment", async () => {
    const a = stored({ approvals: [{ user: "bob", version: 1, at: "2026-12-01T21:01:00Z" }] });
    const b = stored({ function: "delete_user", risk: "critical", approvals_needed: 1, on_behalf_of: null });
    const { api, calls } = server({
      "GET /api/me": () => [200, me],
      "GET /api/requests": () => [200, { items: [a, b], next_cursor: null }],
      [`GET /api/requests/${a.id}`]: () => [200, { ...a, status: "rejected" }],
      [`GET /api/requests/${b.id}`]: () => [200, { ...b, status: "rejected" }],
      "POST /api/decisions": () => [
        200,
        {
          results: [
            { id: a.id, ok: true, status: "rejected" },
            { id: b.id, ok: true, status: "rejected" },
          ],
        },
      ],
    });
    stop = queuePage(root, api, me);
    await until(() => root.querySelectorAll("tbody tr").length === 2);
    expect(calls[0]!.url).toBe("/api/requests?status=pending&limit=50");
    const row = root.querySelector<HTMLElement>(`tr[data-id="${a.id}"]`)!;
    expect(row.querySelector(".dash-quorum")!.textContent).toBe("1 of 2 approvals");
    expect(row.querySelector(".dash-requester")!.textContent).toBe("carol");
    expect(row.querySelector(".dash-age")!.textContent).toMatch(/ago$/);
    expect(row.querySelector("a.dash-open")!.getAttribute("href")).toBe(`http://dash.test/requests/${a.id}`);
    expect(root.querySelector(`tr[data-id="${b.id}"] .dash-requester`)!.textContent).toBe("—");

    const all = root.querySelector<HTMLInputElement>(".dash-select-all")!;
    all.checked = true;
    all.dispatchEvent(new Event("change"));
    expect(root.querySelector(".dash-selected")!.textContent).toBe("2 selected");
    const comment = root.querySelector<HTMLInputElement>(".dash-comment")!;
    comment.value = "frozen during the audit";
    clickButton(root, "Reject selected");
    await until(() => (root.querySelector(".dash-bulk-result")?.textContent ?? "").startsWith("2 rejected"));
    const post = calls.find((c) => c.method === "POST")!;
    expect(post.headers["X-CSRF-Token"]).toBe("tok-123");
    expect(post.body).toEqual({
      items: [
        { id: a.id, version: 1 },
        { id: b.id, version: 1 },
      ],
      kind: "reject",
      feedback: "frozen during the audit",
    });
    // decided: gone from the pending queue
    await until(() => root.querySelectorAll("tbody tr").length === 0);
    // each row is re-read as the bounded summary the list has, never as the whole request
    const rereads = calls.filter((c) => c.method === "GET" && c.url.startsWith(`/api/requests/`));
    expect(rereads.map((c) => c.url).sort()).toEqual([`/api/requests/${a.id}?summary=1`, `/api/requests/${b.id}?summary=1`].sort());
  });

  it("shows hostile text as text: markup stays letters, hidden characters become escapes", async () => {
    const evil = stored({ function: "<img src=x onerror=alert(1)>", call_text: "f(x='\u202eexe.txt\u001b[31m')", agent: "<b>bot</b>" });
    const { api } = server({ "GET /api/requests": () => [200, { items: [evil], next_cursor: null }] });
    stop = queuePage(root, api, me);
    await until(() => root.querySelectorAll("tbody tr").length === 1);
    expect(root.querySelector("tbody img, tbody b")).toBeNull();
    expect(root.querySelector(".dash-open")!.textContent).toBe("<img src=x onerror=alert(1)>()");
    expect(root.querySelector(".dash-call")!.textContent).toBe("f(x='\\u202eexe.txt\\x1b[31m')");
    expect(root.querySelector(".dash-agent")!.textContent).toBe("<b>bot</b>");
  });
});

describe("an edit the agent refused", () => {
  it("shows the agent's reasons in the card, beside the field when Edit is opened", async () => {
    const r = stored({
      version: 3,
      edits: { amount: { json: "-5" } },
      problems: { error: "amount: must be positive", problems: { amount: "Input should be greater than 0" }, version: 2 },
    });
    const { api } = server({ [`GET /api/requests/${r.id}`]: () => [200, r] });
    stop = requestPage(root, api, me, r.id);
    await until(() => root.querySelector(".hitl-card") !== null);
    expect(root.querySelector(".hitl-problems")!.textContent).toContain("The agent refused this edit, so nothing ran: amount: must be positive");
    expect(root.querySelector(".dash-ctx-problems dd")!.textContent).toContain("The agent refused the edit of version 2");
    expect(root.querySelector('.hitl-arg[data-name="amount"] .hitl-pre')!.textContent).toBe("-5");
    clickButton(root, "Edit");
    expect(root.querySelector('.hitl-edit-row[data-name="amount"] .hitl-edit-error')!.textContent).toBe("Input should be greater than 0");
  });
});

describe("the request page's id", () => {
  it("is the last path segment under the root, decoded", async () => {
    const { requestIdFrom } = await import("../../src/dashboard/main");
    expect(requestIdFrom("http://h/hitl/", "http://h/hitl/requests/abc%2D1")).toBe("abc-1");
    expect(requestIdFrom("http://h/", "http://h/requests/r9/")).toBe("r9");
    expect(requestIdFrom("http://h/", "http://h/other/r9")).toBe("");
  });
});

describe("the card keeps the notebook's behaviour for a refused edit", () => {
  it("problems reported while the edit panel is open are not shown again after a discard", async () => {
    const { renderCard } = await import("../../src/card");
    const { view } = await import("./fixtures");
    const handle = renderCard(root, view, () => undefined);
    clickButton(root, "Edit");
    const amount = root.querySelector<HTMLInputElement>('.hitl-edit-row[data-name="amount"] input')!;
    amount.value = "7";
    amount.dispatchEvent(new Event("input"));
    clickButton(root, "Run with these arguments");
    handle.showProblems("invalid edit", { amount: "must be at least 10" });
    expect(root.querySelector('.hitl-edit-row[data-name="amount"] .hitl-edit-error')!.textContent).toBe("must be at least 10");
    clickButton(root, "Discard edits");
    clickButton(root, "Edit");
    expect(root.querySelector('.hitl-edit-row[data-name="amount"] .hitl-edit-error')!.textContent).toBe("");
  });
});
