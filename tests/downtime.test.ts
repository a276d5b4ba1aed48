/**
 * Downtime windows: every instant is explicit UTC; the comment beside it gives the local reading.
 *
 * 2026 daylight saving changes used below:
 * - Europe/Berlin: 29 March 01:00Z (02:00 CET -> 03:00 CEST), 25 October 01:00Z (03:00 CEST ->
 *   02:00 CET).
 * - America/New_York: 8 March 07:00Z (02:00 EST -> 03:00 EDT), 1 November 06:00Z (02:00 EDT ->
 *   01:00 EST).
 *
 * Semantics at those changes (README "Downtime window"):
 * - weekly `start`-`end` windows stay on the local wall clock: active whenever the local clock
 *   reads a time inside them (a skipped time never happens, a repeated time is inside twice);
 * - a cron window starts when cron would fire and lasts `durationMinutes` of real time: a start
 *   time skipped by a spring-forward fires at the jump, a repeated (fall-back) start time fires
 *   once, the first time. Expressions with `*` or a step in the minute or hour field fire by the
 *   clock in real time (a skipped time is skipped, a repeated time fires twice).
 */
import { compileCron, activeWindow, isInWindow, type DowntimeSubject } from "../handlers/downtime";
import type { DowntimeWindow } from "../handlers/types";
import { MAX_DURATION_MINUTES, type WindowProblem, validateWindow } from "../config/downtime";
import { nextWindows } from "../scripts/lib/downtime-occurrences";

const BERLIN = "Europe/Berlin";
const NEW_YORK = "America/New_York";

function weekly(timeZone: string, days: string[], start: string, end: string): DowntimeWindow {
  return {
    name: `weekly ${days.join(",")} ${start}-${end}`,
    allowCritical: false,
    kind: "weekly",
    timeZone,
    days,
    start,
    end,
  };
}

function cron(timeZone: string, expr: string, durationMinutes: number): DowntimeWindow {
  return {
    name: `cron ${expr}`,
    allowCritical: false,
    kind: "cron",
    timeZone,
    cron: expr,
    durationMinutes,
  };
}

function once(from: string, to: string): DowntimeWindow {
  return { name: "once", allowCritical: false, kind: "once", from, to };
}

describe("isInWindow", () => {
  // [window, instant (UTC), expected, local reading / why]
  type Row = [DowntimeWindow, string, boolean, string];

  const weeklyRows: Row[] = [
    // sat 22:00-02:00 crosses midnight into sunday (CET, UTC+1).
    [weekly(BERLIN, ["sat"], "22:00", "02:00"), "2026-01-10T20:59:59Z", false, "sat 21:59:59"],
    [weekly(BERLIN, ["sat"], "22:00", "02:00"), "2026-01-10T21:00:00Z", true, "sat 22:00 start"],
    [
      weekly(BERLIN, ["sat"], "22:00", "02:00"),
      "2026-01-10T23:30:00Z",
      true,
      "sun 00:30 after midnight",
    ],
    [weekly(BERLIN, ["sat"], "22:00", "02:00"), "2026-01-11T00:59:59Z", true, "sun 01:59:59"],
    [weekly(BERLIN, ["sat"], "22:00", "02:00"), "2026-01-11T01:00:00Z", false, "sun 02:00 end"],
    [
      weekly(BERLIN, ["sat"], "22:00", "02:00"),
      "2026-01-11T21:30:00Z",
      false,
      "sun 22:30, sun not listed",
    ],
    [weekly(BERLIN, ["sat"], "22:00", "02:00"), "2026-01-09T21:30:00Z", false, "fri 22:30"],
    // Working hours in New York (EST, UTC-5).
    [
      weekly(NEW_YORK, ["mon", "tue", "wed", "thu", "fri"], "09:00", "17:00"),
      "2026-01-12T13:59:59Z",
      false,
      "mon 08:59:59",
    ],
    [
      weekly(NEW_YORK, ["mon", "tue", "wed", "thu", "fri"], "09:00", "17:00"),
      "2026-01-12T14:00:00Z",
      true,
      "mon 09:00 start",
    ],
    [
      weekly(NEW_YORK, ["mon", "tue", "wed", "thu", "fri"], "09:00", "17:00"),
      "2026-01-12T21:59:59Z",
      true,
      "mon 16:59:59",
    ],
    [
      weekly(NEW_YORK, ["mon", "tue", "wed", "thu", "fri"], "09:00", "17:00"),
      "2026-01-12T22:00:00Z",
      false,
      "mon 17:00 end",
    ],
    [
      weekly(NEW_YORK, ["mon", "tue", "wed", "thu", "fri"], "09:00", "17:00"),
      "2026-01-17T15:00:00Z",
      false,
      "sat 10:00",
    ],
    // end == start: 24 hours.
    [weekly(BERLIN, ["wed"], "06:00", "06:00"), "2026-01-15T04:59:59Z", true, "thu 05:59:59"],
    [weekly(BERLIN, ["wed"], "06:00", "06:00"), "2026-01-15T05:00:00Z", false, "thu 06:00 end"],
  ];

  const dstWeeklyRows: Row[] = [
    // Berlin spring forward: 02:00-03:00 local does not exist.
    [weekly(BERLIN, ["sun"], "02:00", "04:00"), "2026-03-29T00:59:59Z", false, "01:59:59 CET"],
    [
      weekly(BERLIN, ["sun"], "02:00", "04:00"),
      "2026-03-29T01:00:00Z",
      true,
      "03:00 CEST, first instant",
    ],
    [weekly(BERLIN, ["sun"], "02:00", "04:00"), "2026-03-29T01:59:59Z", true, "03:59:59 CEST"],
    [weekly(BERLIN, ["sun"], "02:00", "04:00"), "2026-03-29T02:00:00Z", false, "04:00 CEST end"],
    [weekly(BERLIN, ["sun"], "02:15", "02:45"), "2026-03-29T00:59:59Z", false, "01:59:59 CET"],
    [
      weekly(BERLIN, ["sun"], "02:15", "02:45"),
      "2026-03-29T01:00:00Z",
      false,
      "03:00 CEST: the window never happened",
    ],
    [weekly(BERLIN, ["sun"], "01:30", "02:30"), "2026-03-29T00:30:00Z", true, "01:30 CET start"],
    [weekly(BERLIN, ["sun"], "01:30", "02:30"), "2026-03-29T00:59:59Z", true, "01:59:59 CET"],
    [
      weekly(BERLIN, ["sun"], "01:30", "02:30"),
      "2026-03-29T01:00:00Z",
      false,
      "03:00 CEST: past the end",
    ],
    [
      weekly(BERLIN, ["sat"], "23:00", "02:30"),
      "2026-03-28T22:00:00Z",
      true,
      "sat 23:00 CET start",
    ],
    [weekly(BERLIN, ["sat"], "23:00", "02:30"), "2026-03-29T00:59:59Z", true, "sun 01:59:59 CET"],
    [weekly(BERLIN, ["sat"], "23:00", "02:30"), "2026-03-29T01:00:00Z", false, "sun 03:00 CEST"],
    // Berlin fall back: 02:00-03:00 local happens twice, both inside.
    [weekly(BERLIN, ["sun"], "02:00", "03:00"), "2026-10-24T23:59:59Z", false, "01:59:59 CEST"],
    [
      weekly(BERLIN, ["sun"], "02:00", "03:00"),
      "2026-10-25T00:00:00Z",
      true,
      "02:00 CEST, first pass",
    ],
    [weekly(BERLIN, ["sun"], "02:00", "03:00"), "2026-10-25T00:59:59Z", true, "02:59:59 CEST"],
    [
      weekly(BERLIN, ["sun"], "02:00", "03:00"),
      "2026-10-25T01:00:00Z",
      true,
      "02:00 CET, second pass",
    ],
    [weekly(BERLIN, ["sun"], "02:00", "03:00"), "2026-10-25T01:59:59Z", true, "02:59:59 CET"],
    [weekly(BERLIN, ["sun"], "02:00", "03:00"), "2026-10-25T02:00:00Z", false, "03:00 CET end"],
    [weekly(BERLIN, ["sun"], "02:30", "02:45"), "2026-10-25T00:30:00Z", true, "02:30 CEST"],
    [weekly(BERLIN, ["sun"], "02:30", "02:45"), "2026-10-25T00:45:00Z", false, "02:45 CEST"],
    [weekly(BERLIN, ["sun"], "02:30", "02:45"), "2026-10-25T01:15:00Z", false, "02:15 CET"],
    [weekly(BERLIN, ["sun"], "02:30", "02:45"), "2026-10-25T01:30:00Z", true, "02:30 CET, again"],
    [weekly(BERLIN, ["sun"], "02:30", "02:45"), "2026-10-25T01:45:00Z", false, "02:45 CET"],
    // New York spring forward: 02:00-03:00 local does not exist.
    [weekly(NEW_YORK, ["sun"], "02:00", "04:00"), "2026-03-08T06:59:59Z", false, "01:59:59 EST"],
    [weekly(NEW_YORK, ["sun"], "02:00", "04:00"), "2026-03-08T07:00:00Z", true, "03:00 EDT"],
    [weekly(NEW_YORK, ["sun"], "02:00", "04:00"), "2026-03-08T07:59:59Z", true, "03:59:59 EDT"],
    [weekly(NEW_YORK, ["sun"], "02:00", "04:00"), "2026-03-08T08:00:00Z", false, "04:00 EDT end"],
    // New York fall back: 01:00-02:00 local happens twice.
    [weekly(NEW_YORK, ["sun"], "01:00", "02:00"), "2026-11-01T04:59:59Z", false, "00:59:59 EDT"],
    [weekly(NEW_YORK, ["sun"], "01:00", "02:00"), "2026-11-01T05:00:00Z", true, "01:00 EDT"],
    [
      weekly(NEW_YORK, ["sun"], "01:00", "02:00"),
      "2026-11-01T06:00:00Z",
      true,
      "01:00 EST, second pass",
    ],
    [weekly(NEW_YORK, ["sun"], "01:00", "02:00"), "2026-11-01T06:59:59Z", true, "01:59:59 EST"],
    [weekly(NEW_YORK, ["sun"], "01:00", "02:00"), "2026-11-01T07:00:00Z", false, "02:00 EST end"],
    // Crossing midnight into the repeated hour: the clock reads 01:00-01:30 a second time.
    [
      weekly(NEW_YORK, ["sat"], "23:00", "01:30"),
      "2026-11-01T03:00:00Z",
      true,
      "sat 23:00 EDT start",
    ],
    [weekly(NEW_YORK, ["sat"], "23:00", "01:30"), "2026-11-01T05:29:59Z", true, "sun 01:29:59 EDT"],
    [
      weekly(NEW_YORK, ["sat"], "23:00", "01:30"),
      "2026-11-01T05:30:00Z",
      false,
      "sun 01:30 EDT end",
    ],
    [
      weekly(NEW_YORK, ["sat"], "23:00", "01:30"),
      "2026-11-01T06:00:00Z",
      true,
      "sun 01:00 EST, inside again",
    ],
    [
      weekly(NEW_YORK, ["sat"], "23:00", "01:30"),
      "2026-11-01T06:30:00Z",
      false,
      "sun 01:30 EST end",
    ],
  ];

  const cronRows: Row[] = [
    // The cron twin of weekly sat 22:00-02:00.
    [cron(BERLIN, "0 22 * * SAT", 240), "2026-01-10T20:59:59Z", false, "sat 21:59:59"],
    [cron(BERLIN, "0 22 * * SAT", 240), "2026-01-10T21:00:00Z", true, "sat 22:00 fire"],
    [cron(BERLIN, "0 22 * * SAT", 240), "2026-01-11T00:59:59Z", true, "sun 01:59:59"],
    [cron(BERLIN, "0 22 * * SAT", 240), "2026-01-11T01:00:00Z", false, "sun 02:00 end"],
    // Berlin 2026-03-29 02:30 is skipped: cron fires at the jump (03:00 CEST = 01:00Z) and the
    // window lasts 60 real minutes from there.
    [cron(BERLIN, "30 2 * * *", 60), "2026-03-28T01:30:00Z", true, "sat 02:30 CET, ordinary day"],
    [cron(BERLIN, "30 2 * * *", 60), "2026-03-28T02:30:00Z", false, "sat 03:30 CET end"],
    [cron(BERLIN, "30 2 * * *", 60), "2026-03-29T00:59:59Z", false, "01:59:59 CET"],
    [cron(BERLIN, "30 2 * * *", 60), "2026-03-29T01:00:00Z", true, "03:00 CEST, fired at the jump"],
    [cron(BERLIN, "30 2 * * *", 60), "2026-03-29T01:30:00Z", true, "03:30 CEST, 30 min in"],
    [cron(BERLIN, "30 2 * * *", 60), "2026-03-29T01:59:59Z", true, "03:59:59 CEST"],
    [cron(BERLIN, "30 2 * * *", 60), "2026-03-29T02:00:00Z", false, "04:00 CEST: 60 min after"],
    [cron(BERLIN, "30 2 * * *", 60), "2026-03-30T00:30:00Z", true, "mon 02:30 CEST, next day"],
    // A list of start times in the skipped hour fires once, at the jump.
    [cron(BERLIN, "15,45 2 * * *", 10), "2026-03-29T01:05:00Z", true, "03:05 CEST"],
    [cron(BERLIN, "15,45 2 * * *", 10), "2026-03-29T01:10:00Z", false, "03:10 CEST end"],
    [cron(BERLIN, "15,45 2 * * *", 10), "2026-03-29T01:45:00Z", false, "03:45 CEST: no 2nd fire"],
    // Berlin 2026-10-25 02:00 happens twice: cron fires once, at 02:00 CEST (00:00Z).
    [cron(BERLIN, "0 2 * * *", 60), "2026-10-24T23:59:59Z", false, "01:59:59 CEST"],
    [cron(BERLIN, "0 2 * * *", 60), "2026-10-25T00:00:00Z", true, "02:00 CEST fire"],
    [cron(BERLIN, "0 2 * * *", 60), "2026-10-25T00:59:59Z", true, "02:59:59 CEST"],
    [cron(BERLIN, "0 2 * * *", 60), "2026-10-25T01:00:00Z", false, "02:00 CET: no 2nd fire"],
    [cron(BERLIN, "0 2 * * *", 60), "2026-10-25T01:30:00Z", false, "02:30 CET"],
    // The duration is real time: 180 minutes from 01:00 CEST end at 03:00 CET, not 04:00 local.
    [cron(BERLIN, "0 1 * * *", 180), "2026-10-24T23:00:00Z", true, "01:00 CEST fire"],
    [cron(BERLIN, "0 1 * * *", 180), "2026-10-25T01:59:59Z", true, "02:59:59 CET"],
    [cron(BERLIN, "0 1 * * *", 180), "2026-10-25T02:00:00Z", false, "03:00 CET: 180 min after"],
    // New York 2026-03-08 02:00 is skipped: fires at 03:00 EDT (07:00Z), 120 real minutes.
    [cron(NEW_YORK, "0 2 * * 0", 120), "2026-03-08T06:59:59Z", false, "01:59:59 EST"],
    [cron(NEW_YORK, "0 2 * * 0", 120), "2026-03-08T07:00:00Z", true, "03:00 EDT, the jump"],
    [cron(NEW_YORK, "0 2 * * 0", 120), "2026-03-08T08:59:59Z", true, "04:59:59 EDT"],
    [cron(NEW_YORK, "0 2 * * 0", 120), "2026-03-08T09:00:00Z", false, "05:00 EDT: 120 min after"],
    // New York 2026-11-01 01:30 happens twice: fires once, at 01:30 EDT (05:30Z).
    [cron(NEW_YORK, "30 1 * * *", 60), "2026-11-01T05:29:59Z", false, "01:29:59 EDT"],
    [cron(NEW_YORK, "30 1 * * *", 60), "2026-11-01T05:30:00Z", true, "01:30 EDT fire"],
    [cron(NEW_YORK, "30 1 * * *", 60), "2026-11-01T06:29:59Z", true, "01:29:59 EST"],
    [cron(NEW_YORK, "30 1 * * *", 60), "2026-11-01T06:30:00Z", false, "01:30 EST: no 2nd fire"],
    [cron(NEW_YORK, "30 1 * * *", 60), "2026-11-01T07:00:00Z", false, "02:00 EST"],
    [cron(NEW_YORK, "0 1 * * SUN", 60), "2026-11-01T04:59:59Z", false, "00:59:59 EDT"],
    [cron(NEW_YORK, "0 1 * * SUN", 60), "2026-11-01T05:00:00Z", true, "01:00 EDT fire"],
    [cron(NEW_YORK, "0 1 * * SUN", 60), "2026-11-01T05:59:59Z", true, "01:59:59 EDT"],
    [cron(NEW_YORK, "0 1 * * SUN", 60), "2026-11-01T06:30:00Z", false, "01:30 EST: ended 06:00Z"],
    // A wildcard hour fires by the clock in real time: the repeated 01:00 fires twice.
    [cron(NEW_YORK, "0 * * * *", 10), "2026-11-01T05:05:00Z", true, "01:05 EDT"],
    [cron(NEW_YORK, "0 * * * *", 10), "2026-11-01T06:05:00Z", true, "01:05 EST, fired again"],
    [cron(NEW_YORK, "0 * * * *", 10), "2026-11-01T06:10:00Z", false, "01:10 EST end"],
    // Vixie: day-of-month and day-of-week both restricted -> either matches.
    [cron("UTC", "0 12 1 * MON", 60), "2026-07-01T12:30:00Z", true, "wed the 1st"],
    [cron("UTC", "0 12 1 * MON", 60), "2026-07-06T12:30:00Z", true, "mon the 6th"],
    [cron("UTC", "0 12 1 * MON", 60), "2026-07-07T12:30:00Z", false, "tue the 7th"],
    [cron("UTC", "0 12 1 * MON", 60), "2026-07-06T13:00:00Z", false, "mon 13:00 end"],
    // Vixie: a day field starting with "*" (even "*/2") -> both must match.
    [cron("UTC", "0 12 */2 * MON", 60), "2026-07-13T12:30:00Z", true, "mon the 13th (odd)"],
    [cron("UTC", "0 12 */2 * MON", 60), "2026-07-06T12:30:00Z", false, "mon the 6th (even)"],
    [cron("UTC", "0 12 */2 * MON", 60), "2026-07-03T12:30:00Z", false, "fri the 3rd (odd)"],
    // The longest duration, 7 days, reaching back across a year boundary.
    [
      cron("UTC", "0 0 1 1 *", MAX_DURATION_MINUTES),
      "2025-12-31T23:59:59Z",
      false,
      "before the fire time",
    ],
    [cron("UTC", "0 0 1 1 *", MAX_DURATION_MINUTES), "2026-01-01T00:00:00Z", true, "fire time"],
    [cron("UTC", "0 0 1 1 *", MAX_DURATION_MINUTES), "2026-01-07T23:59:59Z", true, "last second"],
    [cron("UTC", "0 0 1 1 *", MAX_DURATION_MINUTES), "2026-01-08T00:00:00Z", false, "end"],
    // Lists, ranges and steps.
    [cron("UTC", "*/15 9-17 * * mon-fri", 5), "2026-01-12T17:45:00Z", true, "mon 17:45 fire"],
    [cron("UTC", "*/15 9-17 * * mon-fri", 5), "2026-01-12T17:50:00Z", false, "mon 17:50 end"],
    [cron("UTC", "*/15 9-17 * * mon-fri", 5), "2026-01-12T18:00:00Z", false, "hour 18 not listed"],
    [cron("UTC", "*/15 9-17 * * mon-fri", 5), "2026-01-17T10:00:00Z", false, "saturday"],
  ];

  const onceRows: Row[] = [
    [
      once("2026-05-01T10:00:00Z", "2026-05-01T14:00:00+02:00"),
      "2026-05-01T09:59:59.999Z",
      false,
      "before",
    ],
    [
      once("2026-05-01T10:00:00Z", "2026-05-01T14:00:00+02:00"),
      "2026-05-01T10:00:00Z",
      true,
      "start",
    ],
    [
      once("2026-05-01T10:00:00Z", "2026-05-01T14:00:00+02:00"),
      "2026-05-01T11:59:59.999Z",
      true,
      "last ms",
    ],
    [
      once("2026-05-01T10:00:00Z", "2026-05-01T14:00:00+02:00"),
      "2026-05-01T12:00:00Z",
      false,
      "end (14:00+02:00)",
    ],
  ];

  const rows = [...weeklyRows, ...dstWeeklyRows, ...cronRows, ...onceRows].map(
    ([window, instant, expected, why]) => ({ name: window.name, window, instant, expected, why }),
  );

  it.each(rows)("$name at $instant -> $expected ($why)", ({ window, instant, expected }) => {
    // Prepare
    const at = new Date(instant);

    // Act
    const inside = isInWindow(window, at);

    // Assess
    expect(inside).toBe(expected);
  });

  it("names the window when its time zone is not valid", () => {
    // Prepare
    const window = { ...weekly("Europe/Berln", ["sun"], "02:00", "04:00"), name: "patching" };

    // Act
    const act = () => isInWindow(window, new Date("2026-01-11T01:00:00Z"));

    // Assess
    expect(act).toThrow(
      'downtime window "patching": timeZone "Europe/Berln" is not an IANA time zone',
    );
  });

  it("names a cron window whose expression croner rejects", () => {
    // Prepare
    const window = { ...cron("UTC", "0 25 * * *", 60), name: "patching" };

    // Act
    const act = () => isInWindow(window, new Date("2026-01-11T01:00:00Z"));

    // Assess
    expect(act).toThrow('downtime window "patching": cron "0 25 * * *": Invalid value for hour');
  });

  it("names a cron window whose time zone is not valid, before croner sees it", () => {
    // Prepare
    const window = { ...cron("Europe/Berln", "0 2 * * *", 60), name: "patching" };

    // Act
    const act = () => isInWindow(window, new Date("2026-01-11T01:00:00Z"));

    // Assess
    expect(act).toThrow(
      'downtime window "patching": timeZone "Europe/Berln" is not an IANA time zone',
    );
  });
});

describe("activeWindow", () => {
  const during = new Date("2026-05-01T11:00:00Z");
  const freeze: DowntimeWindow = {
    ...once("2026-05-01T10:00:00Z", "2026-05-01T12:00:00Z"),
    name: "prod-freeze",
    pipelines: ["deploy-prod-*", "billing"],
    allowCritical: true,
  };
  const subject = (overrides: Partial<DowntimeSubject>): DowntimeSubject => ({
    pipeline: "deploy-prod-api",
    severity: "error",
    kind: "failure",
    ...overrides,
  });

  it.each([
    ["deploy-prod-api", "prod-freeze"],
    ["deploy-prod-", "prod-freeze"],
    ["deploy-staging-api", undefined],
    ["billing", "prod-freeze"],
    ["billing-v2", undefined],
  ])("pipeline %s -> %s", (pipeline, expected) => {
    // Prepare
    const windows = [freeze];

    // Act
    const window = activeWindow(windows, subject({ pipeline }), during);

    // Assess
    expect(window?.name).toBe(expected);
  });

  it.each([[undefined], [[]]])("a window with pipelines %j covers every pipeline", (pipelines) => {
    // Prepare
    const everything: DowntimeWindow = { ...freeze, name: "everything", pipelines };

    // Act
    const window = activeWindow([everything], subject({ pipeline: "anything" }), during);

    // Assess
    expect(window?.name).toBe("everything");
  });

  it.each([
    ["critical", "failure", undefined],
    ["critical", "success", "prod-freeze"],
    ["critical", "rejection", "prod-freeze"],
    ["error", "failure", "prod-freeze"],
    ["warning", "failure", "prod-freeze"],
  ] as const)("allowCritical: %s %s -> %s", (severity, kind, expected) => {
    // Prepare
    const windows = [freeze];

    // Act
    const window = activeWindow(windows, subject({ severity, kind }), during);

    // Assess
    expect(window?.name).toBe(expected);
  });

  it("suppresses critical failures when allowCritical is false", () => {
    // Prepare
    const strict: DowntimeWindow = { ...freeze, allowCritical: false };

    // Act
    const window = activeWindow([strict], subject({ severity: "critical" }), during);

    // Assess
    expect(window?.name).toBe("prod-freeze");
  });

  it.each(["critical", "error", "info"] as const)(
    "never suppresses approval requests (severity %s): a person is waiting",
    (severity) => {
      // Prepare
      const strict: DowntimeWindow = { ...freeze, allowCritical: false };

      // Act
      const window = activeWindow(
        [strict],
        subject({ kind: "approval-request", severity }),
        during,
      );

      // Assess
      expect(window).toBeUndefined();
    },
  );

  it("returns the first applicable window in config order", () => {
    // Prepare
    const staging: DowntimeWindow = { ...freeze, name: "staging", pipelines: ["deploy-staging-*"] };
    const all: DowntimeWindow = {
      ...freeze,
      name: "all",
      pipelines: undefined,
      allowCritical: false,
    };
    const later: DowntimeWindow = { ...freeze, name: "later", pipelines: undefined };
    const windows = [staging, freeze, all, later];

    // Act
    const standard = activeWindow(windows, subject({}), during);
    const critical = activeWindow(windows, subject({ severity: "critical" }), during);
    const staged = activeWindow(windows, subject({ pipeline: "deploy-staging-web" }), during);

    // Assess
    expect(standard?.name).toBe("prod-freeze");
    expect(critical?.name).toBe("all"); // prod-freeze lets it through, "all" does not
    expect(staged?.name).toBe("staging");
  });

  it("returns undefined outside every window", () => {
    // Prepare
    const windows = [freeze];

    // Act
    const window = activeWindow(windows, subject({}), new Date("2026-05-01T12:00:00Z"));

    // Assess
    expect(window).toBeUndefined();
  });
});

describe("validateWindow", () => {
  const validWeekly = {
    name: "w",
    allowCritical: false,
    kind: "weekly",
    timeZone: BERLIN,
    days: ["sat"],
    start: "22:00",
    end: "02:00",
  };
  const validCron = {
    name: "c",
    allowCritical: false,
    kind: "cron",
    timeZone: NEW_YORK,
    cron: "0 2 * * MON-FRI",
    durationMinutes: 60,
  };
  const validOnce = {
    name: "o",
    allowCritical: true,
    kind: "once",
    from: "2026-05-01T10:00:00Z",
    to: "2026-05-01T14:00:00+02:00",
  };
  const WEEK = "mon, tue, wed, thu, fri, sat, sun";

  it.each<[string, unknown, WindowProblem[]]>([
    ["valid weekly", validWeekly, []],
    ["valid cron", validCron, []],
    ["valid once", validOnce, []],
    ["valid prefix list", { ...validOnce, pipelines: ["deploy-*", "billing"] }, []],
    ["not an object", null, [{ path: [], message: "a downtime window must be an object" }]],
    ["an array", [], [{ path: [], message: "a downtime window must be an object" }]],
    [
      "unknown kind",
      { ...validOnce, kind: "daily" },
      [{ path: ["kind"], message: 'must be "weekly", "cron" or "once", got "daily"' }],
    ],
    [
      "no name",
      { ...validOnce, name: " " },
      [{ path: ["name"], message: "must be a non-empty string" }],
    ],
    [
      "star inside a pipeline name",
      { ...validOnce, pipelines: ["billing", "a*b"] },
      [
        {
          path: ["pipelines", 1],
          message: '"*" is only allowed at the end (a name prefix), got "a*b"',
        },
      ],
    ],
    [
      "an empty pipeline name",
      { ...validOnce, pipelines: ["billing", ""] },
      [{ path: ["pipelines", 1], message: "must not be an empty name" }],
    ],
    [
      "pipelines not strings",
      { ...validOnce, pipelines: "deploy-*" },
      [{ path: ["pipelines"], message: "must be a list of pipeline names" }],
    ],
    [
      "allowCritical not boolean",
      { ...validOnce, allowCritical: "yes" },
      [{ path: ["allowCritical"], message: "must be true or false" }],
    ],
    [
      "bad time zone",
      { ...validWeekly, timeZone: "Europe/Berln" },
      [{ path: ["timeZone"], message: '"Europe/Berln" is not an IANA time zone' }],
    ],
    [
      "no time zone",
      { ...validCron, timeZone: undefined },
      [{ path: ["timeZone"], message: 'is required (an IANA time zone such as "Europe/Berlin")' }],
    ],
    [
      "bad HH:MM",
      { ...validWeekly, start: "24:00", end: "9:00" },
      [
        { path: ["start"], message: '"24:00" is not a time HH:MM (00:00 to 23:59)' },
        { path: ["end"], message: '"9:00" is not a time HH:MM (00:00 to 23:59)' },
      ],
    ],
    [
      "minutes past 59",
      { ...validWeekly, end: "02:60" },
      [{ path: ["end"], message: '"02:60" is not a time HH:MM (00:00 to 23:59)' }],
    ],
    [
      "bad day names",
      { ...validWeekly, days: ["monday", "sun", "Tue"] },
      [
        { path: ["days", 0], message: `"monday" is not one of ${WEEK}` },
        { path: ["days", 2], message: `"Tue" is not one of ${WEEK}` },
      ],
    ],
    [
      "no days",
      { ...validWeekly, days: [] },
      [{ path: ["days"], message: `must be a non-empty list of ${WEEK}` }],
    ],
    [
      "cron minute out of range",
      { ...validCron, cron: "61 * * * *" },
      [{ path: ["cron"], message: '"61 * * * *": minute field "61": invalid value for minute' }],
    ],
    [
      "cron bad day name",
      { ...validCron, cron: "0 2 * * MON-FRX" },
      [
        {
          path: ["cron"],
          message: '"0 2 * * MON-FRX": day-of-week field "MON-FRX": contains illegal characters',
        },
      ],
    ],
    [
      "cron with four fields",
      { ...validCron, cron: "0 2 * *" },
      [
        {
          path: ["cron"],
          message:
            '"0 2 * *": needs five fields (minute hour day-of-month month day-of-week), got 4',
        },
      ],
    ],
    [
      "zero duration",
      { ...validCron, durationMinutes: 0 },
      [
        {
          path: ["durationMinutes"],
          message: "must be a whole number from 1 to 10080 (7 days), got 0",
        },
      ],
    ],
    [
      "duration over 7 days",
      { ...validCron, durationMinutes: 10081 },
      [
        {
          path: ["durationMinutes"],
          message: "must be a whole number from 1 to 10080 (7 days), got 10081",
        },
      ],
    ],
    [
      "from equal to to",
      { ...validOnce, from: "2026-05-01T12:00:00Z" },
      [
        {
          path: ["from"],
          message: '"2026-05-01T12:00:00Z" must be before to "2026-05-01T14:00:00+02:00"',
        },
      ],
    ],
    [
      "from after to",
      { ...validOnce, from: "2026-05-02T00:00:00Z" },
      [
        {
          path: ["from"],
          message: '"2026-05-02T00:00:00Z" must be before to "2026-05-01T14:00:00+02:00"',
        },
      ],
    ],
    [
      "local time without offset",
      { ...validOnce, from: "2026-05-01T10:00" },
      [
        {
          path: ["from"],
          message:
            '"2026-05-01T10:00" is not an ISO 8601 instant with an offset, such as "2026-05-01T22:00:00Z"',
        },
      ],
    ],
    [
      "wrong types everywhere",
      { name: "x", kind: "cron", timeZone: 7, cron: 5, durationMinutes: "60" },
      [
        { path: ["timeZone"], message: 'is required (an IANA time zone such as "Europe/Berlin")' },
        { path: ["cron"], message: "must be a five-field cron expression string" },
        {
          path: ["durationMinutes"],
          message: 'must be a whole number from 1 to 10080 (7 days), got "60"',
        },
      ],
    ],
  ])("%s", (_case, window, expected) => {
    // Prepare: the table row

    // Act
    const problems = validateWindow(window);

    // Assess
    expect(problems).toEqual(expected);
  });
});

describe("cron expressions (croner with cronOptions)", () => {
  const fires = (expr: string, from: string, count: number): string[] => {
    const schedule = compileCron(expr, "UTC");
    if (typeof schedule === "string") throw new Error(schedule);
    return schedule.nextRuns(count, new Date(from)).map((d) => d.toISOString().slice(0, 16));
  };

  it.each<[string, string, string[]]>([
    [
      "*/15 9-17 * JAN,mar mon-fri",
      "2026-03-01T00:00:00Z",
      ["2026-03-02T09:00", "2026-03-02T09:15", "2026-03-02T09:30", "2026-03-02T09:45"],
    ],
    [
      // Both day fields restricted: the 1st, the 15th and every sunday (7 is sunday).
      "0 0 1,15 * 7",
      "2026-03-01T00:00:00Z",
      [
        "2026-03-08T00:00",
        "2026-03-15T00:00",
        "2026-03-22T00:00",
        "2026-03-29T00:00",
        "2026-04-01T00:00",
      ],
    ],
    [
      // "5/20" is 5 through 59 every 20; friday (5) to sunday (7).
      "5/20 0-10/5 * * 5-7",
      "2026-03-05T23:00:00Z",
      ["2026-03-06T00:05", "2026-03-06T00:25", "2026-03-06T00:45", "2026-03-06T05:05"],
    ],
    [
      "0 0 */10 * *",
      "2026-01-01T00:00:00Z",
      ["2026-01-11T00:00", "2026-01-21T00:00", "2026-01-31T00:00", "2026-02-01T00:00"],
    ],
  ])("%s from %s fires at %j", (expr, from, expected) => {
    // Prepare: the table row

    // Act
    const times = fires(expr, from, expected.length);

    // Assess
    expect(times).toEqual(expected);
  });

  it.each([
    [
      "* * * *",
      "invalid configuration format ('* * * *'), exactly five, six, or seven space separated parts are required.",
    ],
    [
      "",
      "invalid configuration format (''), exactly five, six, or seven space separated parts are required.",
    ],
    [
      "0 0 * * * *",
      "mode '5-part' requires exactly 5 parts, but pattern '0 0 * * * *' has 6 parts.",
    ],
    ["5-1 * * * *", "From value is larger than to value: '5-1'"],
    ["*/0 * * * *", "Syntax error, illegal stepping: 0"],
    ["1-2-3 * * * *", "Syntax error, illegal range: '1-2-3'"],
    ["* 24 * * *", "Invalid value for hour"],
    ["* * 0 * *", "Invalid value for day"],
    ["* * * 13 *", "Invalid value for month"],
    ["* * * foo *", "configuration entry 4 (foo) contains illegal characters."],
    ["* * * * 8", "Invalid value for dayOfWeek"],
    ["* * * * 1,", "configuration entry dayOfWeek () is empty, check for trailing spaces."],
    ["a * * * *", "configuration entry 1 (a) contains illegal characters."],
    ["*/5/2 * * * *", "Syntax error, illegal stepping: '*/5/2'"],
  ])("rejects %j", (expr, expected) => {
    // Prepare: the table row

    // Act
    const compiled = compileCron(expr);

    // Assess
    expect(compiled).toBe(expected);
  });
});

describe("nextWindows", () => {
  const iso = (periods: Array<{ start: Date; end: Date }>) =>
    periods.map(({ start, end }) => [start.toISOString(), end.toISOString()]);

  it.each<[string, DowntimeWindow, string, number, string[][]]>([
    [
      "weekly across Berlin's spring forward: that night is an hour shorter",
      weekly(BERLIN, ["sun"], "01:00", "05:00"),
      "2026-03-21T00:00:00Z",
      3,
      [
        ["2026-03-22T00:00:00.000Z", "2026-03-22T04:00:00.000Z"],
        ["2026-03-29T00:00:00.000Z", "2026-03-29T03:00:00.000Z"],
        ["2026-04-04T23:00:00.000Z", "2026-04-05T03:00:00.000Z"],
      ],
    ],
    [
      "weekly across New York's fall back: that night is an hour longer",
      weekly(NEW_YORK, ["sat"], "22:00", "02:00"),
      "2026-10-20T00:00:00Z",
      3,
      [
        ["2026-10-25T02:00:00.000Z", "2026-10-25T06:00:00.000Z"],
        ["2026-11-01T02:00:00.000Z", "2026-11-01T07:00:00.000Z"],
        ["2026-11-08T03:00:00.000Z", "2026-11-08T07:00:00.000Z"],
      ],
    ],
    [
      "a window in progress comes first, with its real start",
      weekly(BERLIN, ["sat"], "22:00", "02:00"),
      "2026-01-10T23:00:00Z",
      2,
      [
        ["2026-01-10T21:00:00.000Z", "2026-01-11T01:00:00.000Z"],
        ["2026-01-17T21:00:00.000Z", "2026-01-18T01:00:00.000Z"],
      ],
    ],
    [
      "a window inside the repeated hour is active twice that night",
      weekly(BERLIN, ["sun"], "02:30", "02:45"),
      "2026-10-24T00:00:00Z",
      3,
      [
        ["2026-10-25T00:30:00.000Z", "2026-10-25T00:45:00.000Z"],
        ["2026-10-25T01:30:00.000Z", "2026-10-25T01:45:00.000Z"],
        ["2026-11-01T01:30:00.000Z", "2026-11-01T01:45:00.000Z"],
      ],
    ],
    [
      "a window inside the skipped hour does not happen that night",
      weekly(BERLIN, ["sun"], "02:15", "02:45"),
      "2026-03-28T00:00:00Z",
      1,
      [["2026-04-05T00:15:00.000Z", "2026-04-05T00:45:00.000Z"]],
    ],
    [
      "cron across Berlin's spring forward: fires at the jump, lasts 120 real minutes",
      cron(BERLIN, "0 2 * * *", 120),
      "2026-03-28T12:00:00Z",
      3,
      [
        ["2026-03-29T01:00:00.000Z", "2026-03-29T03:00:00.000Z"],
        ["2026-03-30T00:00:00.000Z", "2026-03-30T02:00:00.000Z"],
        ["2026-03-31T00:00:00.000Z", "2026-03-31T02:00:00.000Z"],
      ],
    ],
    [
      "cron in New York's repeated hour: 01:30 fires once, at 01:30 EDT",
      cron(NEW_YORK, "30 1 * * *", 60),
      "2026-10-31T12:00:00Z",
      2,
      [
        ["2026-11-01T05:30:00.000Z", "2026-11-01T06:30:00.000Z"],
        ["2026-11-02T06:30:00.000Z", "2026-11-02T07:30:00.000Z"],
      ],
    ],
    [
      "a cron period in progress comes first, with its real start",
      cron("UTC", "0 22 * * SAT", 240),
      "2026-01-10T23:00:00Z",
      2,
      [
        ["2026-01-10T22:00:00.000Z", "2026-01-11T02:00:00.000Z"],
        ["2026-01-17T22:00:00.000Z", "2026-01-18T02:00:00.000Z"],
      ],
    ],
    [
      "cron on the 29th of February skips to the next leap year",
      cron("UTC", "0 0 29 2 *", 60),
      "2026-01-01T00:00:00Z",
      1,
      [["2028-02-29T00:00:00.000Z", "2028-02-29T01:00:00.000Z"]],
    ],
    ["cron that never fires", cron("UTC", "0 0 30 2 *", 60), "2026-01-01T00:00:00Z", 3, []],
    [
      "once, ahead",
      once("2026-05-01T10:00:00Z", "2026-05-01T14:00:00+02:00"),
      "2026-01-01T00:00:00Z",
      3,
      [["2026-05-01T10:00:00.000Z", "2026-05-01T12:00:00.000Z"]],
    ],
    [
      "once, over",
      once("2026-05-01T10:00:00Z", "2026-05-01T12:00:00Z"),
      "2026-05-01T12:00:00Z",
      3,
      [],
    ],
  ])("%s", (_case, window, from, count, expected) => {
    // Prepare
    const start = new Date(from);

    // Act
    const periods = nextWindows(window, start, count);

    // Assess
    expect(iso(periods)).toEqual(expected);
  });

  it.each([
    ["Berlin spring forward", cron(BERLIN, "30 2 * * *", 60), "2026-03-28T20:00:00Z"],
    ["Berlin fall back", cron(BERLIN, "0 1,2 * * *", 90), "2026-10-24T20:00:00Z"],
    ["New York fall back", cron(NEW_YORK, "*/20 1 * * *", 15), "2026-10-31T22:00:00Z"],
  ])("cron periods agree with isInWindow minute by minute (%s)", (_case, window, night) => {
    // Prepare
    const from = new Date(night);

    // Act
    const periods = nextWindows(window, from, 10);

    // Assess: the periods are exactly the minutes isInWindow calls inside
    for (let minute = 0; minute < 10 * 60; minute++) {
      const at = new Date(from.getTime() + minute * 60_000);
      const inPeriod = periods.some(({ start, end }) => start <= at && at < end);
      expect([at.toISOString(), inPeriod]).toEqual([at.toISOString(), isInWindow(window, at)]);
    }
  });

  it("agrees with isInWindow minute by minute across both 2026 Berlin changes", () => {
    // Prepare: a window across midnight, touching both changes, and the real minutes around them
    const window = weekly(BERLIN, ["sat"], "23:30", "02:30");
    const nights = ["2026-03-28T20:00:00Z", "2026-10-24T20:00:00Z"];

    for (const night of nights) {
      const from = new Date(night);
      // Act
      const periods = nextWindows(window, from, 3);
      // Assess: the period is exactly the set of minutes isInWindow calls inside
      for (let minute = 0; minute < 10 * 60; minute++) {
        const at = new Date(from.getTime() + minute * 60_000);
        const inPeriod = periods.some(({ start, end }) => start <= at && at < end);
        expect([at.toISOString(), inPeriod]).toEqual([at.toISOString(), isInWindow(window, at)]);
      }
    }
  });
});
