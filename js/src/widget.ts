// anywidget entry for both the single-request card and the batch review table. Sends
// decisions to the kernel, shows its error replies, and turns settled requests into
// compact records.
import type { RenderProps } from "@anywidget/types";
import { renderCard, type CardHandle, type DecisionRecord } from "./card";
import { isErrorMessage, type RequestView } from "./messages";
import { renderReview, type ReviewHandle } from "./review";

interface CardModel {
  request: RequestView | Record<string, never>;
  record: Partial<DecisionRecord>;
  requests: RequestView[];
  records: Record<string, DecisionRecord>;
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
  const draw = () => {
    card?.dispose();
    review?.dispose();
    if (isReview) review = renderReview(el, model.get("requests"), (m) => model.send(m));
    else card = renderCard(el, model.get("request") as RequestView, (m) => model.send(m));
    settle();
  };
  const onMessage = (message: unknown) => {
    if (!isErrorMessage(message)) return;
    const target = review ? review.cards.get(message.request_id ?? "") : card;
    target?.showProblems(message.error, message.problems);
  };
  draw();
  const recordEvent = isReview ? "change:records" : "change:record";
  model.on(recordEvent, settle);
  model.on("msg:custom", onMessage);
  return () => {
    card?.dispose();
    review?.dispose();
    model.off(recordEvent, settle);
    model.off("msg:custom", onMessage);
  };
}

export default { render };
