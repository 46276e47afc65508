// Loads Pyodide, makefun and the hitl_widget wheel, all from this site (the JupyterLite
// build puts them in static/pyodide/ with their lock entries), then runs refund() through
// hitl_widget's default channel on a page: window.confirm / window.prompt.
import { loadPyodide } from "../static/pyodide/pyodide.mjs";

const PYODIDE = new URL("../static/pyodide/", location.href);

const status = document.getElementById("status");
const result = document.getElementById("result");
const button = document.getElementById("refund");

const SETUP = `
from hitl_widget import ApprovalRejected, require_approval

refunds = []

@require_approval(risk="high")
def refund(order_id: int, amount: float, note: str = "") -> str:
    """Refund a customer's order."""
    refunds.append((order_id, amount, note))
    return f"refunded {amount:.2f} on order {order_id}"

def run(order_id, amount):
    try:
        return "RESULT " + refund(order_id, amount)
    except ApprovalRejected as error:
        return f"{type(error).__name__}: {error}"
`;

async function start() {
  const lock = await (await fetch(new URL("pyodide-lock.json", PYODIDE))).json();
  const pyodide = await loadPyodide({ indexURL: PYODIDE.href, packages: ["makefun"] });
  // Only the core: the lock's hitl-widget entry also pulls in the notebook widgets, not needed here.
  await pyodide.loadPackage(new URL(lock.packages["hitl-widget"].file_name, PYODIDE).href);
  await pyodide.runPythonAsync(SETUP);
  const run = pyodide.globals.get("run");
  button.addEventListener("click", () => {
    const order = Number.parseInt(document.getElementById("order").value, 10);
    const amount = Number.parseFloat(document.getElementById("amount").value);
    result.textContent = run(order, amount); // text, never markup
  });
  button.disabled = false;
  status.textContent = "Ready.";
}

start().catch((error) => {
  status.textContent = `Could not start Python: ${error}`;
});
