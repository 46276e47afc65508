// Loads Pyodide, makefun and the hitl_widget wheel, all from this site (the JupyterLite
// build puts them in static/pyodide/ with their lock entries), then runs refund() through
// hitl_widget's default channel on a page: window.confirm / window.prompt.
import { loadPyodide } from "../static/pyodide/pyodide.mjs";

const PYODIDE = new URL("../static/pyodide/", location.href);

const status = document.getElementById("status");
const result = document.getElementById("result");
const button = document.getElementById("refund");
const ran = document.getElementById("ran");

const SETUP = `
import json

from hitl_widget import ApprovalRejected, require_approval

refunds = []

@require_approval(risk="high")
def refund(order_id: int, amount: float, note: str = "") -> str:
    """Refund a customer's order."""
    refunds.append((order_id, amount, note))
    return f"refunded {amount:.2f} on order {order_id}"

def run(order_id, amount, note=""):
    try:
        return "RESULT " + refund(order_id, amount, note)
    except ApprovalRejected as error:
        return f"{type(error).__name__}: {error}"

def last_run():
    """The arguments refund() last ran with, as JSON (what the person approved, exactly)."""
    return json.dumps(dict(zip(("order_id", "amount", "note"), refunds[-1]))) if refunds else ""
`;

async function start() {
  const lock = await (await fetch(new URL("pyodide-lock.json", PYODIDE))).json();
  const pyodide = await loadPyodide({ indexURL: PYODIDE.href, packages: ["makefun"] });
  // Only the core: the lock's hitl-widget entry also pulls in the notebook widgets, not needed here.
  await pyodide.loadPackage(new URL(lock.packages["hitl-widget"].file_name, PYODIDE).href);
  await pyodide.runPythonAsync(SETUP);
  const run = pyodide.globals.get("run");
  const lastRun = pyodide.globals.get("last_run");
  button.addEventListener("click", () => {
    const order = Number.parseInt(document.getElementById("order").value, 10);
    const amount = Number.parseFloat(document.getElementById("amount").value);
    const note = document.getElementById("note").value;
    result.textContent = run(order, amount, note); // text, never markup
    ran.textContent = lastRun();
  });
  button.disabled = false;
  status.textContent = "Ready.";
}

start().catch((error) => {
  status.textContent = `Could not start Python: ${error}`;
});
