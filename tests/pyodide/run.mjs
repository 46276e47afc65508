// Runs hitl_widget's core tests inside Pyodide (CPython compiled to WebAssembly, as in a
// browser) under Node: the npm `pyodide` runtime from js/node_modules, pure-Python wheels
// (and Pyodide builds such as pydantic-core) unpacked into its site-packages, the package
// and the tests copied into its in-memory file system (MEMFS, the browser's), then pytest.
//
//   node tests/pyodide/run.mjs --manifest build/pyodide-cache/manifest.json -- [pytest args]
//
// Exit status: pytest's (0 all passed, 1 failures, ...); 3 when Pyodide itself failed (a fatal
// error, e.g. a JavaScript stack overflow: the output names the test that was running).
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "..", "..");
const PYODIDE_DIR = join(ROOT, "js", "node_modules", "pyodide");
//: what goes into Pyodide's file system, under /repo (the same layout as the checkout)
const COPIED = ["hitl_widget", "tests/unit", "tests/pyodide", "tests/fixtures"];
const SRC_IN_PYODIDE = "/repo";

function parseArgs(argv) {
  const split = argv.indexOf("--");
  const own = split === -1 ? argv : argv.slice(0, split);
  const pytestArgs = split === -1 ? [] : argv.slice(split + 1);
  const opts = { manifest: join(ROOT, "build", "pyodide-cache", "manifest.json"), src: ROOT };
  for (let i = 0; i < own.length; i++) {
    if (own[i] === "--manifest") opts.manifest = resolve(own[++i]);
    else if (own[i] === "--src") opts.src = resolve(own[++i]);
    else throw new Error(`unknown option ${own[i]}`);
  }
  return { ...opts, pytestArgs };
}

function copyTree(FS, hostDir, emDir) {
  FS.mkdirTree(emDir);
  for (const entry of readdirSync(hostDir)) {
    if (entry === "__pycache__" || entry === "node_modules" || entry === "static") continue;
    const host = join(hostDir, entry);
    const em = `${emDir}/${entry}`;
    if (statSync(host).isDirectory()) copyTree(FS, host, em);
    else FS.writeFile(em, readFileSync(host));
  }
}

async function main() {
  const { manifest, src, pytestArgs } = parseArgs(process.argv.slice(2));
  const { loadPyodide } = await import(pathToFileURL(join(PYODIDE_DIR, "pyodide.mjs")).href);
  const started = performance.now();
  const pyodide = await loadPyodide({ indexURL: PYODIDE_DIR + "/" });
  // raw writes: pytest's progress is written a character at a time, without newlines
  const raw = (stream) => ({ write: (buffer) => (stream.write(buffer), buffer.length) });
  pyodide.setStdout(raw(process.stdout));
  pyodide.setStderr(raw(process.stderr));
  const sitePackages = pyodide.runPython("import site; site.getsitepackages()[0]");
  const wheels = JSON.parse(readFileSync(manifest, "utf8"));
  for (const whl of wheels) {
    pyodide.unpackArchive(new Uint8Array(readFileSync(whl)), "wheel", { extractDir: sitePackages });
  }
  for (const part of COPIED) {
    const host = join(src, part);
    try {
      statSync(host);
    } catch {
      continue;
    }
    copyTree(pyodide.FS, host, `${SRC_IN_PYODIDE}/${relative(src, host)}`);
  }
  const loaded = ((performance.now() - started) / 1000).toFixed(1);
  console.error(`[pyodide] Python ${pyodide.runPython("import sys; sys.version.split()[0]")}, ${wheels.length} wheels, ready in ${loaded} s`);
  pyodide.globals.set("PYTEST_ARGS", pyodide.toPy(pytestArgs));
  const code = await pyodide.runPythonAsync(`
import os, sys
os.chdir(${JSON.stringify(SRC_IN_PYODIDE)})
sys.path.insert(0, ${JSON.stringify(SRC_IN_PYODIDE)})
sys.path.insert(0, ${JSON.stringify(SRC_IN_PYODIDE + "/tests/pyodide")})
sys.dont_write_bytecode = True
import pytest
int(pytest.main(["-c", "tests/pyodide/pytest.ini", "--rootdir", ".", "-p", "pyodide_plugin", *PYTEST_ARGS]))
`);
  return code;
}

function died(err) {
  console.error(err);
  const during = globalThis.hitlCurrentTest ? ` during ${globalThis.hitlCurrentTest}` : "";
  console.error(`[pyodide] the Pyodide runtime failed${during}: ${err?.message ?? err}`);
  process.exit(3);
}
process.on("uncaughtException", died);
process.on("unhandledRejection", died);
main().then((code) => process.exit(code), died);
