/**
 * EventBridge event pattern matching, for routing sandbox events by the rule pattern the program
 * declared (the same JSON that `pulumi up` would hand EventBridge).
 *
 * Follows the EventBridge user guide, "Amazon EventBridge event patterns" and "Content filtering":
 * every field in the pattern must match; a field's list of values matches if any value matches
 * (and, for an array in the event, any element); nested objects match recursively; `$or` takes
 * alternatives at its level. Operators: `prefix`, `suffix`, `anything-but` (value, list, prefix,
 * suffix), `exists`, `numeric`, `equals-ignore-case`, `wildcard`. Anything else throws, naming the
 * operator, so a pattern the sandbox cannot evaluate is never silently mis-routed.
 */

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Whether `event` matches the EventBridge `pattern` (a parsed object or its JSON text).
 *
 * @throws when the pattern is not an object or uses an operator the sandbox does not implement.
 */
export function matchesPattern(pattern: unknown, event: unknown): boolean {
  const parsed: unknown = typeof pattern === "string" ? JSON.parse(pattern) : pattern;
  if (!isRecord(parsed)) throw new Error("event pattern: must be a JSON object");
  return matchObject(parsed, event);
}

function matchObject(pattern: Record<string, unknown>, value: unknown): boolean {
  for (const [key, sub] of Object.entries(pattern)) {
    if (key === "$or") {
      if (!Array.isArray(sub)) throw new Error("event pattern: $or must be an array");
      if (!sub.some((branch) => isRecord(branch) && matchObject(branch, value))) return false;
      continue;
    }
    const field = isRecord(value) ? value[key] : undefined;
    const present = isRecord(value) && key in value;
    if (Array.isArray(sub)) {
      if (!matchField(sub, field, present)) return false;
    } else if (isRecord(sub)) {
      // A nested pattern needs an object in the event.
      if (!isRecord(field) || !matchObject(sub, field)) return false;
    } else {
      throw new Error(`event pattern: value of "${key}" must be an array or an object`);
    }
  }
  return true;
}

/** One field: any matcher against any of the event's values (an event array is a set). */
function matchField(matchers: unknown[], field: unknown, present: boolean): boolean {
  const values: unknown[] = Array.isArray(field) ? field : [field];
  return matchers.some((matcher) => {
    if (isRecord(matcher) && "exists" in matcher) {
      return matcher.exists === (present && field !== undefined);
    }
    if (!present) return false;
    return values.some((v) => matchValue(matcher, v));
  });
}

function matchValue(matcher: unknown, value: unknown): boolean {
  if (!isRecord(matcher)) {
    // Exact match: strings and booleans by value, numbers numerically, null only null.
    if (typeof matcher === "number" && typeof value === "number") return matcher === value;
    return matcher === value;
  }
  const [operator, ...rest] = Object.keys(matcher);
  if (operator === undefined || rest.length > 0) {
    throw new Error(
      `event pattern: a matcher must have exactly one operator, got ${JSON.stringify(matcher)}`,
    );
  }
  const arg = matcher[operator] as Json;
  switch (operator) {
    case "prefix":
      if (isRecord(arg) && typeof arg["equals-ignore-case"] === "string") {
        return (
          typeof value === "string" &&
          value.toLowerCase().startsWith(arg["equals-ignore-case"].toLowerCase())
        );
      }
      return typeof value === "string" && typeof arg === "string" && value.startsWith(arg);
    case "suffix":
      if (isRecord(arg) && typeof arg["equals-ignore-case"] === "string") {
        return (
          typeof value === "string" &&
          value.toLowerCase().endsWith(arg["equals-ignore-case"].toLowerCase())
        );
      }
      return typeof value === "string" && typeof arg === "string" && value.endsWith(arg);
    case "equals-ignore-case":
      return (
        typeof value === "string" &&
        typeof arg === "string" &&
        value.toLowerCase() === arg.toLowerCase()
      );
    case "anything-but":
      return anythingBut(arg, value);
    case "numeric":
      return numeric(arg, value);
    case "wildcard":
      return typeof value === "string" && typeof arg === "string" && wildcard(arg).test(value);
    default:
      throw new Error(`event pattern: operator "${operator}" is not supported by the sandbox`);
  }
}

function anythingBut(arg: Json, value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (isRecord(arg)) {
    // { anything-but: { prefix: "x" } } and friends: true when the inner matcher does NOT match.
    return !matchValue(arg, value);
  }
  const excluded = Array.isArray(arg) ? arg : [arg];
  return !excluded.some((x) => x === value);
}

function numeric(arg: Json, value: unknown): boolean {
  if (typeof value !== "number" || !Array.isArray(arg) || arg.length % 2 !== 0) return false;
  for (let i = 0; i < arg.length; i += 2) {
    const op = arg[i];
    const bound = arg[i + 1];
    if (typeof bound !== "number") throw new Error("event pattern: numeric bound must be a number");
    const ok =
      op === "="
        ? value === bound
        : op === "<"
          ? value < bound
          : op === "<="
            ? value <= bound
            : op === ">"
              ? value > bound
              : op === ">="
                ? value >= bound
                : undefined;
    if (ok === undefined)
      throw new Error(`event pattern: numeric operator "${String(op)}" is not supported`);
    if (!ok) return false;
  }
  return true;
}

function wildcard(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
  return new RegExp(`^${escaped}$`, "s");
}
