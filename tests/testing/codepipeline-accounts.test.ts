/**
 * The CodePipeline stand-in keyed by (account, region) (testing/aws/codepipeline/accounts.ts),
 * through the real SDK clients. CodePipeline is regional and per account: a pipeline's ARN is
 * `arn:aws:codepipeline:<region>:<account>:<name>` (CodePipeline user guide, "Resources and
 * operations"), a call acts in its credentials' account and its endpoint's region, and a call
 * the caller's policy does not allow fails with `AccessDeniedException` (CodePipeline API
 * reference, "Common Errors"). Keys of an expired session fail with `ExpiredTokenException`
 * ("The security token included in the request is expired", same page).
 */
import {
  CodePipelineClient,
  GetPipelineStateCommand,
  PutApprovalResultCommand,
} from "@aws-sdk/client-codepipeline";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { addPendingApproval } from "../../testing/aws/codepipeline";
import { codePipelineOutbox, startAll, startExecution, type AllStandins } from "../../testing";
import {
  FN,
  HOME,
  PIPELINE_ARN,
  SOURCE,
  SOURCE_REGION,
  SOURCE_ROLE,
  twoAccountIam,
} from "./sts-fixture";
import { rejectionOf } from "../channels/helpers";

const APPROVAL = { pipeline: "deploy-api", stage: "Prod", action: "Approve", executionId: "e-1" };

describe("CodePipeline stand-in keyed by (account, region)", () => {
  let standins: AllStandins;

  beforeAll(async () => {
    standins = await startAll();
  });
  afterAll(async () => {
    await standins?.close();
  });
  beforeEach(() => {
    standins.aws.reset();
    standins.iam.load(twoAccountIam());
  });
  afterEach(() => standins.iam.unload());

  function client(
    region: string,
    credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
  ): CodePipelineClient {
    return new CodePipelineClient({
      region,
      endpoint: standins.env.AWS_ENDPOINT_URL_CODEPIPELINE,
      credentials,
      maxAttempts: 1,
    });
  }

  /** Session credentials of the source role, assumed by the approval function. */
  async function sourceSession() {
    const sts = new STSClient({
      region: "us-east-1",
      endpoint: standins.env.AWS_ENDPOINT_URL_STS,
      credentials: { accessKeyId: standins.iam.envFor(FN).AWS_ACCESS_KEY_ID, secretAccessKey: "x" },
    });
    const out = await sts.send(
      new AssumeRoleCommand({ RoleArn: SOURCE_ROLE, RoleSessionName: FN }),
    );
    return {
      accessKeyId: out.Credentials!.AccessKeyId!,
      secretAccessKey: out.Credentials!.SecretAccessKey!,
      sessionToken: out.Credentials!.SessionToken!,
    };
  }

  /** The SDK error of a call that must fail. */
  const failure = async (call: Promise<unknown>) =>
    (await rejectionOf(() => call)) as Record<string, any>;

  it("answers each (account, region) from its own pipelines: same name, two pipelines", async () => {
    const homeToken = standins.aws.addPendingApproval(APPROVAL);
    const sourceToken = addPendingApproval(
      standins.aws.scope({ account: SOURCE, region: SOURCE_REGION }),
      APPROVAL,
    );
    const home = client("us-east-1", { accessKeyId: "standin", secretAccessKey: "x" });
    const session = await sourceSession();
    const source = client(SOURCE_REGION, session);
    const tokenOf = async (c: CodePipelineClient) =>
      (await c.send(new GetPipelineStateCommand({ name: "deploy-api" }))).stageStates?.[0]
        ?.actionStates?.[0]?.latestExecution?.token;
    expect(await tokenOf(home)).toBe(homeToken);
    expect(await tokenOf(source)).toBe(sourceToken);
    expect(sourceToken).not.toBe(homeToken);
    // The same role in another region of its account: no such pipeline there.
    const otherRegion = await failure(
      client("us-east-1", session).send(new GetPipelineStateCommand({ name: "deploy-api" })),
    );
    expect(otherRegion.name).toBe("AccessDeniedException"); // its policy names eu-west-1 only
  });

  it("PutApprovalResult through the assumed role decides the source pipeline only, and the fake sees the session", async () => {
    standins.aws.addPendingApproval(APPROVAL);
    const scope = standins.aws.scope({ account: SOURCE, region: SOURCE_REGION });
    const token = addPendingApproval(scope, APPROVAL);
    const source = client(SOURCE_REGION, await sourceSession());
    await source.send(
      new PutApprovalResultCommand({
        pipelineName: "deploy-api",
        stageName: "Prod",
        actionName: "Approve",
        result: { status: "Approved", summary: "ok" },
        token,
      }),
    );
    expect(scope.codepipeline.pipelines["deploy-api"].stages[0].actions[0].status).toBe(
      "Succeeded",
    );
    expect(
      standins.aws.state.codepipeline.pipelines["deploy-api"].stages[0].actions[0].status,
    ).toBe("InProgress");
    const call = standins.aws.state.codepipeline.calls.find(
      (c) => c.operation === "PutApprovalResult",
    );
    expect(call).toMatchObject({
      account: SOURCE,
      region: SOURCE_REGION,
      caller: `arn:aws:sts::${SOURCE}:assumed-role/notifier-source-access/${FN}`,
    });
    expect(standins.iam.decisions.at(-1)).toMatchObject({
      action: "codepipeline:PutApprovalResult",
      resource: `${PIPELINE_ARN}/Prod/Approve`,
      decision: "Allow",
    });
  });

  it("refuses with AccessDeniedException a pipeline the role's policy does not name", async () => {
    addPendingApproval(standins.aws.scope({ account: SOURCE, region: SOURCE_REGION }), {
      ...APPROVAL,
      pipeline: "payroll",
    });
    const err = await failure(
      client(SOURCE_REGION, await sourceSession()).send(
        new GetPipelineStateCommand({ name: "payroll" }),
      ),
    );
    expect(err.name).toBe("AccessDeniedException");
    expect(err.message).toBe(
      `User: arn:aws:sts::${SOURCE}:assumed-role/notifier-source-access/${FN} is not authorized ` +
        `to perform: codepipeline:GetPipelineState on resource: ` +
        `arn:aws:codepipeline:${SOURCE_REGION}:${SOURCE}:payroll because no identity-based ` +
        "policy allows the codepipeline:GetPipelineState action",
    );
  });

  it("refuses the keys of an expired session with ExpiredTokenException", async () => {
    standins.iam.registerSession({
      accessKeyId: "ASIAEXPIREDEXPIRED00",
      roleArn: SOURCE_ROLE,
      account: SOURCE,
      sessionName: FN,
      arn: `arn:aws:sts::${SOURCE}:assumed-role/notifier-source-access/${FN}`,
      expiration: new Date(Date.now() - 1000),
    });
    const err = await failure(
      client(SOURCE_REGION, {
        accessKeyId: "ASIAEXPIREDEXPIRED00",
        secretAccessKey: "x",
        sessionToken: "t",
      }).send(new GetPipelineStateCommand({ name: "deploy-api" })),
    );
    expect(err.name).toBe("ExpiredTokenException");
  });

  it("emits the events of a scope's pipelines with that account and region", () => {
    const scope = standins.aws.scope({ account: SOURCE, region: SOURCE_REGION });
    startExecution(scope, { pipeline: "deploy-api", executionId: "e-9" });
    const event = codePipelineOutbox(standins.aws.state).at(-1);
    expect(event).toMatchObject({
      account: SOURCE,
      region: SOURCE_REGION,
      resources: [PIPELINE_ARN],
    });
    // …and the home state's own pipelines are untouched.
    expect(standins.aws.state.codepipeline.pipelines["deploy-api"]).toBeUndefined();
    expect(HOME).toBe(standins.aws.state.codepipeline.account ?? HOME);
  });
});
