/**
 * Deploy-time checks of the downtime windows in stack config: the schema's loose window shape to a
 * `DowntimeWindow`, and every problem of a window in words. Runs at `pulumi preview`, never in a
 * Lambda; the run-time semantics are in handlers/downtime.ts.
 */
import {
  DAY_NAMES,
  MINUTES_PER_DAY,
  WEEK_IN_WORDS,
  clockMinutes,
  compileCron,
} from "../handlers/downtime";
import type { DowntimeWindow } from "../handlers/types";
import type { RawStackConfig } from "./schema";

/**
 * Longest allowed cron window duration: 7 days, in minutes. A product limit (a longer freeze is a
 * `once` window), which also bounds how far back the fan-out looks for a fire time.
 */
export const MAX_DURATION_MINUTES = 7 * MINUTES_PER_DAY;

/** ISO 8601 with an explicit offset: a bare local time would be read in the Lambda's zone (UTC). */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/** A downtime window as the schema parsed it (one loose shape for all kinds). */
export type RawDowntimeWindow = RawStackConfig["downtime"][number];

/**
 * One problem of a downtime window: where it is, as a path of config keys inside the window
 * (`["timeZone"]`, `["days", 2]` for the third day; `[]` for the window as a whole), and what is
 * wrong, in words that follow that key (`"Mars/Base" is not an IANA time zone`).
 */
export interface WindowProblem {
  path: (string | number)[];
  message: string;
}

/**
 * The downtime windows of a stack config, checked, with the problems found, each prefixed with
 * its exact config key (`key("downtime", i, "days", 2)`: `deploy-notifier:downtime[0].days[2]`).
 * Never throws.
 */
export function downtimeWindows(
  raw: RawDowntimeWindow[],
  key: (...path: (string | number)[]) => string,
): { windows: DowntimeWindow[]; problems: string[] } {
  const problems: string[] = [];
  const names = new Set<string>();
  const windows = raw.map((w, i) => {
    if (names.has(w.name)) {
      problems.push(`${key("downtime", i, "name")}: "${w.name}" is used twice`);
    }
    names.add(w.name);
    const forms = [w.days || w.start || w.end, w.cron, w.from || w.to].filter(Boolean).length;
    const window = toWindow(w);
    if (forms !== 1) {
      problems.push(
        `${key("downtime", i)}: set exactly one of days/start/end (weekly), cron/durationMinutes, or from/to (one-off)`,
      );
      return window;
    }
    for (const problem of validateWindow(window)) {
      problems.push(`${key("downtime", i, ...problem.path)}: ${problem.message}`);
    }
    return window;
  });
  return { windows, problems };
}

/**
 * The `DowntimeWindow` a raw window describes: cron when it has a cron expression, once when it has
 * from or to, weekly otherwise. Missing fields become empty values that `validateWindow` reports.
 */
export function toWindow(w: RawDowntimeWindow): DowntimeWindow {
  const base = { name: w.name, pipelines: w.pipelines, allowCritical: w.allowCritical };
  if (w.cron !== undefined) {
    return {
      ...base,
      kind: "cron",
      timeZone: w.timeZone ?? "UTC",
      cron: w.cron,
      durationMinutes: w.durationMinutes ?? 0,
    };
  }
  if (w.from !== undefined || w.to !== undefined) {
    return { ...base, kind: "once", from: w.from ?? "", to: w.to ?? "" };
  }
  return {
    ...base,
    kind: "weekly",
    timeZone: w.timeZone ?? "UTC",
    days: w.days ?? [],
    start: w.start ?? "",
    end: w.end ?? "",
  };
}

/** A problem at a field of the window (`path` inside the window, see `WindowProblem`). */
function at(path: (string | number)[], message: string): WindowProblem {
  return { path, message };
}

/**
 * Every problem of a downtime window from stack config, each with the field it is in, for config
 * validation (which prefixes the window's config key to `path`). Never throws; an empty list
 * means the window is valid.
 */
export function validateWindow(window: unknown): WindowProblem[] {
  if (typeof window !== "object" || window === null || Array.isArray(window)) {
    return [at([], "a downtime window must be an object")];
  }
  const w = window as Record<string, unknown>;
  const problems: WindowProblem[] = [];
  if (typeof w.name !== "string" || w.name.trim() === "") {
    problems.push(at(["name"], "must be a non-empty string"));
  }
  problems.push(...pipelineProblems(w.pipelines));
  if (w.allowCritical !== undefined && typeof w.allowCritical !== "boolean") {
    problems.push(at(["allowCritical"], "must be true or false"));
  }
  switch (w.kind) {
    case "weekly":
      problems.push(...timeZoneProblems(w.timeZone));
      problems.push(...dayProblems(w.days));
      problems.push(...clockProblems("start", w.start), ...clockProblems("end", w.end));
      break;
    case "cron":
      problems.push(...timeZoneProblems(w.timeZone));
      problems.push(...cronProblems(w.cron), ...durationProblems(w.durationMinutes));
      break;
    case "once":
      problems.push(...onceProblems(w.from, w.to));
      break;
    default:
      problems.push(
        at(["kind"], `must be "weekly", "cron" or "once", got ${JSON.stringify(w.kind)}`),
      );
  }
  return problems;
}

function pipelineProblems(pipelines: unknown): WindowProblem[] {
  if (pipelines === undefined) {
    return [];
  }
  if (!Array.isArray(pipelines) || !pipelines.every((entry) => typeof entry === "string")) {
    return [at(["pipelines"], "must be a list of pipeline names")];
  }
  const problems: WindowProblem[] = [];
  (pipelines as string[]).forEach((entry, j) => {
    if (entry === "") {
      problems.push(at(["pipelines", j], "must not be an empty name"));
    } else if (entry.indexOf("*") !== -1 && entry.indexOf("*") !== entry.length - 1) {
      problems.push(
        at(["pipelines", j], `"*" is only allowed at the end (a name prefix), got "${entry}"`),
      );
    }
  });
  return problems;
}

function timeZoneProblems(timeZone: unknown): WindowProblem[] {
  if (typeof timeZone !== "string" || timeZone === "") {
    return [at(["timeZone"], 'is required (an IANA time zone such as "Europe/Berlin")')];
  }
  try {
    // A throwaway formatter: validation must not fill the Lambda code's per-cold-start cache.
    new Intl.DateTimeFormat("en-US", { timeZone });
    return [];
  } catch (error: unknown) {
    if (error instanceof RangeError) {
      return [at(["timeZone"], `"${timeZone}" is not an IANA time zone`)];
    }
    const reason = error instanceof Error ? error.message : String(error);
    return [at(["timeZone"], `"${timeZone}": ${reason}`)];
  }
}

function dayProblems(days: unknown): WindowProblem[] {
  if (!Array.isArray(days) || days.length === 0) {
    return [at(["days"], `must be a non-empty list of ${WEEK_IN_WORDS}`)];
  }
  return days.flatMap((day: unknown, j) =>
    typeof day === "string" && DAY_NAMES.includes(day)
      ? []
      : [at(["days", j], `${JSON.stringify(day)} is not one of ${WEEK_IN_WORDS}`)],
  );
}

function clockProblems(field: "start" | "end", value: unknown): WindowProblem[] {
  if (typeof value === "string" && clockMinutes(value) !== undefined) {
    return [];
  }
  return [at([field], `${JSON.stringify(value)} is not a time HH:MM (00:00 to 23:59)`)];
}

/** The expression as the Lambda compiles it (same croner options), without a time zone. */
function cronProblems(cron: unknown): WindowProblem[] {
  if (typeof cron !== "string") {
    return [at(["cron"], "must be a five-field cron expression string")];
  }
  const count = cron.trim().split(/\s+/).length;
  if (count !== CRON_FIELDS.length) {
    return [at(["cron"], `"${cron}": needs five fields (${CRON_FIELDS.join(" ")}), got ${count}`)];
  }
  const compiled = compileCron(cron);
  if (typeof compiled !== "string") return [];
  const field = badCronField(cron);
  // croner names a bad field by its index and a rewritten value ("configuration entry 5
  // (1-FRX)"): name the field and quote what the user wrote instead.
  const reason = compiled.replace(/^configuration entry \d+ \([^)]*\) /, "").replace(/\.$/, "");
  return [at(["cron"], `"${cron}": ${field ? `${field}: ${reason.toLowerCase()}` : reason}`)];
}

const CRON_FIELDS = ["minute", "hour", "day-of-month", "month", "day-of-week"] as const;

/** `<name> field "<text>"` of the first of five fields croner refuses on its own, if any. */
function badCronField(cron: string): string | undefined {
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== CRON_FIELDS.length) return undefined;
  const index = fields.findIndex(
    (_, i) => typeof compileCron(fields.map((f, j) => (j === i ? f : "*")).join(" ")) === "string",
  );
  return index < 0 ? undefined : `${CRON_FIELDS[index]} field "${fields[index]}"`;
}

function durationProblems(duration: unknown): WindowProblem[] {
  if (
    typeof duration === "number" &&
    Number.isInteger(duration) &&
    duration > 0 &&
    duration <= MAX_DURATION_MINUTES
  ) {
    return [];
  }
  return [
    at(
      ["durationMinutes"],
      `must be a whole number from 1 to ${MAX_DURATION_MINUTES} (7 days), got ${JSON.stringify(duration)}`,
    ),
  ];
}

function onceProblems(from: unknown, to: unknown): WindowProblem[] {
  const problems = [...instantProblems("from", from), ...instantProblems("to", to)];
  if (problems.length === 0 && Date.parse(from as string) >= Date.parse(to as string)) {
    problems.push(at(["from"], `"${from as string}" must be before to "${to as string}"`));
  }
  return problems;
}

function instantProblems(field: "from" | "to", value: unknown): WindowProblem[] {
  if (typeof value === "string" && ISO_INSTANT.test(value) && !Number.isNaN(Date.parse(value))) {
    return [];
  }
  return [
    at(
      [field],
      `${JSON.stringify(value)} is not an ISO 8601 instant with an offset, such as "2026-05-01T22:00:00Z"`,
    ),
  ];
}
