/**
 * Maintenance downtime windows at run time: whether a configured window suppresses a notification
 * at an instant. Deploy-time validation is in config/downtime.ts; the next-occurrence listing of
 * the preview is in scripts/lib/downtime-occurrences.ts.
 *
 * Three kinds of window (see `DowntimeWindow` in ./types), all half-open [start, end):
 * - `weekly`: days + local "HH:MM" start and end in an IANA time zone; `end <= start` crosses
 *   midnight (the listed day is the start day; `end == start` is 24 hours). Stays on the local
 *   wall clock: active whenever the local clock reads a time inside it, so a skipped hour never
 *   happens and a repeated hour is inside twice.
 * - `cron`: starts when cron would fire in the time zone (croner, `cronOptions`) and lasts
 *   `durationMinutes` of real time. A fixed start time skipped by a spring-forward fires at the
 *   jump; one repeated by a fall-back fires once, the first time (Vixie cron's rule).
 * - `once`: from/to ISO 8601 instants.
 * The README's "Downtime window" section has worked examples; tests/downtime.test.ts the instants.
 *
 * Wall-clock times are "wall minutes": minutes since 1970-01-01T00:00 as if the local clock reading
 * were UTC, which makes day and minute arithmetic plain integer arithmetic, free of offsets.
 */
import type * as Croner from "croner";
import type { Cron, CronOptions } from "croner";
import type { DowntimeWindow, NotificationKind, Severity } from "./types";

/**
 * croner, required on first use (a cron window's first check, or a cron expression's
 * validation), not at the top: the closure serializer turns a top-level import into a `require`
 * at the top of the fan-out's `__index.js`, which every cold start pays (about 2–3 ms,
 * handlers/README.md), also in a stack that has no cron window. A type-only import is erased.
 */
function croner(): typeof Croner {
  return require("croner") as typeof Croner;
}

/** Minutes in a calendar day (wall-clock arithmetic). */
export const MINUTES_PER_DAY = 1440;
/** Milliseconds in a minute. */
export const MS_PER_MINUTE = 60_000;

/** Day names as weekly windows spell them, indexed like `Date#getUTCDay` (0 = sunday). */
export const DAY_NAMES: readonly string[] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
/** The same names in the order people read a week, for messages. */
export const WEEK_IN_WORDS = "mon, tue, wed, thu, fri, sat, sun";

/** What `activeWindow` needs to know about a notification. `Notification` fits. */
export interface DowntimeSubject {
  pipeline: string;
  severity: Severity;
  kind: NotificationKind;
}

/** Per-cold-start caches. A `const` object: see handlers/README.md rule 3. */
const cache: {
  formatters: Record<string, Intl.DateTimeFormat>;
  /** Compiled cron schedules by time zone and expression. */
  crons: Record<string, Cron>;
} = { formatters: {}, crons: {} };

/**
 * The downtime window that suppresses a notification, or undefined when none does.
 *
 * A window applies when it lists the notification's pipeline (exactly, or by a prefix entry ending
 * in `*`) or lists no pipelines, and it is active at `at`. With `allowCritical`, failures of
 * severity "critical" get through. Approval requests are never suppressed: a person is waiting on
 * them, and a suppressed request would leave the pipeline stuck until the approval times out.
 * Returns the first applicable window in config order.
 *
 * Throws (with the window's name) only on a window that config validation should have rejected.
 */
export function activeWindow(
  windows: DowntimeWindow[],
  subject: DowntimeSubject,
  at: Date,
): DowntimeWindow | undefined {
  if (subject.kind === "approval-request") {
    return undefined;
  }
  const criticalFailure = subject.kind === "failure" && subject.severity === "critical";
  return windows.find(
    (window) =>
      appliesToPipeline(window, subject.pipeline) &&
      !(window.allowCritical && criticalFailure) &&
      isInWindow(window, at),
  );
}

/**
 * Whether a window covers a pipeline: it lists no pipelines, lists the name, or lists a prefix
 * (an entry ending in `*`) of the name.
 */
export function appliesToPipeline(window: DowntimeWindow, pipeline: string): boolean {
  const entries = window.pipelines ?? [];
  if (entries.length === 0) {
    return true;
  }
  return entries.some((entry) =>
    entry.endsWith("*") ? pipeline.startsWith(entry.slice(0, -1)) : pipeline === entry,
  );
}

/**
 * Whether a window is active at an instant (half-open: the start instant is inside, the end
 * instant is not), with the semantics of the module comment.
 *
 * Throws, naming the window, on a malformed window (see config/downtime.ts `validateWindow`).
 */
export function isInWindow(window: DowntimeWindow, at: Date): boolean {
  const atMs = at.getTime();
  switch (window.kind) {
    case "once": {
      const { from, to } = onceBounds(window);
      return from <= atMs && atMs < to;
    }
    case "weekly": {
      const { start, end, days } = weeklySpec(window);
      const now = wallMinuteAt(window, atMs);
      const today = Math.floor(now / MINUTES_PER_DAY);
      // An occurrence starting today, or one that started yesterday and crosses midnight.
      return [today, today - 1].some((day) => {
        if (!days.includes(weekday(day))) {
          return false;
        }
        const occurrence = weeklyOccurrence(day, start, end);
        return occurrence.start <= now && now < occurrence.end;
      });
    }
    case "cron": {
      // Active when cron fires in (at - duration, at]; nextRun is strictly after its reference.
      const fire = cronSchedule(window).nextRun(
        new Date(atMs - window.durationMinutes * MS_PER_MINUTE),
      );
      return fire !== null && fire.getTime() <= atMs;
    }
    default: {
      const unknown: never = window;
      throw new Error(`downtime window: unknown kind ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * The croner options of a cron expression (one definition for the Lambda, validation, preview):
 * five fields only; "5/15" = 5 through 59 every 15 (`sloppyRanges`, as cronie reads it); minute
 * and hour without `*` or a step (lists and ranges too) are a fixed-time job, which fires at the
 * end of a DST gap and once in a DST overlap, as in Vixie cron (croner's default fixes only single
 * values); and Vixie's day rule: when both day fields are restricted (neither starts with `*`), a
 * day matches when EITHER does ("0 0 1 * mon"), otherwise both must ("0 0 *\/2 * mon": odd mondays).
 */
function cronOptions(expr: string, timeZone?: string): CronOptions {
  const fields = expr.trim().split(/\s+/);
  const daysOr = !(fields[2] ?? "*").startsWith("*") && !(fields[4] ?? "*").startsWith("*");
  return {
    mode: "5-part",
    sloppyRanges: true,
    fixedTimeRule: "no-wildcard",
    domAndDow: !daysOr,
    ...(timeZone === undefined ? {} : { timezone: timeZone }),
  };
}

/**
 * Compiles a cron expression with `cronOptions`, in a time zone when one is given. Returns the
 * problem in words (croner's message) instead of throwing.
 */
export function compileCron(expr: string, timeZone?: string): Cron | string {
  try {
    return new (croner().Cron)(expr, cronOptions(expr, timeZone));
  } catch (error: unknown) {
    const message = error instanceof Error ? error.message : String(error);
    // croner reports some values shifted to its internal base ("month: 12" for 13): drop them.
    return message.replace(/^CronPattern: /, "").replace(/^(Invalid value for \w+): -?\d+$/, "$1");
  }
}

/**
 * A cron window's schedule, cached per cold start by time zone and expression. `instanceof`, not a
 * mere lookup: a cache filled before closure serialization would come back from the serializer
 * with plain objects in it (handlers/README.md rule 2).
 */
export function cronSchedule(window: DowntimeWindow & { kind: "cron" }): Cron {
  const duration = window.durationMinutes;
  if (!Number.isInteger(duration) || duration <= 0) {
    throw windowError(window, "durationMinutes must be a whole number of at least 1");
  }
  formatterOf(window); // names the window on a bad time zone, before croner's own message
  const key = `${window.timeZone} ${window.cron}`;
  const cached = Object.hasOwn(cache.crons, key) ? cache.crons[key] : undefined;
  if (cached instanceof croner().Cron) {
    return cached;
  }
  const compiled = compileCron(window.cron, window.timeZone);
  if (typeof compiled === "string") {
    throw windowError(window, `cron "${window.cron}": ${compiled}`);
  }
  cache.crons[key] = compiled;
  return compiled;
}

/** A cached formatter for a time zone (`instanceof`: see `cronSchedule`). Throws RangeError. */
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  const cached = cache.formatters[timeZone];
  if (cached instanceof Intl.DateTimeFormat) {
    return cached;
  }
  const formatter = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
  });
  cache.formatters[timeZone] = formatter;
  return formatter;
}

/** `formatterFor` a window's time zone, with the window's name on a bad time zone. */
function formatterOf(window: DowntimeWindow & { timeZone: string }): Intl.DateTimeFormat {
  try {
    return formatterFor(window.timeZone);
  } catch (error: unknown) {
    if (error instanceof RangeError) {
      throw windowError(window, `timeZone "${window.timeZone}" is not an IANA time zone`);
    }
    throw error;
  }
}

/**
 * The local wall clock reading of a time zone at an instant (epoch milliseconds), in wall minutes
 * (see the module comment). Throws RangeError on an unknown time zone.
 */
export function wallMinute(timeZone: string, atMs: number): number {
  return wallMinuteOf(formatterFor(timeZone), atMs);
}

/** `wallMinute` for a window, with the window's name on a bad time zone. */
export function wallMinuteAt(window: DowntimeWindow & { timeZone: string }, atMs: number): number {
  return wallMinuteOf(formatterOf(window), atMs);
}

function wallMinuteOf(formatter: Intl.DateTimeFormat, atMs: number): number {
  const parts = formatter.formatToParts(atMs);
  const field = (type: Intl.DateTimeFormatPartTypes): number =>
    Number(parts.find((part) => part.type === type)?.value);
  return (
    Date.UTC(field("year"), field("month") - 1, field("day"), field("hour"), field("minute")) /
    MS_PER_MINUTE
  );
}

/** Day of the week of a wall day number (days since 1970-01-01, a thursday); 0 = sunday. */
export function weekday(day: number): number {
  return (((day + 4) % 7) + 7) % 7;
}

/** An error that names the window (for windows config validation should have rejected). */
function windowError(window: DowntimeWindow, problem: string): Error {
  return new Error(`downtime window "${window.name}": ${problem}`);
}

/** A once window's bounds in epoch milliseconds. Throws, naming the window, on a bad instant. */
export function onceBounds(window: DowntimeWindow & { kind: "once" }): {
  from: number;
  to: number;
} {
  const from = Date.parse(window.from);
  const to = Date.parse(window.to);
  if (Number.isNaN(from) || Number.isNaN(to)) {
    throw windowError(window, "from and to must be ISO 8601 instants");
  }
  return { from, to };
}

/**
 * A weekly window's start and end (minutes of the day) and day numbers (0 = sunday). Throws,
 * naming the window, on a bad time or day name.
 */
export function weeklySpec(window: DowntimeWindow & { kind: "weekly" }): {
  start: number;
  end: number;
  days: number[];
} {
  const start = clockMinutes(window.start);
  const end = clockMinutes(window.end);
  if (start === undefined || end === undefined) {
    throw windowError(window, `start and end must be times HH:MM`);
  }
  const days = window.days.map((day) => DAY_NAMES.indexOf(day));
  if (days.includes(-1)) {
    throw windowError(window, `days must be among ${WEEK_IN_WORDS}`);
  }
  return { start, end, days };
}

/**
 * The occurrence of a weekly window that starts on a wall day (days since 1970-01-01), in wall
 * minutes; `start` and `end` are minutes of the day.
 */
export function weeklyOccurrence(
  day: number,
  start: number,
  end: number,
): { start: number; end: number } {
  const dayStart = day * MINUTES_PER_DAY;
  // end <= start: the window crosses midnight and ends on the next day.
  return {
    start: dayStart + start,
    end: dayStart + end + (end > start ? 0 : MINUTES_PER_DAY),
  };
}

/** Minutes of the day of a local "HH:MM" (00:00 to 23:59), or undefined if it is not one. */
export function clockMinutes(text: string): number | undefined {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text);
  return match === null ? undefined : Number(match[1]) * 60 + Number(match[2]);
}
