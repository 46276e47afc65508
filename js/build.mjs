// Bundles the frontend into the Python package (hitl_widget/static/):
// - widget.js + card.css: the notebook's anywidget ESM entry and the card's stylesheet;
// - dashboard.js + dashboard.css: the dashboard's pages (hitl_widget/dashboard/pages.py loads
//   them), the same card included.
import * as esbuild from "esbuild";

const common = {
  bundle: true,
  format: "esm",
  minify: true,
  target: ["es2022"],
  outdir: "../hitl_widget/static",
  logLevel: "info",
};

await esbuild.build({ ...common, entryPoints: ["src/widget.ts", "src/card.css"] });
await esbuild.build({ ...common, entryPoints: [{ in: "src/dashboard/main.ts", out: "dashboard" }] });
