/**
 * An approval in a source account through what ships (issue 14): the prod program evaluated with
 * one source account, its serialized approval archive run in a fresh Node process with its own
 * role's credentials, IAM enforced against what the program declares — the approval role's
 * `sts:AssumeRole` grant, the source-access role's trust policy and its policy on that account's
 * pipelines (infra/source-access.ts). The STS and CodePipeline stand-ins check them as AWS does
 * (tests/testing/sts.test.ts, codepipeline-accounts.test.ts cite the API pages).
 */
import { randomUUID } from "node:crypto";
import type { AllStandins, LambdaProcess } from "../../testing";
import { addPendingApproval } from "../../testing/aws/codepipeline";
import { startArchive, startArchiveWorld } from "../support/archive";
import { clickPayload, formBody, signedEvent } from "./harness";
import { encodeApprovalButtonValue } from "../../handlers/contracts/slack-approval";

const SIGNING_SECRET = "cross-account-archive-signing-secret";
const SOURCE = "222233334444";
const REGION = "eu-west-1";
const PIPELINE = "deploy-api";
const STAGE = "Prod";
const ACTION = "Approve";
const JANE = { id: "U012ABCDEF", username: "jane", name: "Jane Doe" };

let standins: AllStandins;
let approval: LambdaProcess;
let approvalName: string;
let environment: Record<string, string>;

/** The prod stack with one source account and an approval pipeline there. */
function withSource(raw: Record<string, any>): Record<string, any> {
  const rule = {
    name: PIPELINE,
    account: SOURCE,
    tier: "critical",
    states: ["FAILED"],
    approvals: { channel: "slack-releases", approvers: [JANE.id] },
  };
  return {
    ...raw,
    sources: [
      {
        account: SOURCE,
        regions: [REGION],
        deployRoleArn: `arn:aws:iam::${SOURCE}:role/deployer`,
      },
    ],
    pipelines: [...(raw.pipelines as unknown[]), rule],
  };
}

beforeAll(async () => {
  const world = await startArchiveWorld({ signingSecret: SIGNING_SECRET, edit: withSource });
  standins = world.standins;
  const started = await startArchive(world, "approval");
  ({ functionName: approvalName, lambda: approval } = started);
  environment = started.archive.environment;
  standins.aws.registerFunction(approvalName, async (e) => (await approval.invoke(e)).value);
}, 120_000);
afterAll(async () => {
  await approval?.close();
  await standins?.close();
});

/**
 * Jane's signed Approve click on the request of `executionId` of the source account's pipeline in
 * `region`, and the response_url id it answers to.
 */
function janeClicks(executionId: string, region: string) {
  const responseId = randomUUID();
  const payload = clickPayload({
    user: JANE,
    executionId,
    pipeline: PIPELINE,
    responseUrl: standins.receivers.urlFor("slack-response", responseId),
  });
  const value = encodeApprovalButtonValue({
    pipeline: PIPELINE,
    stage: STAGE,
    action: ACTION,
    executionId,
    account: SOURCE,
    region,
  });
  const actions = payload.actions as Array<Record<string, unknown>>;
  payload.actions = [{ ...actions[0], value }];
  return { event: signedEvent(formBody(payload), { secret: SIGNING_SECRET }), responseId };
}

it("approves a source account's pipeline through the declared source-access role, IAM enforced", async () => {
  expect(standins.iam.loaded).toBeDefined();
  const roleArn = JSON.parse(environment.SOURCE_ROLES)[SOURCE] as string;
  expect(roleArn).toMatch(new RegExp(`^arn:aws:iam::${SOURCE}:role/`));
  const executionId = randomUUID();
  const scope = standins.aws.scope({ account: SOURCE, region: REGION });
  const token = addPendingApproval(scope, {
    pipeline: PIPELINE,
    stage: STAGE,
    action: ACTION,
    executionId,
  });
  const ack = await approval.invoke(janeClicks(executionId, REGION).event);
  await standins.aws.idle();
  expect(ack).toMatchObject({ ok: true, value: { statusCode: 200 } });

  expect(standins.iam.denials).toEqual([]);
  const put = standins.aws.state.codepipeline.calls.find(
    (c) => c.operation === "PutApprovalResult",
  );
  expect(put).toMatchObject({
    account: SOURCE,
    region: REGION,
    caller: `${roleArn.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/")}/${approvalName}`,
    input: { token },
  });
  expect(scope.codepipeline.pipelines[PIPELINE].stages[0].actions[0].status).toBe("Succeeded");
  const decided = standins.iam.decisions.map((d) => `${d.action} ${d.decision}`);
  expect(decided).toContain("sts:AssumeRole Allow");
  expect(decided).toContain("codepipeline:PutApprovalResult Allow");
}, 60_000);

it("refuses a click for the source account in a region outside sources[].regions: the program hands its sources to the approval function", async () => {
  // Arrange: the pipeline really is pending in us-west-2 of the configured account, and the rule
  // (account SOURCE, no region) would match it.
  const other = "us-west-2";
  const executionId = randomUUID();
  const scope = standins.aws.scope({ account: SOURCE, region: other });
  addPendingApproval(scope, { pipeline: PIPELINE, stage: STAGE, action: ACTION, executionId });
  const { event, responseId } = janeClicks(executionId, other);
  const callsBefore = standins.aws.state.codepipeline.calls.length;

  // Act
  const ack = await approval.invoke(event);
  await standins.aws.idle();

  // Assert: answered, nothing called in that account, the clicker told why.
  expect(ack).toMatchObject({ ok: true, value: { statusCode: 200 } });
  expect(standins.aws.state.codepipeline.calls.slice(callsBefore)).toEqual([]);
  expect(scope.codepipeline.pipelines[PIPELINE].stages[0].actions[0].status).toBe("InProgress");
  const told = standins.receivers
    .byReceiver("slack-response", responseId)
    .map((d) => String((d.body as { text?: unknown }).text));
  expect(told).toEqual([expect.stringContaining("does not take approvals from")]);
}, 60_000);
