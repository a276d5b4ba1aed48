/**
 * A small IAM policy evaluator: what the stand-ins use to decide whether a declared policy allows
 * a call. It implements the parts of the IAM policy language this program uses, after the IAM
 * User Guide's "Policy evaluation logic" and "IAM JSON policy elements reference":
 *
 * - an explicit `Deny` in any applicable statement wins; otherwise an `Allow` allows; otherwise
 *   the request is implicitly denied ("Determining whether a request is allowed or denied within
 *   an account");
 * - `Action` / `NotAction`: action names are case-insensitive and may use `*` and `?` wildcards
 *   ("IAM JSON policy elements: Action");
 * - `Resource` / `NotResource`: ARNs matched segment-wise with `*` (any characters, also across
 *   `:` and `/` within the last segments) and `?` (one character), case-sensitive ("IAM JSON
 *   policy elements: Resource");
 * - `Principal` of resource-based policies: `"*"`, `{ "AWS": … }`, `{ "Service": … }`;
 * - `Condition`: all operators of a statement and all keys of an operator must match (AND); the
 *   values listed for one key are alternatives (OR); condition key names are case-insensitive.
 *   Operators: StringEquals, StringNotEquals, StringLike, StringNotLike, ArnEquals, ArnLike,
 *   ArnNotEquals, ArnNotLike, Bool, Null, each with `…IfExists`, and `ForAllValues:` /
 *   `ForAnyValue:` for multivalued keys ("IAM JSON policy elements: Condition operators",
 *   "Single-valued vs. multivalued context keys"). An operator this file does not know denies
 *   (it never allows by accident).
 *
 * Not modelled (this program does not use them): policy variables, numeric/date/IP operators,
 * permissions boundaries, SCPs, session policies.
 */

/** One statement as it appears in a policy document (single values or lists). */
export interface PolicyStatement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Principal?: "*" | Record<string, string | string[]>;
  NotPrincipal?: "*" | Record<string, string | string[]>;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

/** A policy document: `Statement` may be one statement or a list. */
export interface PolicyDocument {
  Version?: string;
  Statement: PolicyStatement | PolicyStatement[];
}

/** Condition context: key → one value or a list (multivalued keys such as `dynamodb:LeadingKeys`). */
export type ConditionContext = Record<string, string | string[] | boolean | undefined>;

/** What is being asked. */
export interface AuthorizationRequest {
  /** `service:Operation`, e.g. `dynamodb:PutItem`. */
  action: string;
  /** The ARN of the resource the action works on. */
  resource: string;
  /** The caller, for resource-based policies: `{ Service: "events.amazonaws.com" }` or `{ AWS: arn }`. */
  principal?: { Service?: string; AWS?: string };
  context?: ConditionContext;
}

/** The result: `Allow`, an explicit `Deny` (naming the statement), or no statement allowed it. */
export interface Decision {
  decision: "Allow" | "ExplicitDeny" | "ImplicitDeny";
  /** Sid (or index) of the deciding statement. */
  statement?: string;
}

const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** IAM's wildcard match: `*` = any run of characters, `?` = one character. */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const source = pattern
    .split("")
    .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}$`, ignoreCase ? "si" : "s").test(value);
}

/**
 * Whether an ARN pattern matches an ARN. The first five segments (`arn:partition:service:region:
 * account`) are matched one by one, so a `*` there never spans a `:`; the resource part may
 * contain `:` and `/` and is matched as a whole ("ARN matching" in the Resource element page).
 */
export function arnMatch(pattern: string, arn: string): boolean {
  if (pattern === "*") return true;
  const p = pattern.split(":");
  const a = arn.split(":");
  if (p.length < 6 || a.length < 6) return wildcardMatch(pattern, arn);
  for (let i = 0; i < 5; i++) if (!wildcardMatch(p[i], a[i])) return false;
  return wildcardMatch(p.slice(5).join(":"), a.slice(5).join(":"));
}

/**
 * Whether a `Principal` element names the caller. `"*"` and `{ "AWS": "*" }` are everyone
 * ("AWS JSON policy elements: Principal", "All principals"); an account (`"123456789012"` or
 * `arn:aws:iam::123456789012:root`) names every principal of that account; a role ARN names the
 * sessions of that role (the caller's `AWS` is the role ARN here).
 */
function principalMatches(
  element: PolicyStatement["Principal"],
  caller: AuthorizationRequest["principal"],
): boolean {
  if (element === undefined) return true; // identity-based policy
  if (element === "*") return true;
  for (const [kind, values] of Object.entries(element)) {
    for (const v of list(values)) {
      if (kind === "AWS" && v === "*") return true;
      if (kind === "Service" && caller?.Service === v) return true;
      if (kind === "AWS" && caller?.AWS !== undefined) {
        const account = caller.AWS.split(":")[4];
        if (v === caller.AWS || v === account || v === `arn:aws:iam::${account}:root`) return true;
      }
    }
  }
  return false;
}

/** Case-insensitive lookup of a condition key. */
function contextValue(context: ConditionContext, key: string): string[] | undefined {
  const found = Object.keys(context).find((k) => k.toLowerCase() === key.toLowerCase());
  const value = found === undefined ? undefined : context[found];
  if (value === undefined) return undefined;
  return list(value).map(String);
}

type Matcher = (policyValue: string, requestValue: string) => boolean;

const MATCHERS: Record<string, Matcher> = {
  StringEquals: (p, r) => p === r,
  StringEqualsIgnoreCase: (p, r) => p.toLowerCase() === r.toLowerCase(),
  StringLike: (p, r) => wildcardMatch(p, r),
  // "ArnEquals and ArnLike behave identically" (Condition operators: ARN condition operators).
  ArnEquals: (p, r) => arnMatch(p, r),
  ArnLike: (p, r) => arnMatch(p, r),
  Bool: (p, r) => p.toLowerCase() === r.toLowerCase(),
};

const NEGATED: Record<string, string> = {
  StringNotEquals: "StringEquals",
  StringNotLike: "StringLike",
  ArnNotEquals: "ArnEquals",
  ArnNotLike: "ArnLike",
};

/** One operator over one key: whether the condition holds. */
function conditionHolds(operator: string, key: string, raw: unknown, context: ConditionContext) {
  const policyValues = list(raw as string | string[]).map(String);
  const requestValues = contextValue(context, key);
  let op = operator;
  let set: "ForAllValues" | "ForAnyValue" | undefined;
  const qualifier = /^(ForAllValues|ForAnyValue):(.*)$/.exec(op);
  if (qualifier) {
    set = qualifier[1] as "ForAllValues" | "ForAnyValue";
    op = qualifier[2];
  }
  const ifExists = op.endsWith("IfExists");
  if (ifExists) op = op.slice(0, -"IfExists".length);
  if (op === "Null") {
    const isNull = requestValues === undefined || requestValues.length === 0;
    return policyValues.some((v) => (v.toLowerCase() === "true") === isNull);
  }
  const negated = NEGATED[op];
  const matcher = MATCHERS[negated ?? op];
  if (!matcher) return false; // unknown operator: never allow by accident
  const one = (r: string) => {
    const hit = policyValues.some((p) => matcher(p, r));
    return negated ? !hit : hit;
  };
  if (requestValues === undefined || requestValues.length === 0) {
    // ForAllValues over an empty set is true ("Multivalued context keys"); IfExists skips.
    if (set === "ForAllValues" || ifExists) return true;
    return negated !== undefined && set === undefined;
  }
  if (set === "ForAllValues") return requestValues.every(one);
  if (set === "ForAnyValue") return requestValues.some(one);
  return negated ? requestValues.every(one) : requestValues.some(one);
}

function conditionsHold(statement: PolicyStatement, context: ConditionContext): boolean {
  for (const [operator, keys] of Object.entries(statement.Condition ?? {})) {
    for (const [key, value] of Object.entries(keys)) {
      if (!conditionHolds(operator, key, value, context)) return false;
    }
  }
  return true;
}

/** Whether one statement applies to the request (its effect then counts). */
export function statementApplies(statement: PolicyStatement, req: AuthorizationRequest): boolean {
  if (!principalMatches(statement.Principal, req.principal)) return false;
  if (
    statement.NotPrincipal !== undefined &&
    principalMatches(statement.NotPrincipal, req.principal)
  )
    return false;
  const actionHit = (patterns: string[]) =>
    patterns.some((a) => wildcardMatch(a, req.action, true));
  if (statement.Action !== undefined && !actionHit(list(statement.Action))) return false;
  if (statement.NotAction !== undefined && actionHit(list(statement.NotAction))) return false;
  if (statement.Action === undefined && statement.NotAction === undefined) return false;
  const resourceHit = (patterns: string[]) => patterns.some((r) => arnMatch(r, req.resource));
  if (statement.Resource !== undefined && !resourceHit(list(statement.Resource))) return false;
  if (statement.NotResource !== undefined && resourceHit(list(statement.NotResource))) return false;
  return conditionsHold(statement, req.context ?? {});
}

/**
 * Evaluates the request against policies (identity-based, or one resource-based policy): an
 * explicit Deny in any of them wins, then any Allow, else an implicit deny.
 */
export function evaluatePolicies(policies: PolicyDocument[], req: AuthorizationRequest): Decision {
  let allow: string | undefined;
  for (const policy of policies) {
    const statements = list(policy.Statement);
    for (let index = 0; index < statements.length; index++) {
      const statement = statements[index];
      if (!statementApplies(statement, req)) continue;
      const id = statement.Sid ?? `#${index}`;
      if (statement.Effect === "Deny") return { decision: "ExplicitDeny", statement: id };
      allow ??= id;
    }
  }
  return allow === undefined
    ? { decision: "ImplicitDeny" }
    : { decision: "Allow", statement: allow };
}

/** {@link evaluatePolicies} under its short name. */
export const evaluate = evaluatePolicies;
