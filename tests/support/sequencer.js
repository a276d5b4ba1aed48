/**
 * jest testSequencer: the slowest files start first, also on a machine that has no timings yet.
 *
 * jest's own order (@jest/test-sequencer) is: failed last time first, then files without recorded
 * timings (largest file first), then the rest by their recorded time. On a fresh checkout (CI)
 * nothing is recorded, so a short file that runs for minutes (tests/bench.test.ts) can start
 * last and leave one worker running alone at the end. Here a file with no recorded time takes
 * its time from {@link EXPECTED_SECONDS} when listed there, so the long ones start first; with
 * recorded times the order is jest's.
 */
"use strict";

const path = require("node:path");
const Sequencer = require("@jest/test-sequencer").default;

/**
 * Seconds per file from a full run on the 2-core CI machine (2026-11-30), files over 30 s only;
 * iam-enforcement, dlq-reasons, pacing and grouping from single-file runs on the
 * same (busy) machine after issue 12's test speed-ups; bench, start and api from single-file
 * runs (75, 71 and 53 s) after their waits were overlapped (2026-12-01), times 1.35 (bench's and
 * start's full-run time over their single-file time before); pacing from a single-file run
 * (34 s) after it sends 10 messages instead of 15; dlq-reasons, grouping and api from
 * single-file runs (24–31, 27–32 and 43–50 s) after the first two's clocks ran faster
 * (TIME_SCALE 10) and api's SNS outage got a sandbox of its own (2026-12-01), times 1.35;
 * reminders/scan (67 s in a full run, unlisted, so it started after every listed file) from
 * single-file runs (44–53 s) after its short scans ran at scale 2, plus 2 s (it waits rather
 * than computes: its full-run time was its single-file time). iam-enforcement from single-file
 * runs (64–80 s, load 7–9) after its one-statement runs started one archive instead of two, times
 * 1.35 (2026-12-01, round 15); grouping (10–25 s alone after its clock was moved instead of waited
 * for) is no longer listed. A guide to the order, never a limit: a wrong figure only changes when
 * a file starts.
 */
const EXPECTED_SECONDS = {
  "tests/bench.test.ts": 100,
  "tests/sandbox/start.test.ts": 95,
  "tests/sandbox/api.test.ts": 63,
  "tests/testing/iam-enforcement.test.ts": 95,
  "tests/fanout/pacing.test.ts": 40,
  "tests/sandbox/browser.test.ts": 59,
  "tests/reminders/scan.test.ts": 55,
  "tests/preview.test.ts": 54,
  "tests/infra/multi-account-scale.test.ts": 46,
  "tests/infra.test.ts": 41,
  "tests/fanout/dlq-reasons.test.ts": 40,
  "tests/artifacts.test.ts": 36,
  "tests/sandbox/cli.test.ts": 35,
  "tests/sandbox/time-scale.test.ts": 34,
};

const ROOT = path.resolve(__dirname, "..", "..");

class SlowestFirst extends Sequencer {
  time(test) {
    const recorded = super.time(test);
    if (recorded != null) return recorded;
    const expected = EXPECTED_SECONDS[path.relative(ROOT, test.path).split(path.sep).join("/")];
    return expected === undefined ? undefined : expected * 1000;
  }

  sort(tests) {
    // jest runs files without a time before timed ones; a listed file has a time, so it would
    // start after every unlisted one. Listed (or recorded) files of 30 s or more go first.
    const sorted = super.sort(tests);
    const long = sorted.filter((t) => !this.hasFailed(t) && (t.duration ?? 0) >= 30_000);
    const failed = sorted.filter((t) => this.hasFailed(t));
    const rest = sorted.filter((t) => !failed.includes(t) && !long.includes(t));
    long.sort((a, b) => b.duration - a.duration);
    return [...failed, ...long, ...rest];
  }
}

module.exports = SlowestFirst;
