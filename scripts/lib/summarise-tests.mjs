// Adds up vitest's JSON reports into the one closing line CI reads: "N passed, N failed".
import { existsSync, readFileSync } from "node:fs";

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of process.argv.slice(2)) {
  if (!existsSync(file)) {
    console.error(`no report at ${file}: counted as a failure`);
    failed++;
    continue;
  }
  const report = JSON.parse(readFileSync(file, "utf8"));
  passed += report.numPassedTests;
  // A file that fails to load fails no test of its own; count it so the line cannot read green.
  const failures = report.numFailedTests || report.numFailedTestSuites;
  // A run that broke before any file loaded (a global set-up that threw) reports no failure at
  // all, only success: false; count it too.
  failed += failures || (report.success === false || report.numTotalTests === 0 ? 1 : 0);
  skipped += report.numPendingTests + report.numTodoTests;
}
console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
