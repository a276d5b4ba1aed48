/**
 * The next occurrences of a downtime window, as real instants: what the preview lists ("next 3
 * occurrences") and the sandbox uses to place a scenario event inside or outside a window. Not
 * Lambda code: the fan-out only asks whether a window is active (handlers/downtime.ts), whose
 * semantics this listing follows exactly.
 */
import {
  MINUTES_PER_DAY,
  MS_PER_MINUTE,
  cronSchedule,
  onceBounds,
  wallMinute,
  wallMinuteAt,
  weekday,
  weeklyOccurrence,
  weeklySpec,
} from "../../handlers/downtime";
import type { DowntimeWindow } from "../../handlers/types";

/** One period in which a window is active: [start, end). */
export interface Period {
  start: Date;
  end: Date;
}

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
/** How many days a weekly search looks ahead: a year is more than any weekly window needs. */
const SEARCH_DAYS = 366;

/**
 * The next `count` periods in which a window is active, in order, starting with the one in
 * progress at `from` if any (every returned period ends after `from`; a period in progress keeps
 * its real start).
 *
 * - weekly: each occurrence is mapped to real time across daylight saving changes: one that falls
 *   entirely in a skipped hour is left out, and one inside the repeated hour of a fall-back night
 *   but shorter than it is active twice, returned as two periods.
 * - cron: [fire, fire + durationMinutes) for each fire time (croner's, as the Lambda computes
 *   them); overlapping occurrences are returned one by one, not merged. A cron that never fires
 *   ("0 0 30 2 *") yields none.
 * - once: at most one period.
 *
 * Throws, naming the window, on a malformed window.
 */
export function nextWindows(window: DowntimeWindow, from: Date, count: number): Period[] {
  const fromMs = from.getTime();
  if (count <= 0) {
    return [];
  }
  switch (window.kind) {
    case "once": {
      const bounds = onceBounds(window);
      return bounds.to > fromMs && bounds.from < bounds.to
        ? [{ start: new Date(bounds.from), end: new Date(bounds.to) }]
        : [];
    }
    case "cron": {
      const durationMs = window.durationMinutes * MS_PER_MINUTE;
      // Fire times strictly after from - duration are exactly those whose period ends after from.
      return cronSchedule(window)
        .nextRuns(count, new Date(fromMs - durationMs))
        .map((fire) => ({ start: fire, end: new Date(fire.getTime() + durationMs) }));
    }
    case "weekly":
      return nextWeekly(window, fromMs, count);
    default: {
      const unknown: never = window;
      throw new Error(`downtime window: unknown kind ${JSON.stringify(unknown)}`);
    }
  }
}

/** `nextWindows` of a weekly window: occurrences on the wall clock, mapped to real time. */
function nextWeekly(
  window: DowntimeWindow & { kind: "weekly" },
  fromMs: number,
  count: number,
): Period[] {
  const { start, end, days } = weeklySpec(window);
  const fromMinute = Math.floor(fromMs / MS_PER_MINUTE);
  // Occurrences ending on the local clock before this cannot be active at or after `from`.
  const notBefore = wallMinuteAt(window, fromMs) - DST_MARGIN_MINUTES;
  const periods: Period[] = [];
  const firstDay = Math.floor(notBefore / MINUTES_PER_DAY) - 1;
  for (let day = firstDay; day <= firstDay + SEARCH_DAYS && periods.length < count; day++) {
    if (!days.includes(weekday(day))) {
      continue;
    }
    const occurrence = weeklyOccurrence(day, start, end);
    if (occurrence.end <= notBefore) {
      continue;
    }
    for (const [realStart, realEnd] of realIntervals(
      window.timeZone,
      occurrence.start,
      occurrence.end,
    )) {
      if (realEnd > fromMinute) {
        periods.push({
          start: new Date(realStart * MS_PER_MINUTE),
          end: new Date(realEnd * MS_PER_MINUTE),
        });
      }
    }
  }
  return periods.slice(0, count);
}

/** UTC offset in minutes at a real minute (minutes since the epoch). */
function offsetAt(timeZone: string, realMinute: number): number {
  return wallMinute(timeZone, realMinute * MS_PER_MINUTE) - realMinute;
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
