/**
 * The central event bus (issue 14): a custom EventBridge bus in the notifier's own account and
 * region that the source accounts' forwarding rules (infra/forwarding.ts) put their CodePipeline
 * events on, with a bus policy that admits exactly the configured accounts, or every account of
 * one AWS Organization by `aws:PrincipalOrgID`.
 *
 * The notifier's own account and region keep the default-bus rule `codepipeline` of
 * infra/event-intake.ts: AWS service events on the default bus cost nothing, whereas an event
 * forwarded to another bus is billed as a custom event (Amazon EventBridge pricing), and a stack
 * without sources keeps exactly the resources it had. The intake reads the central bus with a
 * second rule of the same pattern (`codepipeline-central`).
 *
 * Resource count: the bus and its policy, whatever the number of pipelines or accounts.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { componentType, type Tags } from "./component";
import { policyDocument, type Statement } from "./policies";

/**
 * Largest event bus policy, in characters (Amazon EventBridge quotas, "Event bus policy size":
 * 10,240, adjustable; PutPermission: "The permission policy on the event bus cannot exceed 10 KB").
 */
export const BUS_POLICY_MAX_CHARS = 10_240;

/** Inputs of {@link CentralBus}. */
export interface CentralBusArgs {
  /** The bus's name (event bus names: 1-256 of `[/\.\-_A-Za-z0-9]`, not `default`). */
  busName: string;
  /** The source accounts the bus admits (12-digit ids); ignored for the policy with an organization. */
  accounts: string[];
  /** Admit every account of this organization instead (`o-…`). */
  organizationId?: string;
  /** `aws`, `aws-cn` or `aws-us-gov`: for the accounts' root principal ARNs. */
  partition: pulumi.Input<string>;
  tags: Tags;
}

/**
 * The bus policy's statements: `events:PutEvents` on the bus for the accounts (their root
 * principals: any identity of the account whose own IAM policy allows it, which is the forwarding
 * role), or for `*` restricted to the organization by `aws:PrincipalOrgID` (EventBridge user
 * guide, "Permissions for event buses": organization example; PutPermission: Principal "*" with
 * the organization id as the condition). Nothing else: no PutRule / PutTargets for anyone.
 */
export function busPolicyStatements(
  busArn: string,
  accounts: string[],
  partition: string,
  organizationId?: string,
): Statement[] {
  if (organizationId) {
    return [
      {
        Sid: "OrganizationPutEvents",
        Effect: "Allow",
        Principal: "*",
        Action: ["events:PutEvents"],
        Resource: [busArn],
        Condition: { StringEquals: { "aws:PrincipalOrgID": organizationId } },
      },
    ];
  }
  return [
    {
      Sid: "SourceAccountsPutEvents",
      Effect: "Allow",
      Principal: { AWS: [...accounts].sort().map((a) => `arn:${partition}:iam::${a}:root`) },
      Action: ["events:PutEvents"],
      Resource: [busArn],
    },
  ];
}

/**
 * The bus policy document, refused when it would exceed {@link BUS_POLICY_MAX_CHARS} (with the
 * advice to admit the organization instead, whose policy has one fixed size).
 */
export function busPolicyDocument(
  busArn: string,
  accounts: string[],
  partition: string,
  organizationId?: string,
): string {
  const doc = policyDocument(busPolicyStatements(busArn, accounts, partition, organizationId));
  if (doc.length > BUS_POLICY_MAX_CHARS) {
    throw new Error(
      `the central bus policy for ${accounts.length} accounts is ${doc.length} characters, over EventBridge's ${BUS_POLICY_MAX_CHARS}: set deploy-notifier:organizationId to admit the organization instead`,
    );
  }
  return doc;
}

/** `<bus>` and `<bus>-policy`: the central bus and who may put events on it. */
export class CentralBus extends pulumi.ComponentResource {
  /** The custom bus the forwarding rules target. */
  readonly bus: aws.cloudwatch.EventBus;
  /** Its resource policy (PutEvents for the sources). */
  readonly policy: aws.cloudwatch.EventBusPolicy;

  constructor(name: string, args: CentralBusArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentType("CentralBus"), name, {}, opts);
    if (!/^[/.\-_A-Za-z0-9]{1,256}$/.test(args.busName) || args.busName === "default") {
      throw new pulumi.ResourceError(
        `CentralBus ${name}: busName "${args.busName}" must be 1-256 of / . - _ A-Z a-z 0-9, not "default"`,
        this,
      );
    }
    if (args.accounts.length === 0 && !args.organizationId) {
      throw new pulumi.ResourceError(`CentralBus ${name}: no accounts and no organization`, this);
    }
    // New with issue 14: never declared at the stack's top, so nothing to alias.
    const child: pulumi.CustomResourceOptions = { parent: this };
    this.bus = new aws.cloudwatch.EventBus(name, { name: args.busName, tags: args.tags }, child);
    this.policy = new aws.cloudwatch.EventBusPolicy(
      `${name}-policy`,
      {
        eventBusName: this.bus.name,
        policy: pulumi
          .all([this.bus.arn, args.partition])
          .apply(([arn, partition]) =>
            busPolicyDocument(arn, args.accounts, partition, args.organizationId),
          ),
      },
      child,
    );
    this.registerOutputs({ busArn: this.bus.arn, busName: this.bus.name });
  }
}
