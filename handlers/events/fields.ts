/**
 * The parser's building blocks: failures that carry their kind, and lenient readers of single
 * fields. Readers take the documented shape (handlers/contracts/codepipeline.ts) with every value
 * `unknown`, so a key name is checked by the compiler and a value by the reader.
 */
import { MAX_ID_CHARS } from "./model";

/** A documented shape as received: every key optional, every value unchecked. */
export type Unchecked<T> = { [K in keyof T]?: unknown };

/** Thrown inside the parser only; turned into a failed ParseResult at its boundary. */
export type ParseFailure = Error & { parseFailure: "malformed" | "foreign" };

/** Throws a {@link ParseFailure} (`malformed` unless said otherwise) whose message is `reason`. */
export function fail(reason: string, kind: "malformed" | "foreign" = "malformed"): never {
  throw Object.assign(new Error(reason), { parseFailure: kind }) as ParseFailure;
}

/** True when `err` was thrown by {@link fail}. */
export function isParseFailure(err: unknown): err is ParseFailure {
  return err instanceof Error && "parseFailure" in err;
}

/** The JSON type of a value, for reasons: "null", "array", "string", … */
export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/** True for a JSON object (not null, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Quotes a value for a reason, short enough to never flood a log line. */
export function quote(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}

/** Cuts at `max` code units without splitting a surrogate pair. */
export function cut(text: string, max: number): string {
  let end = max;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return text.slice(0, end);
}

/**
 * A required identifier: a non-empty string of at most {@link MAX_ID_CHARS} after trimming.
 * Fails with a reason that names `path` otherwise (never truncates: identifiers key the ledger).
 */
export function requiredId<T extends object>(obj: T, key: keyof T & string, path: string): string {
  const value: unknown = obj[key];
  if (value === undefined || value === null) fail(`${path}: missing`);
  if (typeof value !== "string") fail(`${path}: expected a string, got ${typeName(value)}`);
  const trimmed = value.trim();
  if (trimmed === "") fail(`${path}: empty`);
  if (trimmed.length > MAX_ID_CHARS) fail(`${path}: longer than ${MAX_ID_CHARS} characters`);
  return trimmed;
}

/**
 * An optional string, trimmed, cut to `max` (recording `path` in `truncated`). A value of the
 * wrong type is dropped rather than rejecting the event: a notification without, say, the action
 * provider is still worth sending.
 */
export function optionalString<T extends object>(
  obj: T,
  key: keyof T & string,
  path: string,
  max: number,
  truncated: string[],
): string | undefined {
  const value: unknown = obj[key];
  if (typeof value !== "string") return undefined;
  const trimmed = value.trim();
  if (trimmed === "") return undefined;
  if (trimmed.length <= max) return trimmed;
  truncated.push(path);
  return cut(trimmed, max);
}

/** `3`, `3.0`, `"3"` and `"3.0"` are all 3; anything else is absent. */
export function optionalNumber(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value === "string" && /^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return undefined;
}

/** Drops keys whose value is undefined, so results compare and snapshot cleanly. */
export function compact<T extends object>(obj: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) {
    if (value !== undefined) out[key] = value;
  }
  return out as T;
}
