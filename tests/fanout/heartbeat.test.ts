/**
 * The heartbeat (issue 12) through the whole declared chain, with the serialized fan-out archive
 * (what `pulumi up` would upload) in a fresh Node process: the program's heartbeat rule sends its
 * constant input; the events queue's declared policy admits that rule (checked as IAM would, by
 * testing/iam); the archive answers the message with one `Heartbeat` EMF metric whose namespace,
 * name and dimensions are exactly those the declared `heartbeat` alarm watches, and reports no
 * failure. Pattern of tests/reminders/archive.test.ts.
 */
import {
  eventBridgeToQueue,
  queueArnOfUrl,
  type AllStandins,
  type LambdaProcess,
  type ProgramResult,
} from "../../testing";
import { sqsEvent, startArchive, startArchiveWorld } from "../support/archive";
import { resource } from "../support/program";

let standins: AllStandins;
let result: ProgramResult;
let fanout: LambdaProcess;

beforeAll(async () => {
  ({ standins, result } = await startArchiveWorld({ signingSecret: "signing" }));
  fanout = (await startArchive({ standins, result }, "fanout")).lambda;
}, 120_000);
afterAll(async () => {
  await fanout?.close();
  await standins?.close();
});

/** The EMF documents in the function's output that carry `metric`. */
function emfWith(output: string, metric: string): any[] {
  return output
    .split("\n")
    .filter((l) => l.startsWith("{") && l.includes('"_aws"'))
    .map((l) => JSON.parse(l))
    .filter((d) =>
      d._aws.CloudWatchMetrics.some((m: any) => m.Metrics.some((x: any) => x.Name === metric)),
    );
}

it("travels rule → events queue → archived fan-out, and is counted as the alarm watches it", async () => {
  const rule = resource(result, "aws:cloudwatch/eventRule:EventRule", "heartbeat");
  const target = resource(result, "aws:cloudwatch/eventTarget:EventTarget", "heartbeat-to-queue");
  const alarm = resource(result, "aws:cloudwatch/metricAlarm:MetricAlarm", "heartbeat");
  expect(rule.inputs.scheduleExpression).toBe("rate(5 minutes)");
  // The rule's delivery to the queue is admitted by the queue's declared policy.
  const queueArn = queueArnOfUrl(result.outputs.eventsQueueUrl as string, "us-east-1");
  expect(target.inputs.arn).toBe(queueArn);
  expect(eventBridgeToQueue(standins.iam, rule.arn as string, queueArn)).toBeUndefined();

  // What the queue holds is the target's Input (EventBridge API reference, Target.Input).
  const before = fanout.logs().length;
  const out = await fanout.invoke(
    sqsEvent(target.inputs.input, { SentTimestamp: String(Date.now() - 1500) }),
  );
  expect(out).toMatchObject({ ok: true, value: { batchItemFailures: [] } });

  // The function's stdout reaches this process through a pipe, apart from the invocation's
  // result (IPC): on a busy machine its last lines can arrive just after the result.
  let docs = emfWith(fanout.logs().slice(before), "Heartbeat");
  for (let waited = 0; docs.length === 0 && waited < 5000; waited += 50) {
    await new Promise((r) => setTimeout(r, 50));
    docs = emfWith(fanout.logs().slice(before), "Heartbeat");
  }
  expect(docs).toHaveLength(1);
  const [directive] = docs[0]._aws.CloudWatchMetrics;
  const dims = Object.fromEntries(directive.Dimensions[0].map((k: string) => [k, docs[0][k]]));
  expect({ namespace: directive.Namespace, dimensions: dims, value: docs[0].Heartbeat }).toEqual({
    namespace: alarm.inputs.namespace,
    dimensions: alarm.inputs.dimensions,
    value: 1,
  });
  expect(alarm.inputs.metricName).toBe("Heartbeat");
  expect(alarm.inputs.treatMissingData).toBe("breaching");
  // No audit, no delivery, no DynamoDB call: a heartbeat is only a count.
  const calls = standins.iam.decisions.filter((d) =>
    d.caller.endsWith(result.outputs.fanoutFunctionName as string),
  );
  expect(calls).toEqual([]);
  expect(standins.aws.state.sqs.sent).toEqual([]);
}, 60_000);
