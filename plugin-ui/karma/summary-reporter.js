// Tiny Karma reporter: prints exactly one closing line `N passed, N failed` (plus `, N skipped`
// when any spec was skipped) so CI can read the result without parsing Karma's own output.
'use strict';

function SummaryReporter() {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  let errors = 0;

  this.onRunStart = function () {
    passed = 0;
    failed = 0;
    skipped = 0;
    errors = 0;
  };

  this.onSpecComplete = function (_browser, result) {
    if (result.skipped || result.pending) skipped += 1;
    else if (result.success) passed += 1;
    else failed += 1;
  };

  this.onBrowserError = function () {
    errors += 1;
  };

  this.onRunComplete = function (_browsers, results) {
    // A browser crash or a load error fails the run even when no spec reported a failure.
    const broken = errors > 0 || (results && (results.error || results.disconnected));
    const extra = failed === 0 && broken ? 1 : 0;
    let line = `${passed} passed, ${failed + extra} failed`;
    if (skipped > 0) line += `, ${skipped} skipped`;
    process.stdout.write(`\n${line}\n`);
  };
}

SummaryReporter.$inject = [];

module.exports = { 'reporter:summary': ['type', SummaryReporter] };
