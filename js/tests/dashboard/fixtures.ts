// A stored request as GET /api/requests/{id} answers (hitl_widget/dashboard/store.py StoredRequest.to_json).
import type { ArgumentView, RequestView } from "../../src/messages";
import type { StoredRequest } from "../../src/dashboard/types";

export const arg = (over: Partial<ArgumentView>): ArgumentView => ({
  name: "x",
  annotation: "str",
  schema: { type: "string" },
  text: '""',
  format: "json",
  complete: true,
  edit: { text: "", encoding: "text" },
  value_json: '""',
  editable: true,
  ...over,
});

export const view: RequestView = {
  id: "call-1",
  function: "refund",
  summary: "Refund an order.",
  risk: "high",
  timeout: 300,
  deadline_ms: null,
  approvable: true,
  max_shown_chars: 1_000_000,
  too_large: [],
  arguments: [
    arg({ name: "order_id", text: '"A-17"', edit: { text: "A-17", encoding: "text" }, value_json: '"A-17"' }),
    arg({
      name: "amount",
      annotation: "float",
      schema: { type: "number" },
      text: "120.5",
      edit: { text: "120.5", encoding: "json" },
      value_json: "120.5",
    }),
  ],
};

let n = 0;
export function stored(over: Partial<StoredRequest> = {}): StoredRequest {
  n += 1;
  return {
    id: `r${String(n).padStart(3, "0")}`,
    client_request_id: `c${n}`,
    fingerprint: "f",
    agent: "billing-agent",
    on_behalf_of: "carol",
    function: "refund",
    risk: "high",
    status: "pending",
    version: 1,
    view,
    call_text: 'refund(order_id="A-17", amount=120.5)',
    edits: null,
    approvals_needed: 2,
    roles: ["ops"],
    approvals: [],
    decision: null,
    created_at: "2026-12-01T21:00:00Z",
    expires_at: "2026-12-01T21:05:00Z",
    decided_at: null,
    claimed_at: null,
    outcome: null,
    problems: null,
    ...over,
  };
}
