// The dashboard's HTTP API as the pages see it (docs/dashboard-api.md; the server is
// hitl_widget/dashboard/api.py). Times are ISO 8601 UTC strings.
import type { EditValue, RequestView } from "../messages";

export type RequestStatus =
  | "pending"
  | "approved"
  | "rejected"
  | "timed_out"
  | "cancelled"
  | "running"
  | "succeeded"
  | "failed";

export const STATUSES: readonly RequestStatus[] = [
  "pending",
  "approved",
  "rejected",
  "timed_out",
  "cancelled",
  "running",
  "succeeded",
  "failed",
];

export const RISKS = ["low", "medium", "high", "critical"] as const;
export type Risk = (typeof RISKS)[number];

export type DecisionKind = "approve" | "edit" | "reject";

/** Protocol-v2 edit arguments: each changed argument's text, as a string or JSON text. */
export type Edits = Record<string, EditValue>;

export interface Approval {
  user: string;
  version: number;
  at: string;
}

export interface StoredDecision {
  kind: DecisionKind;
  by: string[];
  at: string;
  feedback: string | null;
  edits: Edits | null;
}

export interface StoredRequest {
  id: string;
  client_request_id: string;
  fingerprint: string;
  agent: string;
  on_behalf_of: string | null;
  function: string;
  risk: Risk;
  status: RequestStatus;
  version: number;
  view: RequestView;
  call_text: string;
  edits: Edits | null;
  approvals_needed: number;
  roles: string[];
  approvals: Approval[];
  decision: StoredDecision | null;
  created_at: string;
  expires_at: string | null;
  decided_at: string | null;
  claimed_at: string | null;
  /** When the request last changed (absent from older servers). */
  updated_at?: string | null;
  outcome: unknown;
  problems: unknown;
  /** A queue list item (`GET /api/requests`): texts cut to previews; the whole request is at `GET /api/requests/{id}`. */
  summary?: boolean;
  /** In a summary: whether anything was cut. */
  truncated?: boolean;
  /** In a summary: the whole call text's length (`call_text` is a preview). */
  call_text_length?: number;
}

export interface RequestPage {
  items: StoredRequest[];
  next_cursor: string | null;
}

export interface Me {
  name: string;
  roles: string[];
  csrf_token: string;
}

/** `POST /api/requests/{id}/decisions`. */
export interface DecisionBody {
  version: number;
  kind: DecisionKind;
  edits?: Edits;
  feedback?: string;
}

/** `POST /api/decisions`. */
export interface BulkBody {
  items: { id: string; version: number }[];
  kind: "approve" | "reject";
  feedback: string;
}

export interface BulkResult {
  id: string;
  ok: boolean;
  status?: RequestStatus;
  error?: string;
  code?: string;
}

/** An SSE `request` event's data. */
export interface RequestEvent {
  id: string;
  status: RequestStatus;
  version: number;
}

export interface Filters {
  function: string;
  risk: string;
  status: string;
  requester: string;
}

/** One line of `GET /api/requests/{id}/log`: every decision attempt (accepted or refused) and agent step. */
export interface LogEntry {
  seq: number;
  at: string;
  actor: string;
  actor_kind: string;
  channel: string;
  action: string;
  version: number | null;
  accepted: boolean;
  code: string | null;
  message: string;
  status: string | null;
  feedback: string | null;
  edits: Edits | null;
}
