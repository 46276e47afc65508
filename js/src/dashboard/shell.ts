// What every page has: the dashboard's root URL, the header (who is logged in, the theme
// toggle, log out), a way to the login page when the session is gone, and errors as text.
import { Api, ApiError } from "./api";
import { button, el } from "./dom";
import { themeToggle } from "./theme";
import { visible } from "./text";
import type { Me } from "./types";

/** The dashboard's root URL: the page's `<meta name="hitl-root">` (relative: "./", "../")
 * resolved against the page, so the pages work behind a path prefix. */
export function rootUrl(doc: Document = document): string {
  const meta = doc.querySelector<HTMLMetaElement>('meta[name="hitl-root"]');
  return new URL(meta?.content || "./", doc.location.href).toString();
}

/** A path inside the dashboard to return to after logging in, or "" when `next` is anything
 * else (an absolute URL, another host, a scheme): never an open redirect. */
export function safeNext(next: string | null | undefined): string {
  if (!next) return "";
  if (/^[a-z][a-z0-9+.-]*:/i.test(next) || next.startsWith("/") || next.startsWith("\\") || next.includes("//")) return "";
  if (!/^[A-Za-z0-9._~%\-/?=&]*$/.test(next)) return "";
  return next;
}

/** The page's path relative to the root ("requests/abc?x=1"), for `next`. */
export function relativeToRoot(root: string, href: string): string {
  return href.startsWith(root) ? href.slice(root.length) : "";
}

export function loginUrl(root: string, here: string): string {
  const next = safeNext(relativeToRoot(root, here));
  return new URL(next ? `login?next=${encodeURIComponent(next)}` : "login", root).toString();
}

/** To the login page when the session is missing or ended (401); true if it went. */
export function toLoginIfSignedOut(error: unknown, api: Api): boolean {
  if (error instanceof ApiError && error.status === 401) {
    window.location.assign(loginUrl(api.root, window.location.href));
    return true;
  }
  return false;
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return visible(error.message);
  return visible(error instanceof Error ? error.message : String(error));
}

/** The page header: title, navigation, user, theme toggle, log out. */
export function header(api: Api, me: Me | null, title: string): HTMLElement {
  const bar = el("header", "dash-header");
  const home = el("a", "dash-home", "hitl dashboard");
  home.href = api.url("");
  bar.append(home, el("h1", "dash-title", title));
  const tools = el("div", "dash-tools");
  if (me) {
    const who = el("span", "dash-user");
    who.append(el("span", "dash-user-name", visible(me.name)));
    who.title = me.roles.length > 0 ? `roles: ${me.roles.join(", ")}` : "no roles";
    if (me.roles.length > 0) who.append(el("span", "dash-roles", ` (${visible(me.roles.join(", "))})`));
    tools.append(who);
  }
  tools.append(themeToggle());
  if (me) {
    const out = button("Log out", "dash-logout");
    out.addEventListener("click", () => {
      out.disabled = true;
      void api.logout().finally(() => window.location.assign(api.url("login")));
    });
    tools.append(out);
  }
  bar.append(tools);
  return bar;
}

/** A full-page error (no request, server unreachable) with a way back. */
export function failure(root: HTMLElement, api: Api, message: string): void {
  const box = el("section", "dash-failure");
  box.setAttribute("role", "alert");
  box.append(el("p", "", message));
  const back = el("a", "", "Back to the queue");
  back.href = api.url("");
  box.append(back);
  root.replaceChildren(box);
}
