/** IAM policy documents as plain data, so tests can read every statement. */

/** One IAM statement. `Action` is always a list of named actions: never `"*"`. */
export interface Statement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  /** Resource policies: `"*"` (everyone: only in a Deny here) or `{ Service | AWS: … }`. */
  Principal?: "*" | Record<string, string | string[]>;
  Action: string[];
  Resource?: string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/**
 * Serializes a policy document, refusing wildcards that would defeat least privilege: an action
 * of `*` or `service:*`, or a statement without resources (except trust policies).
 */
export function policyDocument(statements: Statement[]): string {
  for (const s of statements) {
    for (const action of s.Action) {
      if (action === "*" || action.endsWith(":*")) {
        throw new Error(`IAM statement ${s.Sid ?? "(unnamed)"}: wildcard action "${action}"`);
      }
    }
    if (!s.Principal && (!s.Resource || s.Resource.length === 0)) {
      throw new Error(`IAM statement ${s.Sid ?? "(unnamed)"}: no resources`);
    }
  }
  return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}
