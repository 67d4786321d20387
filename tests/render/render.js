#!/usr/bin/env node
// Typesets math spans with MathJax 3's TeX input, the renderer GitHub runs on markdown math.
//
// stdin:  a JSON list of {"id": any, "tex": "...", "display": bool}
// stdout: a JSON list of {"id": same, "error": null | "message"}, one per span, in order.
//
// One process for every span. An error is what MathJax reports through the formatError hook
// (unknown environment, missing brace, a stray `#`, ...) and, because the noundefined package
// prints an unknown macro in red instead of failing, every such red macro name as well.
"use strict";

const { mathjax } = require("mathjax-full/js/mathjax.js");
const { TeX } = require("mathjax-full/js/input/tex.js");
const { liteAdaptor } = require("mathjax-full/js/adaptors/liteAdaptor.js");
const { RegisterHTMLHandler } = require("mathjax-full/js/handlers/html.js");
const { STATE } = require("mathjax-full/js/core/MathItem.js");
const { SerializedMmlVisitor } = require("mathjax-full/js/core/MmlTree/SerializedMmlVisitor.js");

// The packages of GitHub's math: the TeX core, AMS, \newcommand, noundefined, \boldsymbol, plus
// the ones MathJax's default configuration autoloads on first use.
const PACKAGES = ["base", "ams", "newcommand", "noundefined", "boldsymbol", "mathtools", "configmacros", "cancel", "color"];
for (const [pkg, file] of [
  ["base", "base/BaseConfiguration.js"],
  ["ams", "ams/AmsConfiguration.js"],
  ["newcommand", "newcommand/NewcommandConfiguration.js"],
  ["noundefined", "noundefined/NoUndefinedConfiguration.js"],
  ["boldsymbol", "boldsymbol/BoldsymbolConfiguration.js"],
  ["mathtools", "mathtools/MathtoolsConfiguration.js"],
  ["configmacros", "configmacros/ConfigMacrosConfiguration.js"],
  ["cancel", "cancel/CancelConfiguration.js"],
  ["color", "color/ColorConfiguration.js"],
]) {
  require(`mathjax-full/js/input/tex/${file}`);
}

let current = null; // the errors of the span being converted
const tex = new TeX({
  packages: PACKAGES,
  formatError(jax, err) {
    current.push(err.message);
    return jax.formatError(err);
  },
});
const adaptor = liteAdaptor();
RegisterHTMLHandler(adaptor);
const doc = mathjax.document("", { InputJax: tex });
const visitor = new SerializedMmlVisitor();
const UNDEFINED = /<mtext mathcolor="red">(\\[^<]*)<\/mtext>/g;

function check(span) {
  current = [];
  let mml = "";
  try {
    const node = doc.convert(span.tex, { display: !!span.display, end: STATE.CONVERT });
    mml = visitor.visitTree(node);
  } catch (err) {
    current.push(String(err && err.message ? err.message : err));
  }
  for (const m of mml.matchAll(UNDEFINED)) current.push(`Undefined control sequence ${m[1]}`);
  return { id: span.id, error: current.length ? current.join("; ") : null };
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const spans = JSON.parse(input || "[]");
  process.stdout.write(JSON.stringify(spans.map(check)));
});
