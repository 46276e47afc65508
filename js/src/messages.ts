// Messages between the card and the kernel. Versioned, each carrying the request id;
// mirrored on the Python side, which validates them before acting.
export const PROTOCOL_VERSION = 1;

export interface ArgumentView {
  name: string;
  annotation: string;
  text: string;
  editable: boolean;
}

export interface RequestView {
  id: string;
  function: string;
  summary: string;
  risk: "low" | "medium" | "high" | "critical";
  arguments: ArgumentView[];
  timeout: number | null;
}

export type DecisionPayload =
  | { kind: "approve"; always?: "function" | "arguments" }
  | { kind: "reject"; feedback: string };

export interface DecisionMessage {
  kind: "decision";
  version: typeof PROTOCOL_VERSION;
  request_id: string;
  decision: DecisionPayload;
}

export function decisionMessage(requestId: string, decision: DecisionPayload): DecisionMessage {
  return { kind: "decision", version: PROTOCOL_VERSION, request_id: requestId, decision };
}
