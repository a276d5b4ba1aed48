/**
 * The approval reminder scan's schedule (issue 10) under Pulumi mocks: a schedule rule sends the
 * constant scan message to the events queue, and both queue policies admit it next to the
 * CodePipeline rule, still refusing every other sender (evaluated as IAM evaluates a resource
 * policy: values of one condition key are alternatives, also under ArnNotEquals — IAM user
 * guide, "Condition operators").
 */
import { EventIntake } from "../../infra/event-intake";
import { REMINDER_SCAN_INPUT, isReminderScan } from "../../handlers/contracts/reminder-scan";
import { evaluate } from "../../testing/iam/evaluate";
import { find, type Registered } from "./mocks";
import {
  arn,
  byRule,
  childAliases,
  declareIntake,
  directFrom,
  directFromFanout,
  OTHER_ROLE,
  queuePolicy,
  RULE,
  SCHEDULE,
  tags,
} from "./intake";

let registered: Registered[];

beforeAll(async () => {
  registered = await declareIntake({ reminderScanMinutes: 15 });
});

it("declares a schedule rule every 15 minutes (EventBridge rate expression)", () => {
  expect(
    find(registered, "aws:cloudwatch/eventRule:EventRule", "approval-reminders").inputs,
  ).toEqual({
    description: "d: approval reminder scan",
    scheduleExpression: "rate(15 minutes)",
    tags,
  });
});

it("sends the constant scan message to the events queue, the DLQ behind it", () => {
  const target = find(
    registered,
    "aws:cloudwatch/eventTarget:EventTarget",
    "approval-reminders-to-queue",
  ).inputs;
  expect(target).toEqual({
    rule: "approval-reminders-physical",
    arn: arn("sqs", "events-physical"),
    // Target.Input: this JSON text is what the queue receives, instead of the event.
    input: REMINDER_SCAN_INPUT,
    retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 900 },
    deadLetterConfig: { arn: arn("sqs", "dlq-physical") },
  });
  expect(isReminderScan(target.input)).toBe(true);
});

it("declares the new rule and target without aliases (they never lived at the stack's top)", () => {
  expect(childAliases(registered, "approval-reminders")).toEqual([
    { name: "approval-reminders", aliases: [] },
    { name: "approval-reminders-to-queue", aliases: [] },
  ]);
});

describe("the queue policies with the schedule rule", () => {
  const policyOf = (queue: string) => queuePolicy(registered, queue);

  it("name both rules in the Allow and in the Deny's exception", () => {
    for (const queue of ["events", "dlq"]) {
      const [allow, deny] = policyOf(queue).Statement;
      expect(allow.Condition).toEqual({ ArnEquals: { "aws:SourceArn": [RULE, SCHEDULE] } });
      expect(deny.Condition.ArnNotEquals["aws:SourceArn"]).toEqual([RULE, SCHEDULE]);
    }
  });

  it("admit the CodePipeline rule and the schedule rule, and refuse any other rule", () => {
    const otherRule = arn("events", "rule/someone-elses-rule");
    for (const queue of ["events", "dlq"]) {
      expect(evaluate([policyOf(queue)], byRule(queue, RULE)).decision).toBe("Allow");
      expect(evaluate([policyOf(queue)], byRule(queue, SCHEDULE)).decision).toBe("Allow");
      expect(evaluate([policyOf(queue)], byRule(queue, otherRule)).decision).toBe("ExplicitDeny");
    }
  });

  it("still refuse any role but the fan-out's that sends directly to the events queue", () => {
    // Issue 11: the fan-out defers a rate-limited record as a delayed copy on the events queue
    // (fanout/requeue.ts), so the Deny excepts its role (infra/event-intake.ts `onlySenders`):
    // the queue policy alone neither allows nor denies it (its own RequeueEvents statement
    // allows it, same account). Any other role stays explicitly refused.
    expect(evaluate([policyOf("events")], directFrom(OTHER_ROLE)).decision).toBe("ExplicitDeny");
    expect(evaluate([policyOf("events")], directFromFanout()).decision).toBe("ImplicitDeny");
  });
});

it("refuses a scan period that is not a whole number of minutes, naming the argument", () => {
  expect(
    () =>
      new EventIntake("bad", {
        eventPattern: "{}",
        description: "d",
        reminderScanMinutes: 0.5,
        tags,
      }),
  ).toThrow(/reminderScanMinutes must be a whole number >= 1/);
});
