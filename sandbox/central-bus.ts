/**
 * The central bus's door (issue 14), as the sandbox plays it: an event of a pipeline outside the
 * notifier's own account reaches the events queue only through the central bus, and EventBridge
 * refuses a source account's `PutEvents` that the bus policy does not allow (AccessDeniedException
 * at the source's forwarding rule, which retries and gives up: EventBridge user guide, "Sending
 * and receiving events between AWS accounts"). The policy is the one the program declared
 * (infra/central-bus.ts `busPolicyStatements`): the accounts' root principals, or `*` with
 * `aws:PrincipalOrgID`. The sandbox does not know an organization's members, so an organization
 * grant admits every account: exactly the case the fan-out's own check (handlers/events/
 * sources.ts `sourceRefusal`) is there for, with a region nobody configured.
 */

interface Statement {
  Effect?: string;
  Principal?: string | { AWS?: string | string[] };
  Action?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

const asList = (v: string | string[] | undefined): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v];

/**
 * Why the central bus refuses events put by `account`, or undefined when its policy admits them.
 * `policy`: the declared `EventBusPolicy` document (JSON); undefined: the stack has no central
 * bus, so only the home account's events (on its default bus) reach the notifier.
 */
export function centralBusRefusal(policy: string | undefined, account: string): string | undefined {
  if (policy === undefined)
    return `account ${account}: the stack declares no central bus (config key sources), so no other account can put events to the notifier`;
  let statements: Statement[];
  try {
    const doc = JSON.parse(policy) as { Statement?: Statement | Statement[] };
    statements = Array.isArray(doc.Statement)
      ? doc.Statement
      : doc.Statement
        ? [doc.Statement]
        : [];
  } catch {
    return `the central bus policy is not JSON`;
  }
  const admits = statements.some((s) => {
    if (s.Effect !== "Allow" || !asList(s.Action).includes("events:PutEvents")) return false;
    if (s.Principal === "*") return Boolean(s.Condition?.StringEquals?.["aws:PrincipalOrgID"]);
    const principals = asList(typeof s.Principal === "object" ? s.Principal.AWS : undefined);
    return principals.some((p) => p === account || p.endsWith(`:iam::${account}:root`));
  });
  return admits
    ? undefined
    : `EventBridge refused PutEvents from account ${account}: the central bus policy does not admit it (AccessDeniedException at the source's forwarding rule)`;
}
