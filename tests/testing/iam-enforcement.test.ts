/**
 * The local world enforces the IAM the program declares (testing/iam/): the prod archives run in
 * fresh Node processes with credentials naming their roles, and every AWS call they make through
 * the stand-ins is checked against that role's declared policy. Removing any one statement the
 * code needs makes the flow fail with the error AWS would give. The statements are enumerated from
 * the evaluated program, so the test follows the policies as infra/grants.ts changes them.
 */
import { randomUUID } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import {
  alarmToTopic,
  eventBridgeToQueue,
  functionUrlInvoke,
  queueArnOfUrl,
  type AllStandins,
  type DeclaredIam,
  type IamDecisionRecord,
  type IamDenial,
  type LambdaProcess,
  type PolicyStatement,
  type ProgramResult,
} from "../../testing";
import { codePipelineOutbox, putApprovalResult, stopExecution } from "../../testing";
import { REMINDER_SCAN_INPUT } from "../../handlers/contracts/reminder-scan";
import { digestFlushBody } from "../../handlers/contracts/digest-flush";
import { parseEventBridgeEvent } from "../../handlers/events/parse";
import { normalize } from "../../handlers/events/normalize";
import { digestSlot, entryOf } from "../../handlers/fanout/grouping";
import { claimGrouped } from "../../handlers/store/digest";
import { deliveryRefOf } from "../support/grouping";
import { clickPayload, formBody, signedEvent } from "../approval/harness";
import { event } from "../support/fanout";
import { startArchive, startArchiveWorld } from "../support/archive";

const SIGNING_SECRET = "iam-test-signing-secret";
const PIPELINE = "main-app-production-v3";
/** A channel the prod stack config does not have (removed by a redeploy, say). */
const RETIRED = "slack-retired";

/**
 * Actions the Lambda service performs with the function's role, not the function's code: the
 * log agent (logs:*) and the SQS event source mapping (Lambda developer guide, "Execution role"
 * and "Using Lambda with Amazon SQS": ReceiveMessage, DeleteMessage, GetQueueAttributes). No
 * code flow exercises them here.
 */
const SERVICE_ACTIONS = [
  "logs:CreateLogStream",
  "logs:PutLogEvents",
  "logs:CreateLogGroup",
  "sqs:ReceiveMessage",
  "sqs:DeleteMessage",
  "sqs:GetQueueAttributes",
];

/** What AWS answers per service prefix when the identity policy does not allow the action. */
const AWS_ERROR: Record<string, string> = {
  dynamodb: "AccessDeniedException",
  secretsmanager: "AccessDeniedException",
  codepipeline: "AccessDeniedException",
  lambda: "AccessDeniedException",
  kms: "AccessDeniedException",
  sns: "AuthorizationError",
  sqs: "AccessDenied",
};

const statementsOf = (iam: DeclaredIam, fn: string): PolicyStatement[] =>
  iam.roles[fn].policies.flatMap((p) => [p.Statement].flat());
const idOf = (s: PolicyStatement, i: number) => s.Sid ?? `#${i}`;
const actionsOf = (s: PolicyStatement) => [s.Action ?? []].flat();

/** The declared IAM without one statement of one function's role. */
function without(iam: DeclaredIam, fn: string, sid: string): DeclaredIam {
  const copy = structuredClone(iam);
  const statements = statementsOf(copy, fn).filter((s, i) => idOf(s, i) !== sid);
  copy.roles[fn].policies = [{ Version: "2012-10-17", Statement: statements }];
  return copy;
}

/** A bot-mode Slack channel on the critical route (see {@link withThreadChannel}). */
const THREAD_CHANNEL = "slack-threads";

/**
 * The prod config plus a bot-mode Slack channel on the critical route: each failure of an
 * execution claims its Slack thread (`THREAD#` items, issue 11, store/threads.ts: the
 * SlackThreads statement), which a webhook-mode channel never does.
 */
function withThreadChannel(
  raw: Record<string, any>,
  world: { standins: AllStandins; secrets: Record<string, Record<string, string>> },
): Record<string, any> {
  world.secrets[THREAD_CHANNEL] = { botToken: "xoxb-local-threads" };
  raw.channels[THREAD_CHANNEL] = {
    type: "slack",
    mode: "bot",
    channel: "C0IAMTHREAD",
    apiUrl: world.standins.receivers.slackApiUrl,
  };
  raw.routing.critical = [...raw.routing.critical, THREAD_CHANNEL];
  return raw;
}

/** The prod archives this file runs. */
type Archive = "fanout" | "approval";

/** Ends a flow whose function was denied a call already ({@link runFlow} `untilDenied`). */
class DeniedAlready extends Error {
  constructor(fn: string) {
    super(`${fn} was denied a call: the rest of its flow is not run`);
  }
}

interface FlowRun {
  decisions: IamDecisionRecord[];
  denials: IamDenial[];
  /** Both functions' logs and results, and what the channels received. */
  output: string;
}

describe("the sandbox enforces the declared IAM on the prod archives", () => {
  let standins: AllStandins;
  let program: ProgramResult;
  let declared: DeclaredIam;
  let names: Record<Archive, string>;
  let baseline: FlowRun;

  /**
   * The fan-out's paths: a failure whose Slack delivery fails for good (pages, SMS, DLQ), the
   * same record redelivered (claims lost: reads back), the pipeline's recovery (open incidents
   * read and resolved), a rejection clicked in Slack (the execution's decisions queried), an
   * approval request reminded by the reminder scan (pending requests recorded, queried, claimed),
   * that request decided in the console (rewritten as ended: reminders/ended.ts), and another
   * whose execution was stopped with a reason (ListPipelineExecutions).
   */
  async function fanoutFlow(fanout: LambdaProcess): Promise<unknown[]> {
    const record = (body: unknown, receiveCount = 1, messageId: string = randomUUID()) => ({
      messageId,
      body: JSON.stringify(body),
      attributes: { ApproximateReceiveCount: String(receiveCount) },
    });
    const failed = event("pipeline-failed", { "execution-id": randomUUID() });
    const failedId = randomUUID();
    standins.receivers.setFault("slack", { status: 404, body: "channel_not_found" });
    const first = await fanout.invoke({ Records: [record(failed, 1, failedId)] });
    standins.receivers.setFault("slack", null);
    const again = await fanout.invoke({ Records: [record(failed, 2, failedId)] });
    // Grouping (issue 11): a second failure within the window spends the SMS channel's 1 text
    // per window: it is grouped, and its digest's flush is queued on the events queue. Its Slack
    // webhook answers 429 with a Retry-After (120 s) beyond the invocation's deadline: the record
    // is deferred as a delayed copy on the events queue (issue 11, fanout/requeue.ts: the
    // RequeueEvents statement), not failed toward the DLQ.
    standins.receivers.setFault("slack", { status: 429, retryAfter: 120, times: 1 });
    const grouped = await fanout.invoke({
      Records: [record(event("pipeline-failed", { "execution-id": randomUUID() }))],
    });
    standins.receivers.setFault("slack", null);
    const recovered = await fanout.invoke({
      Records: [record(event("pipeline-succeeded", { "execution-id": randomUUID() }))],
    });
    const rejected = await fanout.invoke({
      Records: [
        record(event("action-approval-rejected-via-slack", { "execution-id": randomUUID() })),
      ],
    });
    // Approval reminders (issue 10): a request posted 6.5 days into its 7-day timeout is recorded
    // as pending (PENDING# items), and the schedule rule's scan message reminds its approvers.
    const [requested, scanned, endedOutside] = await withApprovalAction(async () => {
      const day = 86_400_000;
      const executionId = randomUUID();
      const actionExecutionId = randomUUID();
      const at = new Date(Date.now() - 6.5 * day);
      const token = standins.aws.addPendingApproval({
        pipeline: PIPELINE,
        stage: "Approve",
        action: "ManualApproval",
        executionId,
        actionExecutionId,
        at,
        expiresAt: new Date(at.getTime() + 7 * day),
      });
      const started = event(
        "action-approval-started",
        { "execution-id": executionId, "action-execution-id": actionExecutionId },
        { id: randomUUID(), time: at.toISOString() },
      );
      const requested = await fanout.invoke({ Records: [record(started)] });
      const scanned = await fanout.invoke({
        Records: [{ ...record(null), body: REMINDER_SCAN_INPUT }],
      });
      // The same request decided in the CodePipeline console (handlers/reminders/ended.ts): its
      // Action SUCCEEDED makes the fan-out read the run, the run's click (an APPROVAL# Query) and
      // claim the request's end step; #releases is an incoming webhook, so it is audited as not
      // updated, and the item is deleted.
      const emitted = codePipelineOutbox(standins.aws.state).length;
      putApprovalResult(standins.aws.state, {
        pipelineName: PIPELINE,
        stageName: "Approve",
        actionName: "ManualApproval",
        token,
        result: { status: "Approved", summary: "LGTM from the console" },
      });
      const succeeded = codePipelineOutbox(standins.aws.state)
        .slice(emitted)
        .filter((e) => e.detail.state === "SUCCEEDED" && e.detail.action === "ManualApproval");
      if (succeeded.length !== 1) throw new Error("test setup: no Action SUCCEEDED was emitted");
      const endedOutside = await fanout.invoke({ Records: [record(succeeded[0])] });
      return [requested, scanned, endedOutside];
    });
    // Another request whose execution is stopped with a reason (stop and abandon: Action
    // ABANDONED, user guide, "Stop a pipeline execution"): its rewrite tells the reason, which
    // only ListPipelineExecutions returns (`stopTrigger.reason`, API_StopExecutionTrigger.html).
    const [requestedAgain, stopped] = await withApprovalAction(async () => {
      const stoppedId = randomUUID();
      const stoppedRun = randomUUID();
      standins.aws.addPendingApproval({
        pipeline: PIPELINE,
        stage: "Approve",
        action: "ManualApproval",
        executionId: stoppedId,
        actionExecutionId: stoppedRun,
      });
      const stoppedStart = event("action-approval-started", {
        "execution-id": stoppedId,
        "action-execution-id": stoppedRun,
      });
      const requestedAgain = await fanout.invoke({ Records: [record(stoppedStart)] });
      const beforeStop = codePipelineOutbox(standins.aws.state).length;
      const stopOptions = { abandon: true, reason: "bad build" };
      if (!stopExecution(standins.aws.state, PIPELINE, stoppedId, new Date(), stopOptions)) {
        throw new Error("test setup: the execution was not stopped");
      }
      const abandoned = codePipelineOutbox(standins.aws.state)
        .slice(beforeStop)
        .filter((e) => e.detail.state === "ABANDONED" && e.detail.action === "ManualApproval");
      if (abandoned.length !== 1) throw new Error("test setup: no Action ABANDONED was emitted");
      const stopped = await fanout.invoke({ Records: [record(abandoned[0])] });
      return [requestedAgain, stopped];
    });
    // Grouping (issue 11): a digest's flush queries its window's entries (`DIGEST#` hash keys of
    // the byExecution index); a window with nothing grouped sends nothing.
    const flushed = await fanout.invoke({
      Records: [
        {
          ...record(null),
          body: digestFlushBody({ channel: "slack-eng", windowStart: 60_000, windowMs: 60_000 }),
        },
      ],
    });
    // A copy whose Slack slot is grouped into a digest whose flush is past takes its entry out of
    // that digest's record (fanout/grouped-copy.ts, store/digest-record.ts: one conditional
    // UpdateItem under DELIVERY#) before it deduplicates or moves it. Until the red team's fix it
    // read the record with a GetItem the role does not grant: every receive of such a record
    // failed until the DLQ (what doubled the chaos run of tests/bench.test.ts).
    const late = event("pipeline-failed", { "execution-id": randomUUID() });
    await groupedPastFlush(late);
    const copied = await fanout.invoke({ Records: [record(late, 2)] });
    // A flush for a channel no longer in the stack config (a redeploy since its entry was
    // grouped): nothing is sent, and the digest's record says dropped (store/digest-drop.ts: the
    // window's Query, then one conditional UpdateItem under DELIVERY#, as a claim's).
    const retiredAt = await groupedPastFlush(
      event("pipeline-failed", { "execution-id": randomUUID() }),
      RETIRED,
    );
    const dropped = await fanout.invoke({
      Records: [
        {
          ...record(null),
          body: digestFlushBody({ channel: RETIRED, windowStart: retiredAt, windowMs: 60_000 }),
        },
      ],
    });
    const all = [first, again, grouped, recovered, rejected, requested, scanned, endedOutside];
    all.push(requestedAgain, stopped);
    all.push(flushed, copied);
    return [...all, dropped];
  }

  /**
   * Leaves the `channel` slot of `failed`'s notification grouped into the digest of a window an
   * hour old, as a grouped mark that landed after its window's flush read it (store/digest.ts
   * `claimGrouped`, with the test's own credentials: not checked). Resolves the window's start.
   */
  async function groupedPastFlush(failed: unknown, channel = "slack-eng"): Promise<number> {
    const parsed = parseEventBridgeEvent(JSON.stringify(failed));
    if (!parsed.ok) throw new Error(`test event does not parse: ${parsed.reason}`);
    const n = normalize(parsed.event, { tier: "critical", severity: "critical" });
    const ref = { ...deliveryRefOf(n, channel), claimId: randomUUID() };
    const windowStart = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;
    const slot = digestSlot(channel, { windowStart });
    const claimed = await claimGrouped(ref, slot, entryOf(n), 30, Date.now() + 5000);
    if (!claimed.grouped) throw new Error("test setup: the slot was not left grouped");
    return windowStart;
  }

  /**
   * The approval's paths: an approval, the same click again (the decision is read back), and a
   * click whose PutApprovalResult fails (the claim is released).
   */
  async function approvalFlow(approval: LambdaProcess): Promise<unknown[]> {
    const click = (executionId: string) => {
      const payload = clickPayload({
        user: { id: "U012ABCDEF", username: "jane", name: "Jane Doe" },
        executionId,
        pipeline: PIPELINE,
        responseUrl: standins.receivers.urlFor("slack-response", randomUUID()),
      });
      return approval.invoke(signedEvent(formBody(payload), { secret: SIGNING_SECRET }));
    };
    const pending = () => {
      const executionId = randomUUID();
      standins.aws.addPendingApproval({
        pipeline: PIPELINE,
        stage: "Approve",
        action: "ManualApproval",
        executionId,
      });
      return executionId;
    };
    return withApprovalAction(async () => {
      const approved = pending();
      const results: unknown[] = [await click(approved)];
      await standins.aws.idle();
      results.push(await click(approved));
      await standins.aws.idle();
      standins.aws.faults.codepipeline = {
        code: "ThrottlingException",
        operation: "PutApprovalResult",
        times: 1,
      };
      results.push(await click(pending()));
      await standins.aws.idle();
      standins.aws.faults.codepipeline = null;
      return results;
    });
  }

  /** The end of the sections queued by {@link withApprovalAction} so far. */
  let approvalAction: Promise<unknown> = Promise.resolve();

  /**
   * Runs `section` (a flow's steps from adding a pending approval run to its end) after the
   * sections queued before it. Both flows add runs to the one Approve/ManualApproval action of
   * {@link PIPELINE}, and only an action's latest run may be decided (the stand-in's
   * `runForToken`, as CodePipeline's GetPipelineState shows only the latest): a run the other
   * flow added in between made the console approval decide that run, or refuse the token, now
   * and then. The rest of the two flows still runs at once.
   */
  function withApprovalAction<T>(section: () => Promise<T>): Promise<T> {
    const run = approvalAction.then(section);
    approvalAction = run.catch(() => undefined);
    return run;
  }

  /** A DynamoDB client with the test's own credentials (not a function's: not checked). */
  function testDoc(): DynamoDBDocumentClient {
    return DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: standins.dynamo.endpoint,
        region: "us-east-1",
        credentials: { accessKeyId: "test", secretAccessKey: "test" },
      }),
    );
  }

  /**
   * Deletes the channels' pacing items (`PACE#`, issue 11) between runs, with the test's own
   * credentials (not a function's: not checked): every run starts with fresh grouping windows, so
   * its first failure reaches Slack (and fails there) as the first run's did, however many runs
   * fall into one window.
   */
  async function forgetPacing(iam: DeclaredIam): Promise<void> {
    const doc = testDoc();
    for (const TableName of Object.keys(iam.tables)) {
      const out = await doc.send(
        new ScanCommand({
          TableName,
          FilterExpression: "begins_with(pk, :p)",
          ExpressionAttributeValues: { ":p": "PACE#" },
        }),
      );
      for (const item of out.Items ?? []) {
        await doc.send(new DeleteCommand({ TableName, Key: { pk: item.pk, sk: item.sk } }));
      }
    }
  }

  /** Each archive's flow ({@link fanoutFlow}, {@link approvalFlow}). */
  const flows: Record<Archive, (lambda: LambdaProcess) => Promise<unknown>> = {
    fanout: fanoutFlow,
    approval: approvalFlow,
  };

  /**
   * Starts the `which` archives fresh (no cached secrets; both by default), runs their flows at
   * once (a failure, an approval), stops them. With `untilDenied`, a flow ends before its next
   * invocation once its function was denied a call: a run without one statement asserts on its
   * first denial only, and the invocations after it add nothing but time.
   */
  async function runFlow(
    iam: DeclaredIam,
    which: Archive[] = ["fanout", "approval"],
    { untilDenied = false } = {},
  ): Promise<FlowRun> {
    await forgetPacing(iam);
    standins.iam.load(iam);
    const lambdas = await Promise.all(
      which.map(async (name) => (await startArchive({ standins, result: program }, name)).lambda),
    );
    const approval = lambdas[which.indexOf("approval")];
    if (approval) {
      standins.aws.registerFunction(names.approval, async (e) => (await approval.invoke(e)).value);
    }
    const delivered = standins.receivers.deliveries.length;
    // Every result of the flows' invocations, in the order they came.
    const results: unknown[] = [];
    try {
      // The functions' flows at once: each function is its own process with its own role, and
      // each flow's faults are its own (Slack's webhook for the fan-out, PutApprovalResult for
      // the approval); every decision and denial names its caller.
      await Promise.all(
        which.map(async (name, i) => {
          try {
            await flows[name](recorded(lambdas[i], names[name], results, untilDenied));
          } catch (err: unknown) {
            if (!(err instanceof DeniedAlready)) throw err;
          }
        }),
      );
      await standins.aws.idle();
    } finally {
      // Ended (and their output read to its end) before it is read.
      await Promise.all(lambdas.map((lambda) => lambda.close()));
    }
    const output = [
      JSON.stringify(results),
      ...lambdas.map((lambda) => lambda.logs()),
      // What the channels received (enrichment reports its error there, by name).
      JSON.stringify(standins.receivers.deliveries.slice(delivered)),
    ].join("\n");
    return { decisions: [...standins.iam.decisions], denials: [...standins.iam.denials], output };
  }

  /**
   * `lambda` whose invocations' results are added to `results`; with `untilDenied`, an invocation
   * after function `fn` was denied a call rejects with {@link DeniedAlready} instead of running.
   */
  function recorded(
    lambda: LambdaProcess,
    fn: string,
    results: unknown[],
    untilDenied: boolean,
  ): LambdaProcess {
    const denied = () =>
      standins.iam.decisions.some((d) => d.decision !== "Allow" && d.caller.endsWith(`/${fn}`));
    return {
      ...lambda,
      async invoke<T>(event: unknown, timeoutMs?: number) {
        if (untilDenied && denied()) throw new DeniedAlready(fn);
        const result = await lambda.invoke<T>(event, timeoutMs);
        results.push(result);
        return result;
      },
    };
  }

  const savedEnv = { ...process.env };
  beforeAll(async () => {
    ({ standins, result: program } = await startArchiveWorld({
      signingSecret: SIGNING_SECRET,
      edit: withThreadChannel,
    }));
    // This process's own store calls ({@link groupedPastFlush}): the local DynamoDB, the table.
    Object.assign(process.env, {
      AUDIT_TABLE: program.archives.find((a) => a.name === "fanout")?.environment.AUDIT_TABLE,
      AWS_ENDPOINT_URL_DYNAMODB: standins.dynamo.endpoint,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
    });
    declared = standins.iam.loaded as DeclaredIam;
    names = {
      fanout: program.outputs.fanoutFunctionName as string,
      approval: program.outputs.approvalFunctionName as string,
    };
    baseline = await runFlow(declared);
  }, 180_000);
  afterAll(async () => {
    await standins?.close();
    process.env = savedEnv;
  });

  it("checks every call of both archives against their roles, and the declared IAM allows them", () => {
    const byCaller = (fn: string) => baseline.decisions.filter((d) => d.caller.endsWith(`/${fn}`));
    expect(byCaller(names.fanout).length).toBeGreaterThan(0);
    expect(byCaller(names.approval).length).toBeGreaterThan(0);
    expect(baseline.decisions.filter((d) => d.decision !== "Allow")).toEqual([]);
    const services = new Set(baseline.decisions.map((d) => d.action.split(":")[0]));
    expect([...services].sort()).toEqual(
      expect.arrayContaining([
        "codepipeline",
        "dynamodb",
        "lambda",
        "secretsmanager",
        "sns",
        "sqs",
      ]),
    );
    // The caller is named as AWS names an assumed role session of a Lambda function.
    expect(byCaller(names.fanout)[0].caller).toBe(
      `arn:aws:sts::123456789012:assumed-role/${declared.roles[names.fanout].roleName}/${names.fanout}`,
    );
  });

  it("records a flush for a channel no longer configured as dropped, under the declared IAM", async () => {
    const doc = testDoc();
    const out = await doc.send(
      new ScanCommand({
        TableName: Object.keys(declared.tables)[0],
        FilterExpression: "begins_with(notificationId, :d)",
        ExpressionAttributeValues: { ":d": `digest/${RETIRED}/` },
      }),
    );
    expect(out.Items?.length).toBeGreaterThan(0);
    for (const item of out.Items ?? []) {
      expect(item).toMatchObject({
        status: "abandoned",
        result: `dropped: channel ${RETIRED} is no longer in the stack config`,
        detail: { kind: "digest", dropped: true },
      });
    }
    doc.destroy();
  });

  it("records a request decided in the console, and one whose execution was stopped, as ended outside Slack, under the declared IAM", async () => {
    const doc = testDoc();
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(
        new ScanCommand({
          TableName: Object.keys(declared.tables)[0],
          FilterExpression: "#a = :a",
          ExpressionAttributeNames: { "#a": "action" },
          ExpressionAttributeValues: { ":a": "approval-ended" },
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    // #releases is an incoming webhook in the prod stack: nothing to update, and it says so;
    // the stopped one with its reason (ListPipelineExecutions under the fan-out's role).
    expect(items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          result: expect.stringMatching(
            /^request message not updated: Already approved in CodePipeline by role\/approver at .*: LGTM from the console$/,
          ),
        }),
        expect.objectContaining({
          result: expect.stringMatching(
            /^request message not updated: Approval of .* ended at .*: execution \w{8} was stopped \(reason: bad build\)\.$/,
          ),
        }),
      ]),
    );
    expect(items).toHaveLength(2);
    doc.destroy();
  });

  it("exercises every statement except those the Lambda service itself uses", () => {
    const unexercised: unknown[] = [];
    for (const fn of Object.values(names)) {
      const used = new Set(
        baseline.decisions.filter((d) => d.caller.endsWith(`/${fn}`)).map((d) => d.statement),
      );
      statementsOf(declared, fn).forEach((s, i) => {
        const serviceOnly = actionsOf(s).every((a) => SERVICE_ACTIONS.includes(a));
        if (!used.has(idOf(s, i)) && !serviceOnly) unexercised.push({ fn, sid: idOf(s, i) });
      });
    }
    // A statement no flow needs is an unused grant, or a path this test does not run yet.
    expect(unexercised).toEqual([]);
  });

  it("fails the way AWS fails when any one statement the code needs is removed", async () => {
    for (const which of ["fanout", "approval"] as const) {
      const fn = names[which];
      const statements = statementsOf(declared, fn).map((s, i) => ({ s, sid: idOf(s, i) }));
      for (const { s, sid } of statements) {
        if (actionsOf(s).every((a) => SERVICE_ACTIONS.includes(a))) continue;
        // Only the archive whose role lost the statement runs its flow (20 runs): the other
        // role is whole, and every call of its flow is allowed (the first test), so its process
        // and its flow's requests would only add work to each run.
        const run = await runFlow(without(declared, fn, sid), [which], { untilDenied: true });
        const denied = run.decisions.filter(
          (d) => d.decision !== "Allow" && d.caller.endsWith(`/${fn}`),
        );
        expect({ fn, sid, denied: denied.length > 0 }).toEqual({ fn, sid, denied: true });
        const first = denied[0];
        expect(actionsOf(s).map((a) => a.toLowerCase())).toContain(first.action.toLowerCase());
        // Answered with AWS's exception and message, which reached the archive's code: its logs
        // keep the first 200 characters of an SDK error's message, or (enrichment) its name.
        const denial = run.denials.find((d) => d.action === first.action) as IamDenial;
        const service = first.action.split(":")[0];
        expect({ fn, sid, code: denial.code }).toEqual({ fn, sid, code: AWS_ERROR[service] });
        expect(denial.message).toMatch(
          new RegExp(
            `^User: arn:aws:sts::123456789012:assumed-role/[^/]+/${fn} is not authorized to perform: ` +
              `${service === "sns" ? "SNS" : service}:\\w+ on resource: arn:aws:\\S+ because no identity-based policy allows the`,
            "i",
          ),
        );
        expect({
          fn,
          sid,
          reachedCode:
            run.output.includes(denial.message.slice(0, 120)) || run.output.includes(denial.code),
        }).toEqual({
          fn,
          sid,
          reachedCode: true,
        });
      }
    }
  }, 600_000);

  it("admits the program's own deliveries by its resource policies, and refuses others", () => {
    const arnsOf = (type: string) =>
      program.resources.filter((r) => r.type === type).map((r) => r.arn as string);
    const [rule] = arnsOf("aws:cloudwatch/eventRule:EventRule");
    const queues = ["eventsQueueUrl", "deadLetterQueueUrl"].map((o) =>
      queueArnOfUrl(program.outputs[o] as string, "us-east-1"),
    );
    for (const queue of queues) {
      expect({ queue, denial: eventBridgeToQueue(standins.iam, rule, queue) }).toEqual({
        queue,
        denial: undefined,
      });
    }
    const otherRule = "arn:aws:events:us-east-1:123456789012:rule/someone-elses";
    expect(eventBridgeToQueue(standins.iam, otherRule, queues[0])).toMatchObject({
      code: "AccessDenied",
      message: expect.stringMatching(
        /^User: events\.amazonaws\.com is not authorized to perform: sqs:sendmessage on resource: arn:aws:sqs:\S+ (because no resource-based policy allows|with an explicit deny in a resource-based policy)/,
      ),
    });
    // Every alarm may publish to the ops topic (and use its key, if it is encrypted).
    const ops = program.outputs.opsTopicArn as string;
    const alarms = arnsOf("aws:cloudwatch/metricAlarm:MetricAlarm");
    expect(alarms.length).toBeGreaterThan(0);
    for (const alarm of alarms) {
      expect({ alarm, denial: alarmToTopic(standins.iam, alarm, ops) }).toEqual({
        alarm,
        denial: undefined,
      });
    }
    const foreign = "arn:aws:cloudwatch:us-east-1:999999999999:alarm:theirs";
    expect(alarmToTopic(standins.iam, foreign, ops)).toMatchObject({ code: "AuthorizationError" });
    // The function URL: public (NONE) through the grants @pulumi/aws adds; not as AWS_IAM.
    const approvalArn = `arn:aws:lambda:us-east-1:123456789012:function:${names.approval}`;
    expect(functionUrlInvoke(standins.iam, approvalArn, "NONE")).toBeUndefined();
    expect(functionUrlInvoke(standins.iam, approvalArn, "AWS_IAM")).toMatchObject({
      code: "AccessDeniedException",
    });
  });
});
