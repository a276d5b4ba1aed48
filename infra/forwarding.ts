/**
 * Forwarding from one source account and region to the central bus (issue 14): a rule on that
 * region's default bus that matches the CodePipeline events the notifier cares about, targeting
 * the central bus by ARN, with the role EventBridge assumes for that cross-account bus target.
 *
 * EventBridge user guide, "Sending and receiving events between AWS accounts": the sender's rule
 * targets the receiver's event bus ARN; for a bus target in another account the rule needs an
 * execution role in the sender's account that `events.amazonaws.com` can assume and that allows
 * `events:PutEvents` on the receiving bus (required when the receiver admits an organization:
 * PutPermission, "accounts in that organization must specify a RoleArn"; recommended always:
 * "Permissions for event buses"). The receiving bus's policy must admit the account
 * (infra/central-bus.ts).
 *
 * The program declares one per configured (account, region) through that account's provider
 * (infra/sources.ts). A team that does not let the notifier's deployer assume a role in its
 * account deploys the same component in its own Pulumi program, with its own provider:
 *
 * ```ts
 * import { CodePipelineForwarding } from "deploy-notifier/infra/forwarding";
 * new CodePipelineForwarding("to-notifier", {
 *   centralBusArn: "arn:aws:events:eu-west-1:111122223333:event-bus/deploy-notifier-prod",
 *   eventPattern: JSON.stringify({ source: ["aws.codepipeline"] }),
 *   tags: { team: "payments" },
 * });
 * ```
 * The central bus is `arn:<partition>:events:<region>:<notifier account>:event-bus/<project>-<stack>`;
 * the generated pattern for an (account, region) is the `eventPattern` of the rule
 * `source-<account>-<region>` in `npm run preview -- --json` (a source listed with a
 * `deployRoleArn` for the preview), or `{"source":["aws.codepipeline"]}` to forward everything.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { componentType, type Tags } from "./component";
import { policyDocument } from "./policies";
import { EVENT_PATTERN_MAX_CHARS } from "./patterns";

/** Inputs of {@link CodePipelineForwarding}. */
export interface CodePipelineForwardingArgs {
  /** `arn:<partition>:events:<region>:<account>:event-bus/<name>`: the notifier's central bus. */
  centralBusArn: pulumi.Input<string>;
  /** The rule's event pattern (JSON text, at most EventBridge's pattern size quota). */
  eventPattern: string;
  /** The rule's description. */
  description?: string;
  tags: Tags;
}

/** An event bus ARN, the only kind of target this component forwards to. */
const EVENT_BUS_ARN =
  /^arn:aws(-cn|-us-gov)?:events:[a-z0-9-]+:[0-9]{12}:event-bus\/[/.\-_A-Za-z0-9]+$/;

/**
 * `<name>` (the rule on the default bus), `<name>-role` (assumable by EventBridge only),
 * `<name>-put-events` (its one inline policy: `events:PutEvents` on the central bus) and
 * `<name>-to-central` (the target). Children inherit the component's provider: pass
 * `{ provider }` (one per account and region) in the options.
 */
export class CodePipelineForwarding extends pulumi.ComponentResource {
  readonly rule: aws.cloudwatch.EventRule;
  readonly role: aws.iam.Role;
  readonly rolePolicy: aws.iam.RolePolicy;
  readonly target: aws.cloudwatch.EventTarget;

  constructor(
    name: string,
    args: CodePipelineForwardingArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super(componentType("CodePipelineForwarding"), name, {}, opts);
    if (args.eventPattern.length > EVENT_PATTERN_MAX_CHARS) {
      throw new pulumi.ResourceError(
        `CodePipelineForwarding ${name}: eventPattern is ${args.eventPattern.length} characters, over EventBridge's ${EVENT_PATTERN_MAX_CHARS}`,
        this,
      );
    }
    const child: pulumi.CustomResourceOptions = { parent: this };
    const { tags } = args;
    const busArn = pulumi.output(args.centralBusArn).apply((arn) => {
      if (!EVENT_BUS_ARN.test(arn)) {
        throw new pulumi.ResourceError(
          `CodePipelineForwarding ${name}: centralBusArn "${arn}" is not an event bus ARN`,
          this,
        );
      }
      return arn;
    });
    this.rule = new aws.cloudwatch.EventRule(
      name,
      {
        description: args.description ?? "deploy-notifier: CodePipeline events to the central bus",
        eventPattern: args.eventPattern,
        tags,
      },
      child,
    );
    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        assumeRolePolicy: policyDocument([
          {
            Effect: "Allow",
            Principal: { Service: "events.amazonaws.com" },
            Action: ["sts:AssumeRole"],
          },
        ]),
        tags,
      },
      child,
    );
    this.rolePolicy = new aws.iam.RolePolicy(
      `${name}-put-events`,
      {
        role: this.role.id,
        policy: busArn.apply((arn) =>
          policyDocument([
            {
              Sid: "PutEventsOnCentralBus",
              Effect: "Allow",
              Action: ["events:PutEvents"],
              Resource: [arn],
            },
          ]),
        ),
      },
      child,
    );
    this.target = new aws.cloudwatch.EventTarget(
      `${name}-to-central`,
      {
        rule: this.rule.name,
        arn: busArn,
        roleArn: this.role.arn,
      },
      { ...child, dependsOn: [this.rolePolicy] },
    );
    this.registerOutputs({ ruleArn: this.rule.arn, roleArn: this.role.arn });
  }
}
