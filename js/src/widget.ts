// anywidget entry for both the single-request card and the batch review table. Sends
// decisions to the kernel, shows its error replies, and turns settled requests into
// compact records.
//
// In JupyterLite the kernel cannot receive a comm message while the waiting cell runs,
// so the kernel names a BroadcastChannel (the `relay` trait) and the card sends its
// decisions there instead; the kernel's error replies come back on the same channel.
import type { RenderProps } from "@anywidget/types";
import { renderCard, type CardHandle, type DecisionRecord } from "./card";
import { isErrorMessage, type RequestView } from "./messages";
import { renderReview, type ReviewHandle } from "./review";

interface CardModel {
  request: RequestView | Record<string, never>;
  record: Partial<DecisionRecord>;
  requests: RequestView[];
  records: Record<string, DecisionRecord>;
  relay: string;
}

interface Transport {
  send(message: object): void;
  close(): void;
}

/** The comm, or a BroadcastChannel when the kernel asked for one (JupyterLite). */
export function openTransport(
  relay: string | undefined,
  sendComm: (message: object) => void,
  onReply: (message: unknown) => void,
): Transport {
  if (!relay || typeof BroadcastChannel === "undefined") return { send: sendComm, close: () => undefined };
  const channel = new BroadcastChannel(relay);
  channel.onmessage = (event: MessageEvent) => onReply(event.data);
  return { send: (message) => channel.postMessage(message), close: () => channel.close() };
}

function render({ model, el }: RenderProps<CardModel>): () => void {
  const isReview = Array.isArray(model.get("requests")) && model.get("requests").length > 0;
  let card: CardHandle | undefined;
  let review: ReviewHandle | undefined;
  const settle = () => {
    if (review) {
      review.settle(model.get("records") ?? {});
      return;
    }
    const record = model.get("record");
    if (record?.status && record.status !== "pending") card?.settle(record as DecisionRecord);
  };
  const onMessage = (message: unknown) => {
    if (!isErrorMessage(message)) return;
    const target = review ? review.cards.get(message.request_id ?? "") : card;
    target?.showProblems(message.error, message.problems);
  };
  const transport = openTransport(model.get("relay"), (m) => model.send(m), onMessage);
  const draw = () => {
    card?.dispose();
    review?.dispose();
    if (isReview) review = renderReview(el, model.get("requests"), (m) => transport.send(m));
    else card = renderCard(el, model.get("request") as RequestView, (m) => transport.send(m));
    settle();
  };
  draw();
  const recordEvent = isReview ? "change:records" : "change:record";
  model.on(recordEvent, settle);
  model.on("msg:custom", onMessage);
  return () => {
    transport.close();
    card?.dispose();
    review?.dispose();
    model.off(recordEvent, settle);
    model.off("msg:custom", onMessage);
  };
}

export default { render };
