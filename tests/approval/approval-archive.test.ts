/**
 * The approval lifecycle of issue 10 (items 2, 4, 5) end to end through what ships: the prod
 * program is evaluated, its serialized approval archive runs in a fresh Node process with its own
 * role's credentials (IAM enforced against the declared policy) against the local stand-ins, like
 * tests/artifacts.test.ts does for the happy path. The right values are the documented ones cited
 * in approval-lifecycle.test.ts (each approval run has its own action execution id and token;
 * RetryStageExecution re-runs the approval; response_url lives 30 minutes).
 */
import { randomUUID } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { AllStandins, LambdaProcess } from "../../testing";
import {
  putApprovalResult,
  retryStageExecution,
  stopExecution,
} from "../../testing/aws/codepipeline";
import { CLAIM_MARGIN_MS } from "../../handlers/approval/decision";
import { SETTINGS } from "../../infra/settings";
import { startArchive, startArchiveWorld } from "../support/archive";
import { clickPayload, formBody, pendingRun, signedEvent } from "./harness";

const SIGNING_SECRET = "approval-archive-signing-secret";
const PIPELINE = "main-app-production-v3";
const STAGE = "Approve";
const ACTION = "ManualApproval";
const JANE = { id: "U012ABCDEF", username: "jane", name: "Jane Doe" };
const RAJ = { id: "U0RAJ00001", username: "raj", name: "Raj Patel" };

let standins: AllStandins;
let approval: LambdaProcess;
let approvalName: string;
let table: string;
let doc: DynamoDBDocumentClient;

/** The prod stack config with Raj as a second approver of the approval pipeline. */
function prodConfig(raw: Record<string, any>): Record<string, any> {
  const pipelines = (raw.pipelines as Record<string, any>[]).map((p) =>
    p.approvals
      ? { ...p, approvals: { ...p.approvals, approvers: [...p.approvals.approvers, RAJ.id] } }
      : p,
  );
  return { ...raw, pipelines };
}

/** Runs the archive's handler for the async self-invocations, as Lambda would. */
function registerRealWork(): void {
  standins.aws.registerFunction(approvalName, async (e) => (await approval.invoke(e)).value);
}

beforeAll(async () => {
  const world = await startArchiveWorld({ signingSecret: SIGNING_SECRET, edit: prodConfig });
  standins = world.standins;
  const started = await startArchive(world, "approval");
  ({ functionName: approvalName, lambda: approval } = started);
  table = started.archive.environment.AUDIT_TABLE;
  registerRealWork();
  // The test's own reads: not one of the functions' credentials, so IAM does not check them.
  const client = new DynamoDBClient({
    endpoint: standins.dynamo.endpoint,
    region: standins.env.AWS_REGION ?? "us-east-1",
    credentials: { accessKeyId: "test-reader", secretAccessKey: "test" },
  });
  doc = DynamoDBDocumentClient.from(client);
}, 90_000);
afterAll(async () => {
  doc?.destroy();
  await approval?.close();
  await standins?.close();
});
beforeEach(() => {
  standins.receivers.setFault("slack-response", null);
  registerRealWork();
});

/** Clicks a button of the request posted for approval run `run`, through the archive. */
async function click(
  user: typeof JANE,
  executionId: string,
  run: string | undefined,
  actionId = "deploy-notifier.approve",
): Promise<string> {
  const responseId = randomUUID();
  const payload = clickPayload({
    user,
    executionId,
    pipeline: PIPELINE,
    actionId,
    actionExecutionId: run,
    responseUrl: standins.receivers.urlFor("slack-response", responseId),
  });
  const ack = await approval.invoke(signedEvent(formBody(payload), { secret: SIGNING_SECRET }));
  await standins.aws.idle();
  expect(ack).toMatchObject({ ok: true, value: { statusCode: 200 } });
  return responseId;
}

function posts(responseId: string): Record<string, unknown>[] {
  return standins.receivers
    .byReceiver("slack-response", responseId)
    .map((d) => d.body as Record<string, unknown>);
}

function putsOf(executionId: string) {
  const runs = runsOf(executionId).map((r) => r.token);
  return standins.aws.state.codepipeline.calls
    .filter((c) => c.operation === "PutApprovalResult")
    .map((c) => c.input as Record<string, unknown>)
    .filter((input) => runs.includes(input.token as string));
}

/** The approval action's runs of one execution in the stand-in's model, oldest first. */
function runsOf(executionId: string) {
  const action = standins.aws.state.codepipeline.pipelines[PIPELINE].stages
    .find((s) => s.name === STAGE)!
    .actions.find((a) => a.name === ACTION)!;
  return (action.runs ?? []).filter((r) => r.pipelineExecutionId === executionId);
}

function retry(executionId: string): { run: string; token: string } {
  retryStageExecution(standins.aws.state, {
    pipelineName: PIPELINE,
    stageName: STAGE,
    pipelineExecutionId: executionId,
    retryMode: "FAILED_ACTIONS",
  });
  const latest = runsOf(executionId).at(-1)!;
  return { run: latest.actionExecutionId, token: String(latest.token) };
}

async function auditOf(executionId: string): Promise<Record<string, unknown>[]> {
  const out = await doc.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": `PIPELINE#${PIPELINE}` },
    }),
  );
  return (out.Items ?? []).filter((i) => i.executionId === executionId);
}

async function claimOf(executionId: string, run: string) {
  const key = { pk: `APPROVAL#${PIPELINE}#${executionId}`, sk: `${STAGE}#${ACTION}#${run}` };
  const out = await doc.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }));
  return { key, item: out.Item };
}

describe("the approval archive, end to end (issue 10)", () => {
  it("item 2: a Slack rejection, a stage retry, then the new request is approved with the new run's token", async () => {
    const { executionId, run, token } = pendingRun(standins.aws, { pipeline: PIPELINE });
    await click(RAJ, executionId, run, "deploy-notifier.reject");
    const second = retry(executionId);

    const responseId = await click(JANE, executionId, second.run);

    expect(
      putsOf(executionId).map((p) => [(p.result as { status: string }).status, p.token]),
    ).toEqual([
      ["Rejected", token],
      ["Approved", second.token],
    ]);
    expect(JSON.stringify(posts(responseId))).not.toContain("Already rejected");
    expect(JSON.stringify(posts(responseId))).toContain("Approved by <@U012ABCDEF>");
  });

  it("item 2: a click on the replaced run's message is refused, the message says so, approval-superseded is audited", async () => {
    const { executionId, run, token } = pendingRun(standins.aws, { pipeline: PIPELINE });
    putApprovalResult(standins.aws.state, {
      pipelineName: PIPELINE,
      stageName: STAGE,
      actionName: ACTION,
      result: { status: "Rejected", summary: "rejected in the console" },
      token,
    });
    retry(executionId);

    const responseId = await click(JANE, executionId, run);

    expect(putsOf(executionId)).toEqual([]);
    const [told, update] = posts(responseId);
    expect(told.text).toBe(
      "This request was replaced by a newer action execution (the stage was retried); use the newest message.",
    );
    expect(update.replace_original).toBe(true);
    expect((await auditOf(executionId)).map((a) => a.action)).toContain("approval-superseded");
  });

  it("item 4: a claim whose work died is taken over after the function timeout + margin and decided once", async () => {
    const { executionId, run, token } = pendingRun(standins.aws, { pipeline: PIPELINE });
    standins.aws.registerFunction(approvalName, async () => {
      throw new Error("Task timed out after 30.00 seconds");
    });
    await click(JANE, executionId, run);
    registerRealWork();
    const { key, item } = await claimOf(executionId, run);
    const bound = SETTINGS.approvalTimeoutSeconds * 1000 + CLAIM_MARGIN_MS;
    await doc.send(
      new UpdateCommand({
        TableName: table,
        Key: key,
        UpdateExpression: "SET #at = :at",
        ExpressionAttributeNames: { "#at": "at" },
        ExpressionAttributeValues: {
          ":at": new Date(Date.parse(String(item?.at)) - bound - 1000).toISOString(),
        },
      }),
    );

    const responseId = await click(RAJ, executionId, run);

    expect(putsOf(executionId)).toEqual([expect.objectContaining({ token })]);
    // The clicker's ephemeral and the work's message update go to the same response_url from two
    // concurrent paths: either may arrive first (a fresh-clone CI run saw the update first).
    expect(posts(responseId).map((p) => String(p.text))).toContainEqual(
      expect.stringMatching(/^The earlier approval by <@U012ABCDEF>/),
    );
    expect((await claimOf(executionId, run)).item).toMatchObject({
      status: "decided",
      user: { id: RAJ.id },
    });
  });

  it("item 5: response_url expired and no bot token: decided, and message-not-updated is audited", async () => {
    const { executionId, run } = pendingRun(standins.aws, { pipeline: PIPELINE });
    standins.receivers.setFault("slack-response", { status: 404, body: "expired_url" });

    await click(JANE, executionId, run);

    expect(putsOf(executionId)).toHaveLength(1);
    expect(
      (await auditOf(executionId)).find((a) => a.action === "message-not-updated")?.result,
    ).toBe("response_url: HTTP 404 expired_url; chat.update: no bot token");
  });

  it("a click after the execution was stopped is told so (GetPipelineExecution), the buttons go", async () => {
    const { executionId, run } = pendingRun(standins.aws, { pipeline: PIPELINE });
    const at = new Date(Date.now() - 60_000);
    stopExecution(standins.aws.state, PIPELINE, executionId, at);

    const responseId = await click(JANE, executionId, run);

    // Slack's date formatting, with the one human form as its fallback (docs.slack.dev,
    // "Formatting text for app surfaces").
    const minute = `${at.toISOString().slice(0, 16).replace("T", " ")} UTC`;
    const when = `<!date^${Math.floor(at.getTime() / 1000)}^{date_num} {time}|${minute}>`;
    const reason =
      `Approval of ${PIPELINE} › ${STAGE} › ${ACTION} ended at ${when}: ` +
      `execution ${executionId.slice(0, 8)} was stopped.`;
    const [told, update] = posts(responseId);
    expect(told).toMatchObject({
      response_type: "ephemeral",
      // A stopped execution's stage can be retried (user guide, "Stop a pipeline execution").
      text: `${reason} To release it, retry stage ${STAGE} in CodePipeline ("Retry failed actions"); it asks again.`,
    });
    expect(update.replace_original).toBe(true);
    expect(JSON.stringify(update.blocks)).not.toContain("deploy-notifier.approve");
    expect(putsOf(executionId)).toEqual([]);
  });

  it("a click after a console approval says who approved and when", async () => {
    const { executionId, run, token } = pendingRun(standins.aws, { pipeline: PIPELINE });
    const { approvedAt } = putApprovalResult(standins.aws.state, {
      pipelineName: PIPELINE,
      stageName: STAGE,
      actionName: ACTION,
      result: { status: "Approved", summary: "approved in the console" },
      token,
    });

    const responseId = await click(RAJ, executionId, run);

    const minute = `${approvedAt.toISOString().slice(0, 16).replace("T", " ")} UTC`;
    const when = `<!date^${Math.floor(approvedAt.getTime() / 1000)}^{date_num} {time}|${minute}>`;
    expect(posts(responseId)[0].text).toBe(
      `Already approved in CodePipeline by role/approver at ${when}: approved in the console. Nothing to do: the execution goes on.`,
    );
    expect(putsOf(executionId)).toEqual([]); // the console's decision is the only one
  });

  it("made every AWS call as the approval's role, allowed by the declared policy (ListActionExecutions included)", () => {
    const decisions = standins.iam.decisions.filter((d) => d.caller.endsWith(`/${approvalName}`));
    expect(decisions.map((d) => d.action)).toEqual(
      expect.arrayContaining([
        "codepipeline:GetPipelineState",
        "codepipeline:ListActionExecutions",
        "codepipeline:GetPipelineExecution",
        "codepipeline:PutApprovalResult",
      ]),
    );
    expect(standins.iam.decisions.filter((d) => d.decision !== "Allow")).toEqual([]);
  });
});
