// The login page. The form itself is in the HTML (pages.py), so it works before this script
// runs; the script sends it with fetch, shows a refusal on the page and goes on to `next`.
import { Api } from "./api";
import { el } from "./dom";
import { safeNext } from "./shell";
import { themeToggle } from "./theme";

export function loginPage(api: Api, doc: Document = document): void {
  const form = doc.querySelector<HTMLFormElement>("form#login");
  if (!form) return;
  const tools = doc.querySelector<HTMLElement>(".dash-login-tools");
  tools?.append(themeToggle());
  const message = doc.querySelector<HTMLElement>(".dash-login-error") ?? el("p", "dash-login-error");
  message.setAttribute("role", "alert");
  if (!message.isConnected) form.append(message);
  const next = safeNext(new URL(doc.location.href).searchParams.get("next"));
  const submit = form.querySelector<HTMLButtonElement>("button[type=submit]");

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const username = String(data.get("username") ?? "");
    const password = String(data.get("password") ?? "");
    if (!username || !password) {
      message.textContent = "Enter your username and password.";
      return;
    }
    if (submit) submit.disabled = true;
    message.textContent = "";
    void (async () => {
      try {
        const body = new URLSearchParams({ username, password });
        const response = await fetch(api.url("login"), {
          method: "POST",
          body,
          credentials: "same-origin",
          redirect: "follow",
          headers: { Accept: "application/json" },
        });
        // Whatever the answer's form (a redirect, JSON), the session decides: /api/me says who is in.
        let signedIn = false;
        if (response.status < 400) {
          try {
            await api.me();
            signedIn = true;
          } catch {
            signedIn = false;
          }
        }
        if (signedIn) {
          window.location.assign(api.url(next));
          return;
        }
        let reason = "";
        try {
          const parsed: unknown = JSON.parse(await response.text());
          if (typeof parsed === "object" && parsed !== null && typeof (parsed as { error?: unknown }).error === "string") {
            reason = (parsed as { error: string }).error;
          }
        } catch {
          reason = "";
        }
        if (response.status < 400 || response.status === 401) message.textContent = "Wrong username or password.";
        else if (response.status === 429) message.textContent = reason || "Too many attempts: wait a moment, then try again.";
        else message.textContent = `Could not log in: ${reason || `the server answered ${response.status}`}`;
      } catch (e) {
        message.textContent = `The dashboard server could not be reached (${(e as Error).message}).`;
      } finally {
        if (submit) submit.disabled = false;
      }
    })();
  });
}
