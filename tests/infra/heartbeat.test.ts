/**
 * The heartbeat's schedule (issue 12) under Pulumi mocks: a schedule rule sends the constant
 * heartbeat message to the events queue, and both queue policies admit it next to the
 * CodePipeline rule and the reminder scan's rule, still refusing every other sender (evaluated as
 * IAM evaluates a resource policy: values of one condition key are alternatives, also under
 * ArnNotEquals — IAM user guide, "Condition operators").
 */
import { EventIntake } from "../../infra/event-intake";
import { HEARTBEAT_INPUT, isHeartbeat } from "../../handlers/contracts/heartbeat";
import { isReminderScan } from "../../handlers/contracts/reminder-scan";
import { parseEventBridgeEvent } from "../../handlers/events";
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
  HEARTBEAT,
  queuePolicy,
  RULE,
  SCHEDULE,
  tags,
} from "./intake";

let registered: Registered[];

beforeAll(async () => {
  registered = await declareIntake({ reminderScanMinutes: 15, heartbeatMinutes: 5 });
});

it("declares a schedule rule every 5 minutes (EventBridge rate expression)", () => {
  expect(find(registered, "aws:cloudwatch/eventRule:EventRule", "heartbeat").inputs).toEqual({
    description: "d: heartbeat",
    scheduleExpression: "rate(5 minutes)",
    tags,
  });
});

it("sends the constant heartbeat message to the events queue, the DLQ behind it", () => {
  const target = find(
    registered,
    "aws:cloudwatch/eventTarget:EventTarget",
    "heartbeat-to-queue",
  ).inputs;
  expect(target).toEqual({
    rule: "heartbeat-physical",
    arn: arn("sqs", "events-physical"),
    // Target.Input: this JSON text is what the queue receives, instead of the event.
    input: HEARTBEAT_INPUT,
    // A heartbeat older than one period is replaced by the next one.
    retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 300 },
    deadLetterConfig: { arn: arn("sqs", "dlq-physical") },
  });
  // The fan-out recognizes it, and takes it for neither a scan nor a CodePipeline event.
  expect(isHeartbeat(target.input)).toBe(true);
  expect(isReminderScan(target.input)).toBe(false);
  expect(parseEventBridgeEvent(target.input).ok).toBe(false);
});

it("declares the new rule and target without aliases (they never lived at the stack's top)", () => {
  expect(childAliases(registered, "heartbeat")).toEqual([
    { name: "heartbeat", aliases: [] },
    { name: "heartbeat-to-queue", aliases: [] },
  ]);
});

describe("the queue policies with the heartbeat rule", () => {
  const policyOf = (queue: string) => queuePolicy(registered, queue);

  it("name the three rules in the Allow and in the Deny's exception", () => {
    for (const queue of ["events", "dlq"]) {
      const [allow, deny] = policyOf(queue).Statement;
      expect(allow.Condition).toEqual({
        ArnEquals: { "aws:SourceArn": [RULE, SCHEDULE, HEARTBEAT] },
      });
      expect(deny.Condition.ArnNotEquals["aws:SourceArn"]).toEqual([RULE, SCHEDULE, HEARTBEAT]);
    }
  });

  it("admit the heartbeat rule like the others, and refuse any other rule", () => {
    const otherRule = arn("events", "rule/someone-elses-rule");
    for (const queue of ["events", "dlq"]) {
      for (const rule of [RULE, SCHEDULE, HEARTBEAT]) {
        expect(evaluate([policyOf(queue)], byRule(queue, rule)).decision).toBe("Allow");
      }
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

it("refuses a heartbeat period that is not a whole number of minutes, naming the argument", () => {
  expect(
    () =>
      new EventIntake("bad", {
        eventPattern: "{}",
        description: "d",
        heartbeatMinutes: 0,
        tags,
      }),
  ).toThrow(/heartbeatMinutes must be a whole number >= 1/);
});
