/**
 * The role the notifier's two Lambdas assume in a source account (issue 14) for their CodePipeline
 * calls there: enrichment reads (handlers/enrich.ts: GetPipeline, GetPipelineExecution,
 * ListActionExecutions), the reminder scan's ListActionExecutions, and approvals
 * (handlers/approval: GetPipelineState, ListActionExecutions, GetPipelineExecution, PutApprovalResult), on that
 * account's configured pipelines only; approvals only on the pipelines that have them.
 *
 * Its name is the same in every source account (`<project>-<stack>-source-access`), so the
 * Lambdas' `SOURCE_ROLES` and `sts:AssumeRole` grants are known before the role exists
 * (infra/sources.ts) and no dependency cycle runs between the Lambda roles (trusted here) and
 * this role (named in their policies).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { PipelineRule } from "../handlers/types";
import { componentType, type Tags } from "./component";
import { pipelineArns } from "./patterns";
import { policyDocument, type Statement } from "./policies";

/** Inline policy budget for pipeline ARNs, per statement (IAM: 10,240 characters per role). */
const PIPELINE_ARN_BUDGET = 4000;

/** What the Lambdas read in a source account (the fan-out's `Enrichment` statement, grants.ts). */
export const SOURCE_READ_ACTIONS = [
  "codepipeline:GetPipeline",
  "codepipeline:GetPipelineExecution",
  "codepipeline:ListActionExecutions",
];

/** What the approval does in a source account (the approval's `Approvals` statement, grants.ts). */
export const SOURCE_APPROVAL_ACTIONS = [
  "codepipeline:GetPipelineState",
  "codepipeline:ListActionExecutions",
  "codepipeline:GetPipelineExecution",
  "codepipeline:ListPipelineExecutions",
  "codepipeline:PutApprovalResult",
];

/** The role's name in every source account. IAM role names: 1-64 of `[\w+=,.@-]`. */
export function sourceAccessRoleName(project: string, stack: string): string {
  return `${project}-${stack}-source-access`.slice(0, 64);
}

/** `arn:<partition>:iam::<account>:role/<name>`. */
export function sourceAccessRoleArn(partition: string, account: string, name: string): string {
  return `arn:${partition}:iam::${account}:role/${name}`;
}

/**
 * The role's statements: reads on the account's configured pipelines in its regions, approvals
 * on those with Slack approvals. Pipeline ARNs folded like the Lambdas' own (patterns.ts).
 */
export function sourceAccessStatements(
  partition: string,
  account: string,
  regions: string[],
  rulesByRegion: (region: string) => PipelineRule[],
): Statement[] {
  const arns = (approvals: boolean) =>
    regions.flatMap((region) => {
      const rules = rulesByRegion(region).filter((r) => !approvals || r.approvals);
      if (rules.length === 0) return [];
      const prefix = `arn:${partition}:codepipeline:${region}:${account}:`;
      return pipelineArns(rules, prefix, PIPELINE_ARN_BUDGET / regions.length).arns;
    });
  const reads = arns(false);
  const approvals = arns(true);
  return [
    ...(reads.length > 0
      ? [
          {
            Sid: "Enrichment",
            Effect: "Allow" as const,
            Action: SOURCE_READ_ACTIONS,
            Resource: reads,
          },
        ]
      : []),
    ...(approvals.length > 0
      ? [
          {
            Sid: "Approvals",
            Effect: "Allow" as const,
            Action: SOURCE_APPROVAL_ACTIONS,
            Resource: approvals,
          },
        ]
      : []),
  ];
}

/** Inputs of {@link SourceAccess}. */
export interface SourceAccessArgs {
  /** {@link sourceAccessRoleName}. */
  roleName: string;
  /** The notifier's Lambda roles (fan-out, approval), the only principals that may assume it. */
  trustedRoleArns: pulumi.Input<string>[];
  /** The role's statements ({@link sourceAccessStatements}); at least one. */
  statements: Statement[];
  tags: Tags;
}

/**
 * `<name>` (the role, assumable only by the trusted roles) and `<name>-policy` (its one inline
 * policy). Declare it with the source account's provider.
 */
export class SourceAccess extends pulumi.ComponentResource {
  readonly role: aws.iam.Role;
  readonly policy: aws.iam.RolePolicy;

  constructor(name: string, args: SourceAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentType("SourceAccess"), name, {}, opts);
    if (args.statements.length === 0) {
      throw new pulumi.ResourceError(`SourceAccess ${name}: no pipelines to grant access to`, this);
    }
    const child: pulumi.CustomResourceOptions = { parent: this };
    this.role = new aws.iam.Role(
      name,
      {
        name: args.roleName,
        assumeRolePolicy: pulumi.all(args.trustedRoleArns).apply((arns) =>
          policyDocument([
            {
              Sid: "NotifierLambdas",
              Effect: "Allow",
              Principal: { AWS: arns.length === 1 ? arns[0] : arns },
              Action: ["sts:AssumeRole"],
            },
          ]),
        ),
        // The Lambdas' sessions last as long as one invocation needs (SDK default: 1 hour).
        maxSessionDuration: 3600,
        tags: args.tags,
      },
      child,
    );
    this.policy = new aws.iam.RolePolicy(
      `${name}-policy`,
      { role: this.role.id, policy: policyDocument(args.statements) },
      child,
    );
    this.registerOutputs({ roleArn: this.role.arn });
  }
}
