// Bundles the widget's ESM entry into the Python package (hitl_widget/static/widget.js).
import * as esbuild from "esbuild";

await esbuild.build({
  entryPoints: ["src/widget.ts"],
  bundle: true,
  format: "esm",
  minify: true,
  target: ["es2022"],
  outfile: "../hitl_widget/static/widget.js",
  logLevel: "info",
});
