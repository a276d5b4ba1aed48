/**
 * Maintenance downtime windows: when a notification is suppressed because a configured window is
 * active.
 *
 * Three kinds of window (see `DowntimeWindow` in ./types):
 * - `weekly`: days + local "HH:MM" start and end in an IANA time zone; `end <= start` crosses
 *   midnight into the next day (the listed day is the start day; `end == start` is 24 hours).
 * - `cron`: a five-field cron expression (local time in the time zone) + a duration in minutes.
 * - `once`: from/to ISO 8601 instants.
 *
 * Windows are half-open: active from the start instant inclusive to the end instant exclusive.
 *
 * Weekly and cron windows follow the local wall clock, including across daylight saving changes: a
 * window is active whenever the local clock reads a time inside it. So "02:00-04:00" in
 * Europe/Berlin on the spring-forward night covers only 01:00Z-02:00Z (02:00-03:00 local never
 * happens), a window entirely inside the skipped hour never becomes active that night, and on the
 * fall-back night the repeated 02:00-03:00 hour is inside both times. A cron duration is measured on
 * the local clock too, so "0 2 * * *" for 120 minutes is the same window as weekly "02:00-04:00".
 *
 * No libraries (the Lambda archive budget is tight): local wall-clock fields come from
 * `Intl.DateTimeFormat#formatToParts`. Internally, wall-clock times are "wall minutes": minutes
 * since 1970-01-01T00:00 as if the local clock reading were UTC, which makes day and minute
 * arithmetic plain integer arithmetic, free of offsets.
 */
import type { DowntimeWindow, NotificationKind, Severity } from "./types";

const MINUTES_PER_DAY = 1440;
const MS_PER_MINUTE = 60_000;

/** Longest allowed cron window duration: 7 days, in minutes. */
export const MAX_DURATION_MINUTES = 7 * MINUTES_PER_DAY;

/** Day names as weekly windows spell them, indexed like `Date#getUTCDay` (0 = sunday). */
const DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
/** The same names in the order people read a week, for messages. */
const WEEK_IN_WORDS = "mon, tue, wed, thu, fri, sat, sun";

/**
 * Any real instant whose wall time lies in [a, b) lies in [a - 15 h, b + 15 h): UTC offsets range
 * from -12:00 to +14:00.
 */
const OFFSET_BOUND_MINUTES = 15 * 60;
/**
 * How far a daylight saving change can move the wall clock against real time. Real changes are one
 * hour (30 minutes on Lord Howe Island, two hours for wartime "double summer time").
 */
const DST_MARGIN_MINUTES = 3 * 60;
/**
 * Offset sampling step when mapping wall intervals to real time. Two offset changes of one zone
 * are always months apart, so one sample per 6 hours cannot miss a change.
 */
const OFFSET_SAMPLE_MINUTES = 6 * 60;
/**
 * How many days `nextWindows` looks ahead: 8 years, enough for "29 February" (which can skip a
 * leap year, as in 2100) and bounded for a cron that never fires ("0 0 30 2 *").
 */
const SEARCH_DAYS = 8 * 366;

/** A parsed five-field cron expression: the allowed values of each field, ascending. */
export interface ParsedCron {
  /** 0-59. */
  minutes: number[];
  /** 0-23. */
  hours: number[];
  /** 1-31. */
  daysOfMonth: number[];
  /** 1-12. */
  months: number[];
  /** 0-6, 0 = sunday (7 in the expression is sunday too). */
  daysOfWeek: number[];
  /**
   * Vixie cron semantics: when both day fields are restricted (neither starts with `*`), a day
   * matches when EITHER matches ("0 0 1 * mon": the 1st and every monday); otherwise both must.
   */
  daysOr: boolean;
}

/** What `activeWindow` needs to know about a notification. `Notification` fits. */
export interface DowntimeSubject {
  pipeline: string;
  severity: Severity;
  kind: NotificationKind;
}

/** Per-cold-start caches. A `const` object: see handlers/README.md rule 3. */
const cache: {
  formatters: Record<string, Intl.DateTimeFormat>;
  crons: Record<string, ParsedCron>;
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
 * instant is not). Weekly and cron windows follow the local clock of their time zone.
 *
 * Throws, naming the window, on a malformed window (see `validateWindow`).
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
      const cron = cronSpec(window);
      return cronFiredWithin(cron, wallMinuteAt(window, atMs), window.durationMinutes);
    }
    default: {
      const unknown: never = window;
      throw new Error(`downtime window: unknown kind ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * The next `count` periods in which a window is active, as real instants, in order, starting with
 * the one in progress at `from` if any (every returned period ends after `from`). For the config
 * preview and the README ("next 3 occurrences").
 *
 * Each occurrence is mapped to real time across daylight saving changes: an occurrence that falls
 * entirely in a skipped hour is left out, and one that is inside the repeated hour of a fall-back
 * night but shorter than it is active twice, returned as two periods. Overlapping cron occurrences
 * are returned one by one, not merged. A `once` window yields at most one period.
 */
export function nextWindows(
  window: DowntimeWindow,
  from: Date,
  count: number,
): Array<{ start: Date; end: Date }> {
  const fromMs = from.getTime();
  const periods: Array<{ start: Date; end: Date }> = [];
  if (count <= 0) {
    return periods;
  }
  if (window.kind === "once") {
    const bounds = onceBounds(window);
    if (bounds.to > fromMs && bounds.from < bounds.to) {
      periods.push({ start: new Date(bounds.from), end: new Date(bounds.to) });
    }
    return periods;
  }
  const fromMinute = Math.floor(fromMs / MS_PER_MINUTE);
  // Occurrences ending on the local clock before this cannot be active at or after `from`.
  const notBefore = wallMinuteAt(window, fromMs) - DST_MARGIN_MINUTES;
  forEachOccurrence(window, notBefore, (wallStart, wallEnd) => {
    for (const [start, end] of realIntervals(window.timeZone, wallStart, wallEnd)) {
      if (end > fromMinute) {
        // A period in progress keeps its real start: `from` selects periods, it does not clip them.
        periods.push({
          start: new Date(start * MS_PER_MINUTE),
          end: new Date(end * MS_PER_MINUTE),
        });
      }
    }
    return periods.length >= count;
  });
  return periods.slice(0, count);
}

/**
 * Parses a five-field cron expression (minute hour day-of-month month day-of-week) with `*`,
 * lists, ranges, steps (`*\/15`, `1-30/2`, `5/15` = `5-59/15`) and names (JAN-DEC, SUN-SAT, any
 * case; 7 is sunday too). Returns the problem in words instead of throwing.
 */
export function parseCron(expr: string): ParsedCron | string {
  const fields = expr.trim() === "" ? [] : expr.trim().split(/\s+/);
  if (fields.length !== 5) {
    return `expected 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`;
  }
  const values: number[][] = [];
  for (let index = 0; index < CRON_FIELDS.length; index++) {
    const parsed = parseCronField(fields[index], CRON_FIELDS[index]);
    if (typeof parsed === "string") {
      return parsed;
    }
    values.push(parsed);
  }
  const [minutes, hours, daysOfMonth, months, daysOfWeekRaw] = values;
  const daysOfWeek = [...new Set(daysOfWeekRaw.map((day) => day % 7))].sort((a, b) => a - b);
  // Vixie cron: a day field "is *" when its text starts with "*", which includes "*/2".
  const daysOr = !fields[2].startsWith("*") && !fields[4].startsWith("*");
  return { minutes, hours, daysOfMonth, months, daysOfWeek, daysOr };
}

/**
 * The problems of a downtime window from stack config, in words, for config validation (which
 * prefixes the config key). Never throws; an empty list means the window is valid.
 */
export function validateWindow(window: unknown): string[] {
  if (typeof window !== "object" || window === null || Array.isArray(window)) {
    return ["a downtime window must be an object"];
  }
  const w = window as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof w.name !== "string" || w.name.trim() === "") {
    problems.push("name must be a non-empty string");
  }
  problems.push(...pipelineProblems(w.pipelines));
  if (w.allowCritical !== undefined && typeof w.allowCritical !== "boolean") {
    problems.push("allowCritical must be true or false");
  }
  switch (w.kind) {
    case "weekly":
      problems.push(...timeZoneProblems(w.timeZone));
      problems.push(...dayProblems(w.days));
      problems.push(...clockProblems("start", w.start), ...clockProblems("end", w.end));
      break;
    case "cron": {
      problems.push(...timeZoneProblems(w.timeZone));
      if (typeof w.cron !== "string") {
        problems.push("cron must be a five-field cron expression string");
      } else {
        const parsed = parseCron(w.cron);
        if (typeof parsed === "string") {
          problems.push(`cron "${w.cron}": ${parsed}`);
        }
      }
      const duration = w.durationMinutes;
      if (
        typeof duration !== "number" ||
        !Number.isInteger(duration) ||
        duration <= 0 ||
        duration > MAX_DURATION_MINUTES
      ) {
        problems.push(
          `durationMinutes must be a whole number from 1 to ${MAX_DURATION_MINUTES} (7 days), got ${JSON.stringify(duration)}`,
        );
      }
      break;
    }
    case "once": {
      const fromProblems = instantProblems("from", w.from);
      const toProblems = instantProblems("to", w.to);
      problems.push(...fromProblems, ...toProblems);
      if (fromProblems.length === 0 && toProblems.length === 0) {
        if (Date.parse(w.from as string) >= Date.parse(w.to as string)) {
          problems.push(`from "${w.from as string}" must be before to "${w.to as string}"`);
        }
      }
      break;
    }
    default:
      problems.push(`kind must be "weekly", "cron" or "once", got ${JSON.stringify(w.kind)}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Wall clock

/**
 * A cached formatter for a time zone. `instanceof`, not a mere lookup: a cache filled before
 * closure serialization (config validation runs in the same process as `pulumi up`) would come
 * back from the serializer with empty objects in it (handlers/README.md rule 2).
 */
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

/** The local wall clock reading at an instant, in wall minutes (see the module comment). */
function wallMinute(timeZone: string, atMs: number): number {
  const parts = formatterFor(timeZone).formatToParts(atMs);
  const field = (type: Intl.DateTimeFormatPartTypes): number =>
    Number(parts.find((part) => part.type === type)?.value);
  return (
    Date.UTC(field("year"), field("month") - 1, field("day"), field("hour"), field("minute")) /
    MS_PER_MINUTE
  );
}

/** `wallMinute` for a window, with the window's name on a bad time zone. */
function wallMinuteAt(window: DowntimeWindow & { timeZone: string }, atMs: number): number {
  try {
    return wallMinute(window.timeZone, atMs);
  } catch (error: unknown) {
    if (error instanceof RangeError) {
      throw windowError(window, `timeZone "${window.timeZone}" is not an IANA time zone`);
    }
    throw error;
  }
}

/** UTC offset in minutes at a real minute (minutes since the epoch). */
function offsetAt(timeZone: string, realMinute: number): number {
  return wallMinute(timeZone, realMinute * MS_PER_MINUTE) - realMinute;
}

/** Day of the week of a wall day number (days since 1970-01-01, a thursday); 0 = sunday. */
function weekday(day: number): number {
  return (((day + 4) % 7) + 7) % 7;
}

/**
 * The real intervals (in real minutes, half-open, ascending) during which the local clock reads a
 * time in [wallStart, wallEnd). Within a stretch of constant offset `o` that is simply
 * [wallStart - o, wallEnd - o); the offset changes are found by sampling and bisection.
 */
function realIntervals(
  timeZone: string,
  wallStart: number,
  wallEnd: number,
): Array<[number, number]> {
  const intervals: Array<[number, number]> = [];
  const addStretch = (from: number, to: number, offset: number): void => {
    const start = Math.max(from, wallStart - offset);
    const end = Math.min(to, wallEnd - offset);
    if (start >= end) {
      return;
    }
    const last = intervals[intervals.length - 1];
    if (last !== undefined && last[1] === start) {
      last[1] = end; // e.g. a window across a spring-forward change: one period, not two
    } else {
      intervals.push([start, end]);
    }
  };
  const limit = wallEnd + OFFSET_BOUND_MINUTES;
  let stretchStart = wallStart - OFFSET_BOUND_MINUTES;
  let offset = offsetAt(timeZone, stretchStart);
  let probe = stretchStart;
  while (probe < limit) {
    const next = Math.min(probe + OFFSET_SAMPLE_MINUTES, limit);
    if (offsetAt(timeZone, next) === offset) {
      probe = next;
      continue;
    }
    // Bisect for the first minute with the new offset.
    let low = probe;
    let high = next;
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2);
      if (offsetAt(timeZone, middle) === offset) {
        low = middle;
      } else {
        high = middle;
      }
    }
    addStretch(stretchStart, high, offset);
    stretchStart = high;
    offset = offsetAt(timeZone, high);
    probe = high;
  }
  addStretch(stretchStart, limit, offset);
  return intervals;
}

/**
 * Calls `visit(wallStart, wallEnd)` for each occurrence of a weekly or cron window that ends after
 * wall minute `notBefore`, in order of start, until `visit` returns true or the search horizon
 * (`SEARCH_DAYS`) is reached.
 */
function forEachOccurrence(
  window: DowntimeWindow & { kind: "weekly" | "cron" },
  notBefore: number,
  visit: (wallStart: number, wallEnd: number) => boolean,
): void {
  if (window.kind === "weekly") {
    const { start, end, days } = weeklySpec(window);
    const firstDay = Math.floor(notBefore / MINUTES_PER_DAY) - 1;
    for (let day = firstDay; day <= firstDay + SEARCH_DAYS; day++) {
      if (days.includes(weekday(day))) {
        const occurrence = weeklyOccurrence(day, start, end);
        if (occurrence.end > notBefore && visit(occurrence.start, occurrence.end)) {
          return;
        }
      }
    }
    return;
  }
  const cron = cronSpec(window);
  const duration = window.durationMinutes;
  const firstDay = Math.floor((notBefore - duration) / MINUTES_PER_DAY);
  for (let day = firstDay; day <= firstDay + SEARCH_DAYS; day++) {
    if (!cronDayMatches(cron, day)) {
      continue;
    }
    for (const hour of cron.hours) {
      for (const minute of cron.minutes) {
        const fire = day * MINUTES_PER_DAY + hour * 60 + minute;
        if (fire + duration > notBefore && visit(fire, fire + duration)) {
          return;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Window kinds

/** An error that names the window (for windows config validation should have rejected). */
function windowError(window: DowntimeWindow, problem: string): Error {
  return new Error(`downtime window "${window.name}": ${problem}`);
}

/** A once window's bounds in epoch milliseconds. */
function onceBounds(window: DowntimeWindow & { kind: "once" }): { from: number; to: number } {
  const from = Date.parse(window.from);
  const to = Date.parse(window.to);
  if (Number.isNaN(from) || Number.isNaN(to)) {
    throw windowError(window, "from and to must be ISO 8601 instants");
  }
  return { from, to };
}

/** A weekly window's start and end (minutes of the day) and day numbers (0 = sunday). */
function weeklySpec(window: DowntimeWindow & { kind: "weekly" }): {
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

/** The occurrence of a weekly window that starts on a wall day, in wall minutes. */
function weeklyOccurrence(day: number, start: number, end: number): { start: number; end: number } {
  const dayStart = day * MINUTES_PER_DAY;
  // end <= start: the window crosses midnight and ends on the next day.
  return {
    start: dayStart + start,
    end: dayStart + end + (end > start ? 0 : MINUTES_PER_DAY),
  };
}

/** A cron window's parsed expression, cached by expression. */
function cronSpec(window: DowntimeWindow & { kind: "cron" }): ParsedCron {
  const duration = window.durationMinutes;
  if (!Number.isInteger(duration) || duration <= 0 || duration > MAX_DURATION_MINUTES) {
    throw windowError(window, `durationMinutes must be from 1 to ${MAX_DURATION_MINUTES}`);
  }
  // hasOwn: an expression such as "constructor" must not find Object.prototype's members.
  if (Object.hasOwn(cache.crons, window.cron)) {
    return cache.crons[window.cron];
  }
  const parsed = parseCron(window.cron);
  if (typeof parsed === "string") {
    throw windowError(window, `cron "${window.cron}": ${parsed}`);
  }
  cache.crons[window.cron] = parsed;
  return parsed;
}

/** Whether a cron expression fires on a wall day at all (month and day fields). */
function cronDayMatches(cron: ParsedCron, day: number): boolean {
  const date = new Date(day * MINUTES_PER_DAY * MS_PER_MINUTE);
  if (!cron.months.includes(date.getUTCMonth() + 1)) {
    return false;
  }
  const dayOfMonth = cron.daysOfMonth.includes(date.getUTCDate());
  const dayOfWeek = cron.daysOfWeek.includes(date.getUTCDay());
  return cron.daysOr ? dayOfMonth || dayOfWeek : dayOfMonth && dayOfWeek;
}

/**
 * Whether the cron fired at some wall minute `s` with `s <= now < s + duration`, i.e. in
 * (now - duration, now]. Scans back day by day, skipping days that cannot match, then hours.
 */
function cronFiredWithin(cron: ParsedCron, now: number, duration: number): boolean {
  const earliest = now - duration + 1;
  for (
    let day = Math.floor(now / MINUTES_PER_DAY);
    day >= Math.floor(earliest / MINUTES_PER_DAY);
    day--
  ) {
    if (!cronDayMatches(cron, day)) {
      continue;
    }
    for (const hour of cron.hours) {
      const hourStart = day * MINUTES_PER_DAY + hour * 60;
      if (hourStart > now || hourStart + 59 < earliest) {
        continue;
      }
      if (
        cron.minutes.some((minute) => hourStart + minute >= earliest && hourStart + minute <= now)
      ) {
        return true;
      }
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Cron fields

interface CronField {
  name: string;
  min: number;
  max: number;
  /** Three-letter names; the value of names[i] is `min + i` for months, `i` for days. */
  names?: string[];
  nameBase?: number;
}

const CRON_FIELDS: CronField[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day-of-month", min: 1, max: 31 },
  {
    name: "month",
    min: 1,
    max: 12,
    names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    nameBase: 1,
  },
  { name: "day-of-week", min: 0, max: 7, names: DAY_NAMES, nameBase: 0 },
];

/** One cron field: a comma-separated list of `*`, `n`, `a-b`, each optionally with `/step`. */
function parseCronField(text: string, field: CronField): number[] | string {
  const problem = (what: string): string => `${field.name} field "${text}": ${what}`;
  const selected: boolean[] = [];
  for (const item of text.split(",")) {
    if (item === "") {
      return problem("empty list item");
    }
    const [range, step, ...extra] = item.split("/");
    if (extra.length > 0) {
      return problem(`"${item}" has more than one "/"`);
    }
    let low = field.min;
    let high = field.max;
    if (range !== "*") {
      const bounds = range.split("-");
      if (bounds.length > 2) {
        return problem(`"${range}" is not a value or a range a-b`);
      }
      const first = cronValue(bounds[0], field);
      if (typeof first === "string") {
        return problem(first);
      }
      low = first;
      // "5/15" means 5 through the maximum, every 15 (as cronie and croniter read it).
      high = step === undefined ? first : field.max;
      if (bounds.length === 2) {
        const second = cronValue(bounds[1], field);
        if (typeof second === "string") {
          return problem(second);
        }
        high = second;
        if (low > high) {
          return problem(`range ${range} is backwards`);
        }
      }
    }
    let increment = 1;
    if (step !== undefined) {
      if (!/^\d+$/.test(step) || Number(step) === 0) {
        return problem(`step "${step}" must be a whole number of at least 1`);
      }
      increment = Number(step);
    }
    for (let value = low; value <= high; value += increment) {
      selected[value] = true;
    }
  }
  const values: number[] = [];
  selected.forEach((isSelected, value) => {
    if (isSelected) {
      values.push(value);
    }
  });
  return values;
}

/** One cron value: a number in the field's range, or a name where the field has names. */
function cronValue(token: string, field: CronField): number | string {
  if (/^\d+$/.test(token)) {
    const value = Number(token);
    if (value < field.min || value > field.max) {
      return `${value} is out of range ${field.min}-${field.max}`;
    }
    return value;
  }
  const index = field.names?.indexOf(token.toLowerCase()) ?? -1;
  if (field.names === undefined) {
    return `"${token}" is not a number`;
  }
  if (index === -1) {
    return `"${token}" is not a number or a name (${field.names.join(", ")})`;
  }
  return index + (field.nameBase ?? 0);
}

// ---------------------------------------------------------------------------------------------
// Validation helpers

/** Minutes of the day of a local "HH:MM", or undefined if it is not one. */
function clockMinutes(text: string): number | undefined {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text);
  return match === null ? undefined : Number(match[1]) * 60 + Number(match[2]);
}

function pipelineProblems(pipelines: unknown): string[] {
  if (pipelines === undefined) {
    return [];
  }
  if (!Array.isArray(pipelines) || !pipelines.every((entry) => typeof entry === "string")) {
    return ["pipelines must be a list of pipeline names"];
  }
  const problems: string[] = [];
  for (const entry of pipelines as string[]) {
    if (entry === "") {
      problems.push("pipelines must not contain an empty name");
    } else if (entry.indexOf("*") !== -1 && entry.indexOf("*") !== entry.length - 1) {
      problems.push(`pipeline "${entry}": "*" is only allowed at the end (a name prefix)`);
    }
  }
  return problems;
}

function timeZoneProblems(timeZone: unknown): string[] {
  if (typeof timeZone !== "string" || timeZone === "") {
    return ['timeZone is required (an IANA time zone such as "Europe/Berlin")'];
  }
  try {
    // A throwaway formatter: validation runs at deploy time and must not fill the runtime cache.
    new Intl.DateTimeFormat("en-US", { timeZone });
    return [];
  } catch (error: unknown) {
    if (error instanceof RangeError) {
      return [`timeZone "${timeZone}" is not an IANA time zone`];
    }
    return [`timeZone "${timeZone}": ${error instanceof Error ? error.message : String(error)}`];
  }
}

function dayProblems(days: unknown): string[] {
  if (!Array.isArray(days) || days.length === 0) {
    return [`days must be a non-empty list of ${WEEK_IN_WORDS}`];
  }
  return days
    .filter((day) => typeof day !== "string" || !DAY_NAMES.includes(day))
    .map((day) => `day ${JSON.stringify(day)} is not one of ${WEEK_IN_WORDS}`);
}

function clockProblems(key: string, value: unknown): string[] {
  if (typeof value === "string" && clockMinutes(value) !== undefined) {
    return [];
  }
  return [`${key} ${JSON.stringify(value)} is not a time HH:MM (00:00 to 23:59)`];
}

/** ISO 8601 with an explicit offset: a bare local time would be read in the Lambda's zone (UTC). */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

function instantProblems(key: string, value: unknown): string[] {
  if (typeof value === "string" && ISO_INSTANT.test(value) && !Number.isNaN(Date.parse(value))) {
    return [];
  }
  return [
    `${key} ${JSON.stringify(value)} is not an ISO 8601 instant with an offset, such as "2026-05-01T22:00:00Z"`,
  ];
}
