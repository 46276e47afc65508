// The approval card: pure DOM, no framework. Every value is set with textContent,
// never innerHTML, so arguments are always shown as text.
import { decisionMessage, type DecisionMessage, type RequestView } from "./messages";

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function renderCard(
  root: HTMLElement,
  request: RequestView,
  send: (message: DecisionMessage) => void,
): HTMLElement {
  const card = el("section", "hitl-card");
  card.setAttribute("aria-label", `Approval request for ${request.function}`);
  const header = el("header", "hitl-card-header");
  header.append(el("strong", "hitl-function", `${request.function}()`));
  header.append(el("span", `hitl-risk hitl-risk-${request.risk}`, request.risk));
  card.append(header);
  if (request.summary) card.append(el("p", "hitl-summary", request.summary));
  const table = el("dl", "hitl-arguments");
  for (const arg of request.arguments) {
    table.append(el("dt", "hitl-arg-name", `${arg.name} (${arg.annotation})`));
    table.append(el("dd", "hitl-arg-value", arg.text));
  }
  card.append(table);
  const feedback = el("textarea", "hitl-feedback");
  feedback.setAttribute("aria-label", "Feedback for the agent");
  const actions = el("div", "hitl-actions");
  const approve = el("button", "hitl-approve", "Approve");
  const reject = el("button", "hitl-reject", "Reject");
  let decided = false;
  const decide = (message: DecisionMessage) => {
    if (decided) return; // a double click sends one decision
    decided = true;
    approve.disabled = reject.disabled = true;
    send(message);
  };
  approve.addEventListener("click", () => decide(decisionMessage(request.id, { kind: "approve" })));
  reject.addEventListener("click", () =>
    decide(decisionMessage(request.id, { kind: "reject", feedback: feedback.value })),
  );
  actions.append(approve, reject);
  card.append(feedback, actions);
  root.replaceChildren(card);
  return card;
}
