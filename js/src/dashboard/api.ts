// The pages' only way to the server: JSON over fetch, same origin, the session cookie, and the
// X-CSRF-Token from GET /api/me on every POST. Paths are relative to the dashboard's root, so
// the pages work at / and behind a prefix (jupyter-server-proxy's /hitl/).
import type { BulkBody, BulkResult, DecisionBody, LogEntry, Me, RequestEvent, RequestPage, StoredRequest } from "./types";

/** A refusal from the server: `{"error": text, "code": str}` and the HTTP status (0: not reached). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problems: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The `problems` of an error body, keeping only text values. */
function problemsOf(body: Record<string, unknown>): Record<string, string> {
  const found: Record<string, string> = {};
  if (isObject(body.problems)) {
    for (const [name, text] of Object.entries(body.problems)) if (typeof text === "string") found[name] = text;
  }
  return found;
}

export interface ListQuery {
  /** Statuses admitted (joined by commas); empty: any. */
  statuses: readonly string[];
  function?: string;
  risk?: string;
  requester?: string;
  /** "queue": pending first, oldest first (the default); "newest": newest first. */
  order?: "queue" | "newest";
}

/** The query string of a list request: only the filters that are set. */
export function listQuery(query: ListQuery, limit: number, cursor: string | null): string {
  const params = new URLSearchParams();
  if (query.statuses.length > 0) params.set("status", query.statuses.join(","));
  for (const key of ["function", "risk", "requester"] as const) {
    const value = query[key]?.trim();
    if (value) params.set(key, value);
  }
  if (query.order && query.order !== "queue") params.set("order", query.order);
  params.set("limit", String(limit));
  if (cursor) params.set("cursor", cursor);
  return params.toString();
}

export class Api {
  private csrf: string | null = null;

  /** `root`: the dashboard's root URL, ending in "/" (e.g. `https://host/hitl/`). */
  constructor(
    readonly root: string,
    private readonly fetcher: Fetch = (input, init) => fetch(input, init),
  ) {}

  url(path: string): string {
    return new URL(path.replace(/^\/+/, ""), this.root).toString();
  }

  private async call<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (method === "POST") {
      if (this.csrf === null) await this.me();
      headers["X-CSRF-Token"] = this.csrf ?? "";
      headers["Content-Type"] = "application/json";
    }
    let response: Response;
    try {
      response = await this.fetcher(this.url(path), {
        method,
        headers,
        credentials: "same-origin",
        cache: "no-store",
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (e) {
      throw new ApiError(0, "unreachable", `the dashboard server could not be reached (${(e as Error).message})`);
    }
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text === "" ? null : JSON.parse(text);
    } catch {
      parsed = null;
    }
    if (!response.ok) {
      const fields = isObject(parsed) ? parsed : {};
      const message = typeof fields.error === "string" ? fields.error : `${response.status} ${response.statusText}`.trim();
      const code = typeof fields.code === "string" ? fields.code : String(response.status);
      throw new ApiError(response.status, code, message, problemsOf(fields));
    }
    if (parsed === null) throw new ApiError(response.status, "bad_response", "the server's answer was not JSON");
    return parsed as T;
  }

  /** Who is logged in (401 `ApiError` when nobody is); keeps the CSRF token for later POSTs. */
  async me(): Promise<Me> {
    const me = await this.call<Me>("GET", "api/me");
    this.csrf = me.csrf_token;
    return me;
  }

  /** The whole request; `summary`: the bounded item the queue's list has (texts cut to previews). */
  getRequest(id: string, summary = false): Promise<StoredRequest> {
    return this.call("GET", `api/requests/${encodeURIComponent(id)}${summary ? "?summary=1" : ""}`);
  }

  /** Every attempt to decide `id` (accepted or refused) and the agent's steps, oldest first. */
  async requestLog(id: string): Promise<LogEntry[]> {
    const answer = await this.call<{ items: LogEntry[] }>("GET", `api/requests/${encodeURIComponent(id)}/log`);
    return answer.items;
  }

  listRequests(query: ListQuery, limit: number, cursor: string | null = null): Promise<RequestPage> {
    return this.call("GET", `api/requests?${listQuery(query, limit, cursor)}`);
  }

  decide(id: string, body: DecisionBody): Promise<StoredRequest> {
    return this.call("POST", `api/requests/${encodeURIComponent(id)}/decisions`, body);
  }

  async decideMany(body: BulkBody): Promise<BulkResult[]> {
    const answer = await this.call<{ results: BulkResult[] }>("POST", "api/decisions", body);
    return answer.results;
  }

  async logout(): Promise<void> {
    if (this.csrf === null) await this.me();
    await this.fetcher(this.url("logout"), {
      method: "POST",
      headers: { "X-CSRF-Token": this.csrf ?? "", Accept: "application/json" },
      credentials: "same-origin",
    });
    this.csrf = null;
  }

  /** Live updates: `onEvent` for each `request` event. EventSource reconnects by itself after a
   * dropped stream; after a refused one (a restart, the session ended) this opens a new one every
   * `retryMs`. `onState(false)` while it is down. Returns a function that closes the stream. */
  events(
    onEvent: (event: RequestEvent) => void,
    onState: (connected: boolean) => void = () => undefined,
    retryMs = 3000,
  ): () => void {
    if (typeof EventSource === "undefined") return () => undefined;
    let source: EventSource | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let closed = false;
    const open = () => {
      if (closed) return;
      const current = new EventSource(this.url("api/events"), { withCredentials: true });
      source = current;
      current.addEventListener("open", () => onState(true));
      current.addEventListener("error", () => {
        onState(false);
        if (current.readyState === EventSource.CLOSED && !closed) {
          clearTimeout(retry);
          retry = setTimeout(open, retryMs);
        }
      });
      current.addEventListener("request", (message: MessageEvent) => {
        let data: unknown;
        try {
          data = JSON.parse(String(message.data));
        } catch {
          return;
        }
        if (isObject(data) && typeof data.id === "string" && typeof data.status === "string" && typeof data.version === "number") {
          onEvent(data as unknown as RequestEvent);
        }
      });
    };
    open();
    return () => {
      closed = true;
      clearTimeout(retry);
      source?.close();
    };
  }
}
