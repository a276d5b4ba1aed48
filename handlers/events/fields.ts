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
  return JSON.stringify(value.length > 64 ? `${cut(value, 64)}…` : value);
}

/** A lone UTF-16 surrogate: a high one not followed by a low one, or a low one without a high. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * The bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): invisible
 * characters that reorder the text after them as displayed, so that a commit message or a
 * summary can read differently from what it says ("Trojan Source", CVE-2021-42574; Unicode
 * UAX #9 §2.1–2.2). The marks LRM, RLM and ALM reorder nothing beyond neutral characters and
 * stay, as right-to-left scripts need no control characters to display.
 */
const BIDI_CONTROL = /[\u202A-\u202E\u2066-\u2069]/g;

/**
 * `text` as well-formed Unicode that displays as it reads: every lone surrogate (half an emoji,
 * e.g. `"\uD83D"` cut from 😀) replaced by U+FFFD, as `String.prototype.toWellFormed` does
 * (Node 20+, the nodejs22.x runtime; the regular expression stands in where it is missing), and
 * every bidirectional control ({@link BIDI_CONTROL}) shown as its code point, e.g. "[U+202E]", in
 * ASCII so that every medium shows it. Text with a lone surrogate is not Unicode: it cannot be
 * encoded as UTF-8, and SNS, DynamoDB and the receivers reject it or fail on it. Text with a
 * direction override displays to an approver reversed (`"\u202Eevil"` shows "live"). Other text comes
 * back unchanged (the same string).
 */
export function wellFormed(text: string): string {
  const s = text as string & { toWellFormed?: () => string };
  const whole =
    typeof s.toWellFormed === "function"
      ? s.toWellFormed()
      : text.replace(LONE_SURROGATE, "\uFFFD");
  return whole.replace(BIDI_CONTROL, codePointLabel);
}

/** "[U+202E]": a character shown by its code point (4 hex digits, upper case). */
function codePointLabel(ch: string): string {
  return `[U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}]`;
}

/**
 * A `JSON.parse` reviver that makes every string value well-formed ({@link wellFormed}): a JSON
 * escape such as `"\ud83d"` parses to a lone surrogate even when the JSON text itself is ASCII.
 * Use it wherever untrusted JSON enters (the event body, Slack's payloads).
 */
export function wellFormedReviver(_key: string, value: unknown): unknown {
  return typeof value === "string" ? wellFormed(value) : value;
}

/**
 * Makes every string inside `value` (object values, array items, nested) well-formed, in place
 * ({@link wellFormed}); returns `value`. For text that arrives through an SDK rather than the
 * parser: the CodePipeline API's summaries and error messages (enrich.ts).
 */
export function wellFormInPlace<T>(value: T): T {
  if (value === null || typeof value !== "object") return value;
  const bag = value as Record<string, unknown>;
  for (const key of Object.keys(bag)) {
    const v = bag[key];
    if (typeof v === "string") bag[key] = wellFormed(v);
    else if (v !== null && typeof v === "object") wellFormInPlace(v);
  }
  return value;
}

/** Cuts at `max` code units without splitting a surrogate pair. */
export function cut(text: string, max: number): string {
  let end = max;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return text.slice(0, end);
}

/**
 * The longest start of `text` whose UTF-8 encoding is at most `maxBytes` bytes, cut between code
 * points (never inside a surrogate pair or a multi-byte character). Used where a limit is in bytes:
 * DynamoDB key sizes (store/keys.ts), SQS message size (fanout/requeue.ts).
 */
export function cutToUtf8Bytes(text: string, maxBytes: number): string {
  let used = 0;
  let end = 0;
  for (const ch of text) {
    used += Buffer.byteLength(ch, "utf8");
    if (used > maxBytes) break;
    end += ch.length;
  }
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
