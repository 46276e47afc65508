// The dashboard's entry (built into hitl_widget/static/dashboard.js). The HTML shell
// (hitl_widget/dashboard/pages.py) names the page in <meta name="hitl-page"> and the
// dashboard's root in <meta name="hitl-root">; everything else comes from the HTTP API.
import "./dashboard.css";
import { Api } from "./api";
import { loginPage } from "./login";
import { queuePage } from "./queuePage";
import { requestPage } from "./requestPage";
import { errorText, rootUrl, toLoginIfSignedOut } from "./shell";
import { themeToggle } from "./theme";

/** The request id of a `/requests/{id}` page (its last path segment). */
export function requestIdFrom(root: string, href: string): string {
  const path = new URL(href).pathname;
  const base = new URL(root).pathname;
  const rest = path.startsWith(base) ? path.slice(base.length) : path;
  const match = /^requests\/([^/]+)\/?$/.exec(rest);
  return match ? decodeURIComponent(match[1]!) : "";
}

async function start(): Promise<void> {
  const page = document.querySelector<HTMLMetaElement>('meta[name="hitl-page"]')?.content ?? "";
  const api = new Api(rootUrl());
  const app = document.getElementById("app");
  if (page === "login") {
    loginPage(api);
    return;
  }
  if (!app) return;
  try {
    const me = await api.me();
    if (page === "request") requestPage(app, api, me, requestIdFrom(api.root, window.location.href));
    else queuePage(app, api, me);
  } catch (e) {
    if (toLoginIfSignedOut(e, api)) return;
    const box = document.createElement("p");
    box.className = "dash-error";
    box.setAttribute("role", "alert");
    box.textContent = `The dashboard could not start: ${errorText(e)}`;
    app.replaceChildren(themeToggle(), box);
  }
}

void start();
