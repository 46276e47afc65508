// The batch review table: one card per pending call (the same card component as a single
// request), plus "Approve all" / "Reject all". Each card sends its own decision message.
import { renderCard, type CardHandle, type DecisionRecord } from "./card";
import { PROTOCOL_VERSION, type DecisionMessage, type RequestView } from "./messages";

export interface ReviewAllMessage {
  kind: "review_all";
  version: typeof PROTOCOL_VERSION;
  request_ids: string[];
  decision: { kind: "approve" } | { kind: "reject"; feedback: string };
}

export interface ReviewHandle {
  cards: Map<string, CardHandle>;
  settle(records: Record<string, DecisionRecord>): void;
  dispose(): void;
}

export function renderReview(
  root: HTMLElement,
  requests: RequestView[],
  send: (message: DecisionMessage | ReviewAllMessage) => void,
): ReviewHandle {
  const table = document.createElement("section");
  table.className = "hitl-review";
  table.setAttribute("aria-label", `Review ${requests.length} pending calls`);
  const heading = document.createElement("header");
  heading.className = "hitl-review-header";
  const title = document.createElement("strong");
  title.setAttribute("aria-live", "polite");
  const plural = (n: number) => `${n} call${n === 1 ? "" : "s"}`;
  const describe = (pending: number) =>
    pending === 0
      ? `${plural(requests.length)} reviewed`
      : `${plural(pending)} waiting for review` + (pending < requests.length ? ` (of ${requests.length})` : "");
  title.textContent = describe(requests.length);
  const approveAll = document.createElement("button");
  approveAll.type = "button";
  approveAll.className = "hitl-button hitl-approve";
  approveAll.textContent = "Approve all";
  const rejectAll = document.createElement("button");
  rejectAll.type = "button";
  rejectAll.className = "hitl-button hitl-reject";
  rejectAll.textContent = "Reject all";
  const feedback = document.createElement("input");
  feedback.className = "hitl-input hitl-review-feedback";
  feedback.setAttribute("aria-label", "Feedback for every rejected call");
  feedback.placeholder = "feedback for Reject all";
  heading.append(title, approveAll, rejectAll, feedback);
  table.append(heading);

  const cards = new Map<string, CardHandle>();
  const settled = new Set<string>();
  for (const request of requests) {
    const slot = document.createElement("div");
    slot.className = "hitl-review-row";
    table.append(slot);
    cards.set(request.id, renderCard(slot, request, send));
  }
  const pendingIds = () => requests.map((r) => r.id).filter((id) => !settled.has(id));
  let bulkSent = false;
  const bulk = (decision: ReviewAllMessage["decision"]) => {
    if (bulkSent || pendingIds().length === 0) return;
    bulkSent = true;
    approveAll.disabled = rejectAll.disabled = true;
    send({ kind: "review_all", version: PROTOCOL_VERSION, request_ids: pendingIds(), decision });
  };
  approveAll.addEventListener("click", () => bulk({ kind: "approve" }));
  rejectAll.addEventListener("click", () => bulk({ kind: "reject", feedback: feedback.value }));
  root.replaceChildren(table);

  return {
    cards,
    settle(records) {
      for (const [id, record] of Object.entries(records)) {
        if (record.status !== "pending" && !settled.has(id)) {
          settled.add(id);
          cards.get(id)?.settle(record);
        }
      }
      const pending = pendingIds().length;
      title.textContent = describe(pending);
      if (pending === 0) approveAll.disabled = rejectAll.disabled = true;
    },
    dispose() {
      for (const card of cards.values()) card.dispose();
    },
  };
}
