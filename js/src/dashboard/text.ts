// Text as the dashboard shows it: every value goes into the page with textContent, and every
// character a person cannot see for what it is (controls, bidi overrides, zero-width and other
// invisible characters) is written as a visible escape, as the card and the terminal do.
//
// The same definition as NOT_PLAIN_TEXT in ../inputs.ts and display.is_hidden in Python
// (tests/fixtures/hidden_characters.json is checked against all three).
const HIDDEN = /(?![\n\t ])[\p{C}\p{Z}\p{Default_Ignorable_Code_Point}\u2800]/gu;
const HIDDEN_OR_LAYOUT = /(?! )[\p{C}\p{Z}\p{Default_Ignorable_Code_Point}\u2800]/gu;

function escape(chars: string): string {
  let out = "";
  for (let i = 0; i < chars.length; i++) {
    const code = chars.charCodeAt(i);
    if (code === 0x0a) out += "\\n";
    else if (code === 0x09) out += "\\t";
    else if (code === 0x0d) out += "\\r";
    else out += code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  }
  return out;
}

/** `text` with its hidden characters escaped (`\x1b`, `\u202e`); newlines and tabs kept when
 * `layout` is true (multi-line feedback), escaped otherwise (one-line cells). */
export function visible(text: string | null | undefined, layout = false): string {
  if (text === null || text === undefined) return "";
  return String(text).replace(layout ? HIDDEN : HIDDEN_OR_LAYOUT, escape);
}

/** Does `text` hold a character `visible` would escape? */
export function hasHidden(text: string): boolean {
  return new RegExp(HIDDEN_OR_LAYOUT.source, "u").test(text);
}

/** `text` cut to `limit` characters (an ellipsis marks the cut). */
export function shorten(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, Math.max(0, limit - 1))}…`;
}

/** Milliseconds since the epoch of an ISO time, or null when it is absent or unreadable. */
export function parseTime(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

/** A duration for people: "42 s", "5 min", "3 h 20 min", "2 d 4 h". */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** How long ago `iso` was, from `now` ("5 min ago"); "" when unknown. */
export function age(iso: string | null | undefined, now: number): string {
  const at = parseTime(iso);
  return at === null ? "" : `${duration(now - at)} ago`;
}

/** Time left until `iso`: "times out in 4 min", "timed out"; "no timeout" when there is none. */
export function countdown(iso: string | null | undefined, now: number): string {
  const at = parseTime(iso);
  if (at === null) return "no timeout";
  const left = at - now;
  if (left <= 0) return "expired";
  if (left < 60_000) return `times out in ${Math.ceil(left / 1000)} s`;
  return `times out in ${duration(left)}`;
}

/** A time as the page shows it: "2026-12-01 21:40:05 UTC" (UTC, so every approver reads the same). */
export function when(iso: string | null | undefined): string {
  const at = parseTime(iso);
  if (at === null) return "";
  return `${new Date(at).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}
