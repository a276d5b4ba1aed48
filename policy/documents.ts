/**
 * Reading IAM and KMS policy documents as resources declare them: a JSON string (what
 * `aws.iam.RolePolicy.policy` and friends hold) or an already-parsed object.
 */

/** One statement, with `Action`, `Resource` and `Principal` normalized to lists. */
export interface PolicyStatement {
  sid: string;
  effect: string;
  actions: string[];
  /** Set when the statement uses `NotAction`: everything except these. */
  notActions: string[];
  resources: string[];
  /** Service principals (`Principal.Service`), e.g. `cloudwatch.amazonaws.com`. */
  services: string[];
  /** `Principal: "*"` or `Principal.AWS: "*"`. */
  anyone: boolean;
}

/**
 * A policy document the pack cannot read. Only this error becomes a violation: anything else
 * (notably @pulumi/policy's `UnknownValueError` for a value not known during preview) propagates,
 * so the library reports it as it should.
 */
export class PolicyDocumentError extends Error {}

function list(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

/**
 * Parses a policy document. Throws a {@link PolicyDocumentError} saying what is wrong when it is
 * not JSON or has no `Statement`: a document the pack cannot read is a violation, never a pass.
 */
export function readStatements(document: unknown): PolicyStatement[] {
  let doc: any = document;
  if (typeof doc === "string") {
    try {
      doc = JSON.parse(doc);
    } catch (err: unknown) {
      if (!(err instanceof SyntaxError)) throw err;
      throw new PolicyDocumentError(`the policy document is not JSON (${err.message})`, {
        cause: err,
      });
    }
  }
  if (!doc || typeof doc !== "object" || doc.Statement === undefined) {
    throw new PolicyDocumentError("the policy document has no Statement");
  }
  const statements = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  return statements.map((s: any, i: number): PolicyStatement => {
    const principal = s?.Principal;
    const services =
      principal && typeof principal === "object" ? list(principal.Service) : ([] as string[]);
    const anyone =
      principal === "*" ||
      (principal && typeof principal === "object" && list(principal.AWS).includes("*"));
    return {
      sid: typeof s?.Sid === "string" && s.Sid !== "" ? s.Sid : `#${i}`,
      effect: String(s?.Effect ?? ""),
      actions: list(s?.Action),
      notActions: list(s?.NotAction),
      resources: list(s?.Resource),
      services,
      anyone: Boolean(anyone),
    };
  });
}

/** Whether an IAM action string contains a wildcard (`*`, `s3:*`, `dynamodb:Get*`, `?`). */
export function isWildcardAction(action: string): boolean {
  return action.includes("*") || action.includes("?");
}

/**
 * Whether an allow statement grants `action` (case-insensitive, as IAM compares action names,
 * with `*` and `?` wildcards in the granted pattern).
 */
export function grants(statement: PolicyStatement, action: string): boolean {
  if (statement.effect !== "Allow") return false;
  return statement.actions.some((pattern) => {
    const re = new RegExp(
      `^${pattern
        .split("")
        .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
        .join("")}$`,
      "i",
    );
    return re.test(action);
  });
}
