/**
 * The policies that need more than one resource: alarm → topic → key, function URL → function,
 * function → log group, role → its policies. They run on the whole stack (`validateStack`), where
 * `props` are the resources' outputs (so ARNs are known; during a first preview some are not,
 * and @pulumi/policy then reports "can't run policy during preview" as advisory, and the policy
 * runs for real at `pulumi up`).
 */
import type { PolicyResource, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { grants, PolicyDocumentError, readStatements } from "./documents";
import { SIGNATURE_SECRET_ENV, TYPES } from "./policies";

/** The AWS managed SNS key: its policy cannot be changed, so CloudWatch can never use it. */
const AWS_MANAGED_SNS_KEY = /(^|:)alias\/aws\/sns$/;
const CLOUDWATCH = "cloudwatch.amazonaws.com";
/** What CloudWatch must be allowed on an alarm topic's key (SNS developer guide, "Enable compatibility between event sources from AWS services and encrypted topics"). */
const CLOUDWATCH_KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"];

function label(rule: string, r: PolicyResource): string {
  return `${rule}: ${r.type.split(":").pop()} "${r.name}"`;
}

/**
 * The resource of one of `types` whose output `props` includes `value`; else, when `dependent`
 * depends through `via` on exactly one resource of those types, that one.
 */
export function findResource(
  resources: readonly PolicyResource[],
  types: readonly string[],
  value: unknown,
  props: readonly string[],
  dependent?: { resource: PolicyResource; via: string },
): PolicyResource | undefined {
  const byValue = resources.find(
    (r) =>
      types.includes(r.type) &&
      props.some((p) => r.props[p] !== undefined && r.props[p] !== "" && r.props[p] === value),
  );
  if (byValue) return byValue;
  const deps = (dependent?.resource.propertyDependencies?.[dependent.via] ?? []).filter((d) =>
    types.includes(d.type),
  );
  return deps.length === 1 ? deps[0] : undefined;
}

/** The KMS key a topic's `kmsMasterKeyId` names (key ARN or id, alias name or ARN), if declared. */
function keyOf(
  resources: readonly PolicyResource[],
  topic: PolicyResource,
): PolicyResource | undefined {
  const keyId = topic.props.kmsMasterKeyId;
  const via = { resource: topic, via: "kmsMasterKeyId" };
  const alias = findResource(resources, [TYPES.kmsAlias], keyId, ["name", "arn"]);
  if (alias) {
    return findResource(
      resources,
      [TYPES.kmsKey],
      alias.props.targetKeyId,
      ["arn", "keyId", "id"],
      {
        resource: alias,
        via: "targetKeyId",
      },
    );
  }
  return findResource(resources, [TYPES.kmsKey], keyId, ["arn", "keyId", "id"], via);
}

/** The key's policy document: its own `policy`, or a `KeyPolicy` resource for it. */
function keyPolicyOf(resources: readonly PolicyResource[], key: PolicyResource): unknown {
  const separate = resources.find(
    (r) =>
      r.type === TYPES.kmsKeyPolicy &&
      [key.props.arn, key.props.keyId, key.props.id].includes(r.props.keyId),
  );
  return separate?.props.policy ?? key.props.policy;
}

/** Why CloudWatch cannot deliver to `topic`, or undefined when it can. */
function undeliverable(
  resources: readonly PolicyResource[],
  topic: PolicyResource,
): string | undefined {
  const keyId = topic.props.kmsMasterKeyId;
  if (keyId === undefined || keyId === null || keyId === "") return undefined;
  if (typeof keyId === "string" && AWS_MANAGED_SNS_KEY.test(keyId)) {
    return `is encrypted with the AWS managed key alias/aws/sns, which CloudWatch cannot use: use a customer managed key whose policy allows ${CLOUDWATCH}`;
  }
  const key = keyOf(resources, topic);
  if (!key)
    return `is encrypted with ${keyId}, a key this stack does not declare, so its policy cannot be checked`;
  let statements;
  try {
    statements = readStatements(keyPolicyOf(resources, key));
  } catch (err: unknown) {
    if (!(err instanceof PolicyDocumentError)) throw err;
    return `is encrypted with key "${key.name}", whose policy cannot be read (${err.message})`;
  }
  const missing = CLOUDWATCH_KEY_ACTIONS.filter(
    (action) => !statements.some((s) => s.services.includes(CLOUDWATCH) && grants(s, action)),
  );
  return missing.length > 0
    ? `is encrypted with key "${key.name}", whose policy does not allow ${CLOUDWATCH} ${missing.join(", ")}`
    : undefined;
}

/**
 * Every SNS action of every alarm reaches its topic: the topic is declared here, and if encrypted,
 * with a customer managed key whose policy lets CloudWatch `kms:Decrypt` and `kms:GenerateDataKey*`.
 */
export const alarmActionsDeliverable: StackValidationPolicy = {
  name: "alarm-actions-deliverable",
  description: "CloudWatch alarms notify SNS topics that CloudWatch can publish to (key policy).",
  enforcementLevel: "mandatory",
  validateStack: (args: StackValidationArgs, report) => {
    for (const alarm of args.resources.filter((r) => r.type === TYPES.metricAlarm)) {
      for (const via of ["alarmActions", "okActions", "insufficientDataActions"]) {
        for (const action of (alarm.props[via] ?? []) as string[]) {
          if (typeof action !== "string" || !action.includes(":sns:")) continue;
          const topic = findResource(args.resources, [TYPES.topic], action, ["arn"]);
          const problem = topic
            ? undeliverable(args.resources, topic)
            : "is not declared in this stack, so its encryption cannot be checked";
          if (problem) {
            const topicName = topic ? `topic "${topic.name}"` : `topic ${action}`;
            report(
              `${label("alarm-actions-deliverable", alarm)} ${via}: ${topicName} ${problem}`,
              alarm.urn,
            );
          }
        }
      }
    }
  },
};

/** Why the function behind a public URL is not one that verifies signatures, or undefined. */
function unverified(fn: PolicyResource): string | undefined {
  const problems: string[] = [];
  const env = (fn.props.environment?.variables ?? {}) as Record<string, unknown>;
  if (!env[SIGNATURE_SECRET_ENV]) {
    problems.push(
      `has no ${SIGNATURE_SECRET_ENV} (the Slack signing secret it verifies requests with)`,
    );
  }
  const reserved = fn.props.reservedConcurrentExecutions;
  if (!(Number.isInteger(reserved) && reserved >= 1)) {
    problems.push(
      "has no reserved concurrency (reservedConcurrentExecutions ≥ 1), so a flood of unsigned requests can take the account's concurrency",
    );
  }
  return problems.length > 0 ? problems.join("; ") : undefined;
}

/**
 * A function URL without IAM auth (`authorizationType: NONE`) fronts only a function that verifies
 * Slack signatures (it has {@link SIGNATURE_SECRET_ENV}) and has reserved concurrency.
 */
export const publicUrlVerifiesSignatures: StackValidationPolicy = {
  name: "public-url-verifies-signatures",
  description:
    "Function URLs with authorizationType NONE only front a signature-verifying function with reserved concurrency.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    for (const url of args.resources.filter((r) => r.type === TYPES.functionUrl)) {
      if (url.props.authorizationType !== "NONE") continue;
      const fn = findResource(
        args.resources,
        [TYPES.function],
        url.props.functionName,
        ["name", "arn"],
        {
          resource: url,
          via: "functionName",
        },
      );
      const problem = fn
        ? unverified(fn)
        : `is not declared in this stack, so it cannot be checked`;
      if (problem) {
        const fnName = fn ? `function "${fn.name}"` : `function ${url.props.functionName}`;
        report(
          `${label("public-url-verifies-signatures", url)} (authorizationType NONE): ${fnName} ${problem}`,
          url.urn,
        );
      }
    }
  },
};

/**
 * Every Lambda function logs to a log group the stack declares (`loggingConfig.logGroup` or
 * `/aws/lambda/<name>`); else Lambda creates one that keeps logs forever.
 */
export const functionLogGroups: StackValidationPolicy = {
  name: "function-log-group-declared",
  description: "Lambda functions log to a declared log group (which log-group-retention checks).",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const groups = new Set(
      args.resources.filter((r) => r.type === TYPES.logGroup).map((g) => g.props.name),
    );
    for (const fn of args.resources.filter((r) => r.type === TYPES.function)) {
      const group = fn.props.loggingConfig?.logGroup ?? `/aws/lambda/${fn.props.name}`;
      if (!groups.has(group)) {
        report(
          `${label("function-log-group-declared", fn)}: logs to ${group}, which this stack does not declare (Lambda would create it without retention)`,
          fn.urn,
        );
      }
    }
  },
};

/**
 * A role whose policies are managed inline on the Role (`inlinePolicies`, `managedPolicyArns`) gets
 * no separate RolePolicy or RolePolicyAttachment: the provider would fight over them (taken from
 * awsguard's `iam-role-no-policy-management-conflicts`).
 */
export const rolePolicyConflicts: StackValidationPolicy = {
  name: "iam-role-no-policy-management-conflicts",
  description: "Roles are not managed both inline and through RolePolicy / RolePolicyAttachment.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const attached = args.resources.filter(
      (r) => r.type === TYPES.rolePolicy || r.type === TYPES.rolePolicyAttachment,
    );
    for (const policy of attached) {
      const role = findResource(
        args.resources,
        [TYPES.role],
        policy.props.role,
        ["name", "id", "arn"],
        {
          resource: policy,
          via: "role",
        },
      );
      if (!role) continue;
      const inline = (role.props.inlinePolicies ?? []).length > 0;
      const managed = (role.props.managedPolicyArns ?? []).length > 0;
      if (inline || managed) {
        report(
          `${label("iam-role-no-policy-management-conflicts", policy)}: attaches to role "${role.name}", which also declares ${inline ? "inlinePolicies" : "managedPolicyArns"}`,
          policy.urn,
        );
      }
    }
  },
};
