/**
 * Approvals of pipelines in source accounts (issue 14): the approval Lambda assumes the role
 * `SOURCE_ROLES` names for the pipeline's account (STS AssumeRole, API_AssumeRole.html) and calls
 * GetPipelineState / PutApprovalResult with that session in the pipeline's region. The local
 * world checks it as AWS would: the STS stand-in checks the function's `sts:AssumeRole`
 * permission and the role's trust policy, the CodePipeline stand-in is keyed by (account,
 * region) and checks the role's policy on the pipeline's ARN. The declared IAM here is written
 * by hand (tests/testing/sts-fixture.ts); the archive test runs the program's own.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { addPendingApproval } from "../../testing/aws/codepipeline";
import { createAuditTable, startAll, type AllStandins, type DeclaredIam } from "../../testing";
import { createApprovalHandler, type ApprovalHandler } from "../../handlers/approval";
import { encodeApprovalButtonValue } from "../../handlers/contracts/slack-approval";
import { pipelineArn } from "../../handlers/contracts/pipeline-id";
import {
  APPROVER_1,
  APPROVER_2,
  FUNCTION_NAME,
  SECRET_ARN,
  SIGNING_SECRET,
  TABLE,
  auditItems,
  clickPayload,
  formBody,
  postsTo,
  responseUrl,
  signedEvent,
  type Harness,
} from "./harness";
import {
  HOME,
  OTHER,
  SOURCE,
  SOURCE_REGION,
  SOURCE_ROLE,
  twoAccountIam,
} from "../testing/sts-fixture";

const NAME = "deploy-api";
const STAGE = "Prod";
const ACTION = "Approve";
const SOURCE_REF = { account: SOURCE, region: SOURCE_REGION, name: NAME };

/** The fixture's IAM with the approval function's role doing what the approval Lambda does at home. */
function declared(): DeclaredIam {
  const iam = twoAccountIam();
  const fn = iam.roles["approval-fn"];
  iam.roles = {
    [FUNCTION_NAME]: {
      ...fn,
      functionName: FUNCTION_NAME,
      policies: [
        ...fn.policies,
        {
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "HomeWork",
              Effect: "Allow",
              Action: [
                "dynamodb:*",
                "secretsmanager:GetSecretValue",
                "lambda:InvokeFunction",
                "codepipeline:PutApprovalResult",
                "codepipeline:ListActionExecutions",
              ],
              Resource: "*",
            },
          ],
        },
      ],
    },
  };
  return iam;
}

describe("approvals in source accounts (issue 14)", () => {
  let all: AllStandins;
  let handler: ApprovalHandler;
  let doc: DynamoDBDocumentClient;
  const h = () => ({ all, handler, doc }) as Harness;

  beforeAll(async () => {
    all = await startAll();
    all.iam.load(declared());
    Object.assign(process.env, all.envFor(FUNCTION_NAME), {
      AUDIT_TABLE: TABLE,
      SLACK_APP_SECRET_ARN: SECRET_ARN,
      AWS_LAMBDA_FUNCTION_NAME: FUNCTION_NAME,
      HOME_ACCOUNT: HOME,
      SOURCE_ROLES: JSON.stringify({ [SOURCE]: SOURCE_ROLE }),
    });
    await createAuditTable(all.dynamo.endpoint, TABLE);
    const approvals = { channel: "slack-deploys", approvers: [APPROVER_1.id, APPROVER_2.id] };
    handler = createApprovalHandler({
      project: "deploy-notifier",
      stack: "test",
      auditRetentionDays: 30,
      workTimeoutSeconds: 30,
      slackApiUrl: all.receivers.slackApiUrl,
      // Both accounts are configured sources in SOURCE_REGION (OTHER without a role in
      // SOURCE_ROLES: the no-access case); any other (account, region) is refused.
      sources: [
        { account: SOURCE, regions: [SOURCE_REGION] },
        { account: OTHER, regions: [SOURCE_REGION] },
      ],
      pipelines: [
        { match: { name: NAME }, tier: "critical", states: ["FAILED"], approvals },
        { match: { name: NAME, account: SOURCE }, tier: "critical", states: ["FAILED"], approvals },
        { match: { name: NAME, account: OTHER }, tier: "critical", states: ["FAILED"], approvals },
      ],
    });
    all.aws.registerFunction(FUNCTION_NAME, (event) => handler(event as never));
    doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: all.dynamo.endpoint }));
  });
  afterAll(async () => {
    delete process.env.HOME_ACCOUNT;
    delete process.env.SOURCE_ROLES;
    await all?.close();
  });
  beforeEach(() => {
    all.aws.reset();
    all.receivers.reset();
    all.aws.state.secrets[SECRET_ARN] = JSON.stringify({ signingSecret: SIGNING_SECRET });
  });

  /** Clicks Approve on the request for `where` (absent: an old button, the home account). */
  async function click(
    user: typeof APPROVER_1,
    executionId: string,
    where?: { account: string; region: string },
  ) {
    const { id, url } = responseUrl(h());
    const payload = clickPayload({ user, executionId, responseUrl: url, pipeline: NAME });
    const value = encodeApprovalButtonValue({
      pipeline: NAME,
      stage: STAGE,
      action: ACTION,
      executionId,
      ...where,
    });
    const actions = payload.actions as Array<Record<string, unknown>>;
    payload.actions = [{ ...actions[0], value }];
    await handler(signedEvent(formBody(payload)));
    await all.aws.idle();
    return id;
  }

  const sourceScope = () => all.aws.scope({ account: SOURCE, region: SOURCE_REGION });
  const statusIn = (pipelines: Record<string, any>) =>
    pipelines[NAME].stages[0].actions[0].status as string;
  const decisionOf = (pk: string, executionId: string) =>
    doc
      .send(
        new GetCommand({
          TableName: TABLE,
          Key: { pk: `APPROVAL#${pk}#${executionId}`, sk: `${STAGE}#${ACTION}` },
          ConsistentRead: true,
        }),
      )
      .then((o) => o.Item);

  it("calls PutApprovalResult through the assumed role; the fake sees the role's session and checks its policy", async () => {
    const approval = { pipeline: NAME, stage: STAGE, action: ACTION, executionId: "e-src-1" };
    const token = addPendingApproval(sourceScope(), approval);
    await click(APPROVER_1, "e-src-1", { account: SOURCE, region: SOURCE_REGION });

    expect(statusIn(sourceScope().codepipeline.pipelines)).toBe("Succeeded");
    const put = all.aws.state.codepipeline.calls.find((c) => c.operation === "PutApprovalResult");
    expect(put).toMatchObject({
      account: SOURCE,
      region: SOURCE_REGION,
      caller: `arn:aws:sts::${SOURCE}:assumed-role/notifier-source-access/${FUNCTION_NAME}`,
      input: { pipelineName: NAME, token },
    });
    // IAM checked both hops: AssumeRole at home, PutApprovalResult on the source pipeline's ARN.
    const decided = all.iam.decisions.map((d) => `${d.action} ${d.resource} ${d.decision}`);
    expect(decided).toContain(`sts:AssumeRole ${SOURCE_ROLE} Allow`);
    expect(decided).toContain(
      `codepipeline:PutApprovalResult ${pipelineArn(SOURCE_REF)}/${STAGE}/${ACTION} Allow`,
    );
    expect(all.iam.denials).toEqual([]);
    // The audit names the account and region, under the pipeline's key (its ARN outside home).
    const records = await auditItems(h(), "e-src-1", pipelineArn(SOURCE_REF));
    expect(records.find((r) => r.action === "approval-decided")).toMatchObject({
      account: SOURCE,
      region: SOURCE_REGION,
      result: "Approved",
    });
  });

  it("refuses a click for an account with no role: told and audited, nothing claimed or called", async () => {
    addPendingApproval(all.aws.scope({ account: OTHER, region: SOURCE_REGION }), {
      pipeline: NAME,
      stage: STAGE,
      action: ACTION,
      executionId: "e-other-1",
    });
    const id = await click(APPROVER_1, "e-other-1", { account: OTHER, region: SOURCE_REGION });

    const told = postsTo(h(), id).map((p) => String(p.text));
    expect(told).toEqual([expect.stringContaining(`no access to account ${OTHER}`)]);
    const ref = { account: OTHER, region: SOURCE_REGION, name: NAME };
    const records = await auditItems(h(), "e-other-1", pipelineArn(ref));
    expect(records).toEqual([
      expect.objectContaining({
        action: "approval-denied",
        account: OTHER,
        region: SOURCE_REGION,
        result: expect.stringContaining(`no role to assume in account ${OTHER}: SOURCE_ROLES`),
      }),
    ]);
    expect(await decisionOf(pipelineArn(ref), "e-other-1")).toBeUndefined();
    expect(all.aws.state.codepipeline.calls).toEqual([]);
    expect(all.aws.state.lambda.invocations).toEqual([]);
  });

  it.each([
    {
      what: "a configured source account in a region not among its configured regions",
      where: { account: SOURCE, region: "ap-southeast-2" },
      reason: `region ap-southeast-2 of account ${SOURCE} is not a configured source region (config key sources[0].regions)`,
    },
    {
      what: "an account that is not a configured source",
      where: { account: "999988887777", region: SOURCE_REGION },
      reason: "account 999988887777 is not a configured source (config key sources)",
    },
  ])(
    "refuses an approval for $what, even from an approver of a rule matching it: told, audited with the reason, nothing claimed, assumed or called",
    async ({ where, reason }) => {
      // Arrange: the pipeline really is pending there, and the rule for NAME names no region.
      const executionId = `e-unconfigured-${where.account}-${where.region}`;
      const assumed = () => all.iam.decisions.filter((d) => d.action === "sts:AssumeRole").length;
      const assumedBefore = assumed();
      addPendingApproval(all.aws.scope(where), {
        pipeline: NAME,
        stage: STAGE,
        action: ACTION,
        executionId,
      });

      // Act
      const id = await click(APPROVER_1, executionId, where);

      // Assert: the same refusal the fan-out gives such an event (events/sources.ts).
      const told = postsTo(h(), id).map((p) => String(p.text));
      expect(told).toEqual([
        expect.stringContaining("which this notifier does not take approvals from"),
      ]);
      const ref = { ...where, name: NAME };
      const records = await auditItems(h(), executionId, pipelineArn(ref));
      expect(records).toEqual([
        expect.objectContaining({
          action: "approval-denied",
          account: where.account,
          region: where.region,
          result: `not a configured source: ${reason}`,
        }),
      ]);
      expect(await decisionOf(pipelineArn(ref), executionId)).toBeUndefined();
      expect(assumed()).toBe(assumedBefore);
      expect(all.aws.state.codepipeline.calls).toEqual([]);
      expect(all.aws.state.lambda.invocations).toEqual([]);
    },
  );

  it("assumes the role once and reuses its credentials for later approvals in that account", async () => {
    const assumed = () => all.iam.decisions.filter((d) => d.action === "sts:AssumeRole").length;
    const approve = async (executionId: string) => {
      addPendingApproval(sourceScope(), {
        pipeline: NAME,
        stage: STAGE,
        action: ACTION,
        executionId,
      });
      await click(APPROVER_1, executionId, { account: SOURCE, region: SOURCE_REGION });
    };
    await approve("e-cache-1");
    const after = assumed();
    await approve("e-cache-2");
    // Credentials live 3600 s (AssumeRole's default) and are reused until 5 min before that.
    expect(assumed()).toBe(after);
    const puts = all.aws.state.codepipeline.calls.filter(
      (c) => c.operation === "PutApprovalResult",
    );
    expect(puts).toHaveLength(2);
    expect(puts[1].accessKey).toBe(puts[0].accessKey);
  });

  it("same-named pipelines in two accounts: approving one never decides the other", async () => {
    const approval = { pipeline: NAME, stage: STAGE, action: ACTION, executionId: "e-same" };
    addPendingApproval(sourceScope(), approval);
    all.aws.addPendingApproval(approval);

    await click(APPROVER_1, "e-same", { account: SOURCE, region: SOURCE_REGION });
    expect(statusIn(sourceScope().codepipeline.pipelines)).toBe("Succeeded");
    expect(statusIn(all.aws.state.codepipeline.pipelines)).toBe("InProgress");

    // The home request's button (an old value: no account, no region = home) is not "already
    // decided": it has its own claim, and decides the home pipeline.
    const id = await click(APPROVER_2, "e-same");
    expect(postsTo(h(), id).map((p) => String(p.text))).not.toContainEqual(
      expect.stringContaining("already"),
    );
    expect(statusIn(all.aws.state.codepipeline.pipelines)).toBe("Succeeded");
    expect((await decisionOf(NAME, "e-same"))?.user).toMatchObject({ id: APPROVER_2.id });
    expect((await decisionOf(pipelineArn(SOURCE_REF), "e-same"))?.user).toMatchObject({
      id: APPROVER_1.id,
    });
    const puts = all.aws.state.codepipeline.calls.filter(
      (c) => c.operation === "PutApprovalResult",
    );
    expect(puts.map((c) => c.account)).toEqual([SOURCE, HOME]);
  });
});
