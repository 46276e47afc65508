// anywidget entry: draws the card for the model's `request`, sends decisions to the kernel,
// shows the kernel's error replies, and turns into a compact record once `record` is set.
import type { RenderProps } from "@anywidget/types";
import { renderCard, type CardHandle, type DecisionRecord } from "./card";
import { isErrorMessage, type RequestView } from "./messages";

interface CardModel {
  request: RequestView;
  record: Partial<DecisionRecord>;
}

function render({ model, el }: RenderProps<CardModel>): () => void {
  let card: CardHandle | undefined;
  const draw = () => {
    card?.dispose();
    card = renderCard(el, model.get("request"), (message) => model.send(message));
    settle();
  };
  const settle = () => {
    const record = model.get("record");
    if (record?.status && record.status !== "pending") card?.settle(record as DecisionRecord);
  };
  const onMessage = (message: unknown) => {
    if (isErrorMessage(message) && message.request_id === model.get("request").id) {
      card?.showProblems(message.error, message.problems);
    }
  };
  draw();
  model.on("change:request", draw);
  model.on("change:record", settle);
  model.on("msg:custom", onMessage);
  return () => {
    card?.dispose();
    model.off("change:request", draw);
    model.off("change:record", settle);
    model.off("msg:custom", onMessage);
  };
}

export default { render };
