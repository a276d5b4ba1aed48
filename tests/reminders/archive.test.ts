/**
 * The reminder scan through the serialized fan-out archive (what `pulumi up` would upload), in a
 * fresh Node process, against the local stand-ins with the program's declared IAM enforced: the
 * fan-out records a posted request, the schedule rule's scan message reminds its approvers once
 * (prod: the approvals channel is an incoming webhook, so a new message), and after CodePipeline
 * expired the approval the request is announced expired and forgotten. Every AWS call (PutItem,
 * Query, UpdateItem, DeleteItem on `PENDING#` items; ListActionExecutions) must be allowed by the
 * fan-out's declared role policy (infra/grants.ts `PendingApprovals`).
 */
import { REMINDER_SCAN_INPUT } from "../../handlers/contracts/reminder-scan";
import { expireApprovals } from "../../testing/aws/codepipeline";
import type { AllStandins, LambdaProcess, ProgramResult } from "../../testing";
import { sqsEvent as sqs, startArchive, startArchiveWorld } from "../support/archive";
import { pendingApprovalStarted } from "../support/fanout";

const PIPELINE = "main-app-production-v3";
const DAY = 86_400_000;

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

const posts = (pattern: RegExp) =>
  standins.receivers
    .byReceiver("slack", "slack-releases")
    .filter((d) => pattern.test(String((d.body as any)?.text)));

/** A pending approval run that started `ago` ms ago (7-day timeout), posted by the archive. */
async function requestPosted(ago: number): Promise<void> {
  const { started } = pendingApprovalStarted(standins.aws, PIPELINE, ago);
  expect(await fanout.invoke(sqs(JSON.stringify(started)))).toMatchObject({
    ok: true,
    value: { batchItemFailures: [] },
  });
}

async function scan(): Promise<void> {
  expect(await fanout.invoke(sqs(REMINDER_SCAN_INPUT))).toMatchObject({
    ok: true,
    value: { batchItemFailures: [] },
  });
}

it("reminds once, then marks an expired request expired, as its own role", async () => {
  // One 12 h before its expiry (inside the default 24 h lead), one past it.
  await requestPosted(6.5 * DAY);
  await requestPosted(7 * DAY + 3_600_000);
  expireApprovals(standins.aws.state);

  await scan();
  await scan();

  expect(posts(/reminder/)).toHaveLength(1);
  expect((posts(/reminder/)[0].body as any).text).toContain("<@U012ABCDEF> <@U034GHIJKL>");
  expect(posts(/expired — no decision in 7 days/)).toHaveLength(1);

  // testing/iam: every call was the fan-out's, checked against its declared policy, and allowed.
  const fanoutName = result.outputs.fanoutFunctionName as string;
  const calls = standins.iam.decisions.filter((d) => d.caller.endsWith(fanoutName));
  expect(calls.length).toBeGreaterThan(0);
  expect(calls.filter((d) => d.decision !== "Allow")).toEqual([]);
  const pendingCalls = calls.filter((d) => d.statement === "PendingApprovals").map((d) => d.action);
  expect([...new Set(pendingCalls)].sort()).toEqual([
    "dynamodb:DeleteItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
  ]);
}, 60_000);
