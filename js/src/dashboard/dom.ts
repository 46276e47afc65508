// DOM helpers: text only (textContent, attributes), never markup.
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className = "", text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function button(label: string, className = ""): HTMLButtonElement {
  const b = el("button", `hitl-button ${className}`.trim(), label);
  b.type = "button";
  return b;
}

/** A labelled control: `<label>text <control></label>`. */
export function labelled<T extends HTMLElement>(text: string, control: T, className = "dash-field"): HTMLLabelElement {
  const label = el("label", className);
  label.append(el("span", "dash-field-label", text), control);
  return label;
}

export function select(options: readonly (readonly [string, string])[], value: string): HTMLSelectElement {
  const s = el("select", "hitl-input");
  for (const [v, text] of options) {
    const o = el("option", "", text);
    o.value = v;
    s.append(o);
  }
  s.value = value;
  return s;
}
