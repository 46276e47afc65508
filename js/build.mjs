// Bundles the widget's ESM entry and its stylesheet into the Python package (hitl_widget/static/).
import * as esbuild from "esbuild";

await esbuild.build({
  entryPoints: ["src/widget.ts", "src/card.css"],
  bundle: true,
  format: "esm",
  minify: true,
  target: ["es2022"],
  outdir: "../hitl_widget/static",
  logLevel: "info",
});
