// anywidget entry: draws the card for the model's `request` and sends decisions to the kernel.
import type { AnyModel, RenderProps } from "@anywidget/types";
import { renderCard } from "./card";
import type { RequestView } from "./messages";

interface CardModel {
  request: RequestView;
}

function render({ model, el }: RenderProps<CardModel>): () => void {
  const draw = () => {
    renderCard(el, model.get("request"), (message) => model.send(message));
  };
  draw();
  model.on("change:request", draw);
  return () => model.off("change:request", draw);
}

export type { AnyModel };
export default { render };
