/**
 * Shared set-up for the EventIntake tests (event-intake, reminder-schedule, heartbeat): the
 * component declared under Pulumi mocks, the physical ARNs the mocks give its rules and queues,
 * and the queue policies read back as IAM would evaluate them (testing/iam/evaluate.ts).
 */
import { EventIntake, type EventIntakeArgs } from "../../infra/event-intake";
import type { AuthorizationRequest } from "../../testing/iam/evaluate";
import {
  ACCOUNT,
  childrenOf,
  find,
  recordResources,
  REGION,
  settled,
  type AliasRecord,
  type Registered,
} from "./mocks";

/** The tags every test's EventIntake is declared with. */
export const tags = { team: "platform" };
/** The ARN the mocks give `name` of `service` (region and account of tests/infra/mocks.ts). */
export const arn = (service: string, name: string): string =>
  `arn:aws:${service}:${REGION}:${ACCOUNT}:${name}`;
/** The CodePipeline rule's ARN. */
export const RULE = arn("cloudwatch", "codepipeline-physical");
/** The approval reminder scan's schedule rule's ARN. */
export const SCHEDULE = arn("cloudwatch", "approval-reminders-physical");
/** The heartbeat schedule rule's ARN. */
export const HEARTBEAT = arn("cloudwatch", "heartbeat-physical");
/** The fan-out's role, admitted to write to the DLQ. */
export const FANOUT_ROLE = `arn:aws:iam::${ACCOUNT}:role/fanout-role-1234567`;

/**
 * Declares EventIntake "intake" for the CodePipeline pattern (description "d", {@link tags}) with
 * the optional schedules in `extra`, admits {@link FANOUT_ROLE} to the DLQ, and resolves with
 * every resource registered once the mocks settled.
 */
export async function declareIntake(
  extra: Pick<EventIntakeArgs, "reminderScanMinutes" | "heartbeatMinutes"> = {},
): Promise<Registered[]> {
  const registered = await recordResources();
  new EventIntake("intake", {
    eventPattern: '{"source":["aws.codepipeline"]}',
    description: "d",
    ...extra,
    tags,
  }).admitDeadLetterWriter(FANOUT_ROLE);
  await settled();
  return registered;
}

/** The parsed policy document of `queue`'s (`events` or `dlq`) QueuePolicy. */
export function queuePolicy(registered: Registered[], queue: string): any {
  const policy = find(registered, "aws:sqs/queuePolicy:QueuePolicy", `${queue}-from-eventbridge`);
  return JSON.parse(policy.inputs.policy);
}

/** An SQS SendMessage to `queue` by EventBridge on behalf of the rule `sourceArn`. */
export const byRule = (queue: string, sourceArn: string): AuthorizationRequest => ({
  action: "sqs:SendMessage",
  resource: arn("sqs", `${queue}-physical`),
  principal: { Service: "events.amazonaws.com" },
  context: { "aws:SourceArn": sourceArn, "aws:SourceAccount": ACCOUNT },
});

/** A role of the account that is neither a rule nor the fan-out (a CI deployer). */
export const OTHER_ROLE = `arn:aws:iam::${ACCOUNT}:role/ci-deployer`;

/** An SQS SendMessage straight to the events queue by `roleArn`. */
export const directFrom = (roleArn: string): AuthorizationRequest => ({
  action: "sqs:SendMessage",
  resource: arn("sqs", "events-physical"),
  principal: { AWS: roleArn },
  context: { "aws:PrincipalArn": roleArn },
});

/** An SQS SendMessage straight to the events queue by {@link FANOUT_ROLE}. */
export const directFromFanout = (): AuthorizationRequest => directFrom(FANOUT_ROLE);

/** Name and aliases of the EventIntake's children whose name starts with `prefix`. */
export function childAliases(
  registered: Registered[],
  prefix: string,
): { name: string; aliases: AliasRecord[] }[] {
  return childrenOf(registered, "deploy-notifier:infra:EventIntake")
    .filter((c) => c.name.startsWith(prefix))
    .map((c) => ({ name: c.name, aliases: c.aliases }));
}
