/**
 * What we test is what ships: the program is evaluated under Pulumi's mock engine, each Lambda
 * archive it serializes is written out (`__index.js` + its node_modules, outside the project so
 * nothing leaks in from the repo's node_modules), and run in a fresh Node process with only what
 * the nodejs22.x runtime provides (the AWS SDK v3), against local stand-ins.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { builtinModules } from "node:module";
import {
  startLambda,
  type AllStandins,
  type ArchiveInfo,
  type LambdaProcess,
  type ProgramResult,
} from "../testing";
import { clickPayload, formBody, signedEvent } from "./approval/harness";
import { event } from "./support/fanout";
import { startArchive, startArchiveWorld } from "./support/archive";
import { evaluate } from "./support/program";

const MAX_ARCHIVE_BYTES = 5 * 1024 * 1024;
/** The one package handlers/ may require besides the SDK and Node built-ins (handlers/README.md). */
const RUNTIME_PACKAGES = ["croner"];

function requiresOf(archive: ArchiveInfo): string[] {
  const code = fs.readFileSync(path.join(archive.dir, "__index.js"), "utf8");
  return [...new Set([...code.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]))].sort();
}

describe.each(["staging", "prod"])("the %s archives", (stack) => {
  let result: ProgramResult;
  // An evaluation took 50–65 s of wall time in a full run on the loaded 2-core machine
  // (2026-12-01): 60 s timed the hook out twice. A limit on waiting, not a timed test.
  beforeAll(async () => {
    result = await evaluate({ stack });
  }, 180_000);

  it("contain only the serialized handler: no devDependencies, no @pulumi, no zod, no SDK", () => {
    for (const archive of result.archives) {
      const files = fs.readdirSync(archive.dir);
      const modules = path.join(archive.dir, "node_modules");
      const packages = fs.existsSync(modules) ? fs.readdirSync(modules) : [];
      expect({
        name: archive.name,
        files: files.filter((f) => f !== "node_modules"),
        packages: packages.filter((p) => !RUNTIME_PACKAGES.includes(p)),
      }).toEqual({ name: archive.name, files: ["__index.js"], packages: [] });
      expect(archive.bytes).toBeLessThan(MAX_ARCHIVE_BYTES);
      for (const mod of requiresOf(archive)) {
        const ok =
          builtinModules.includes(mod.replace(/^node:/, "")) ||
          mod.startsWith("@aws-sdk/") ||
          RUNTIME_PACKAGES.includes(mod);
        expect({ archive: archive.name, require: mod, ok }).toEqual({
          archive: archive.name,
          require: mod,
          ok: true,
        });
      }
    }
  });

  it("load and answer in a fresh Node process", async () => {
    const fanout = result.archives.find((a) => a.name === "fanout") as ArchiveInfo;
    const approval = result.archives.find((a) => a.name === "approval") as ArchiveInfo;
    const f = await startLambda({
      dir: fanout.dir,
      functionName: "fanout",
      env: fanout.environment,
    });
    const a = await startLambda({
      dir: approval.dir,
      functionName: "approval",
      env: approval.environment,
    });
    try {
      expect(await f.invoke({ Records: [] })).toMatchObject({
        ok: true,
        value: { batchItemFailures: [] },
      });
      // No Slack signature: the approval endpoint answers an opaque 401 before anything else.
      const unsigned = await a.invoke({
        version: "2.0",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "payload=%7B%7D",
        isBase64Encoded: false,
        requestContext: { http: { method: "POST", path: "/" } },
      });
      expect(unsigned).toMatchObject({
        ok: true,
        value: { statusCode: 401, body: "unauthorized" },
      });
    } finally {
      await Promise.all([f.close(), a.close()]);
    }
  });
});

describe("the prod archives, end to end against local stand-ins", () => {
  const SIGNING_SECRET = "artifact-test-signing-secret";
  /** A cron window, so that the fan-out runs croner from its archive's node_modules. */
  const CRON_WINDOW = {
    name: "cron-check",
    timeZone: "Europe/Berlin",
    cron: "0 12 * * *",
    durationMinutes: 60,
    pipelines: ["api-gateway-prod-cluster"],
  };
  let routingKey: string;
  let standins: AllStandins;
  let result: ProgramResult;
  let fanout: LambdaProcess;
  let approval: LambdaProcess;

  beforeAll(async () => {
    // The resources the program declared, made real in the stand-ins under the same names.
    const world = await startArchiveWorld({
      signingSecret: SIGNING_SECRET,
      edit: (raw) => ({
        ...raw,
        downtime: [...((raw.downtime as unknown[] | undefined) ?? []), CRON_WINDOW],
      }),
    });
    ({ standins, result } = world);
    routingKey = world.local.secrets["pagerduty-oncall"].routingKey;
    fanout = (await startArchive(world, "fanout")).lambda;
    const started = await startArchive(world, "approval");
    const approvalName = started.functionName;
    approval = started.lambda;
    standins.aws.registerFunction(approvalName, async (e) => (await approval.invoke(e)).value);
  }, 90_000);
  afterAll(async () => {
    await Promise.all([fanout?.close(), approval?.close()]);
    await standins?.close();
  });

  it("deliver a prod failure to PagerDuty, Slack and SMS", async () => {
    const executionId = randomUUID();
    const body = JSON.stringify(event("pipeline-failed", { "execution-id": executionId }));

    const out = await fanout.invoke({
      Records: [
        {
          messageId: "m1",
          body,
          attributes: { ApproximateReceiveCount: "1" },
          eventSource: "aws:sqs",
        },
      ],
    });

    expect(out).toMatchObject({ ok: true, value: { batchItemFailures: [] } });
    const r = standins.receivers;
    expect(r.byReceiver("pagerduty")).toHaveLength(1);
    expect((r.byReceiver("pagerduty")[0].body as any).routing_key).toBe(routingKey);
    expect(r.byReceiver("slack", "slack-eng")).toHaveLength(1);
    expect(standins.aws.state.sns.published).toHaveLength(1);
    expect(standins.aws.state.sns.published[0].topicArn).toBe(
      JSON.parse(result.archives[0].environment.CHANNEL_TOPICS)["sms-oncall"],
    );
  });

  it("suppress a failure inside a cron window (croner, required from the archive)", async () => {
    const pages = () => standins.receivers.byReceiver("pagerduty").length;
    const failedAt = (time: string) =>
      fanout.invoke({
        Records: [
          {
            messageId: randomUUID(),
            body: JSON.stringify(
              event(
                "pipeline-failed",
                { pipeline: "api-gateway-prod-cluster", "execution-id": randomUUID() },
                { id: randomUUID(), time },
              ),
            ),
            attributes: { ApproximateReceiveCount: "1" },
          },
        ],
      });
    const before = pages();

    // 12:30 CEST is inside "0 12 * * *" for 60 minutes; 13:00 CEST is its end.
    const inside = await failedAt("2026-03-29T10:30:00Z");
    const suppressed = pages();
    const after = await failedAt("2026-03-29T11:00:00Z");

    expect([inside, after]).toMatchObject([
      { ok: true, value: { batchItemFailures: [] } },
      { ok: true, value: { batchItemFailures: [] } },
    ]);
    expect([suppressed, pages()]).toEqual([before, before + 1]);
  });

  it("park an undeliverable event in the DLQ with the reason", async () => {
    const body = JSON.stringify(event("pipeline-failed", { "execution-id": randomUUID() }));
    standins.receivers.setFault("slack", { status: 404, body: "channel_not_found" });

    const out = await fanout.invoke({
      Records: [{ messageId: "m2", body, attributes: { ApproximateReceiveCount: "1" } }],
    });
    standins.receivers.setFault("slack", null);

    expect(out).toMatchObject({ ok: true, value: { batchItemFailures: [] } });
    // Grouping (issue 11) may also have queued a digest flush on the events queue (the earlier
    // failures here spent the SMS channel's 1 text per window): the DLQ message is the one parked.
    const dlq = result.archives[0].environment.DEAD_LETTER_QUEUE_URL;
    const parked = standins.aws.state.sqs.sent.find((m) => m.queueUrl === dlq)!;
    expect(parked?.queueUrl).toBe(dlq);
    expect(parked.attributes).toMatchObject({
      failedChannels: "slack-eng",
      reason: expect.stringContaining("channel_not_found"),
    });
  });

  it("approve a pending approval end to end", async () => {
    const executionId = randomUUID();
    standins.aws.addPendingApproval({
      pipeline: "main-app-production-v3",
      stage: "Approve",
      action: "ManualApproval",
      executionId,
    });
    const responseId = randomUUID();
    const payload = clickPayload({
      user: { id: "U012ABCDEF", username: "jane", name: "Jane Doe" },
      executionId,
      pipeline: "main-app-production-v3",
      responseUrl: standins.receivers.urlFor("slack-response", responseId),
    });

    const ack = await approval.invoke(signedEvent(formBody(payload), { secret: SIGNING_SECRET }));
    await standins.aws.idle();

    expect(ack).toMatchObject({ ok: true, value: { statusCode: 200 } });
    const puts = standins.aws.state.codepipeline.calls.filter(
      (c) => c.operation === "PutApprovalResult",
    );
    expect(puts).toHaveLength(1);
    expect(puts[0].input).toMatchObject({
      pipelineName: "main-app-production-v3",
      stageName: "Approve",
      actionName: "ManualApproval",
      result: { status: "Approved", summary: "Approved by Jane Doe (U012ABCDEF) via Slack" },
    });
    const update = standins.receivers.byReceiver("slack-response", responseId).at(-1)?.body as any;
    expect(update.replace_original).toBe(true);
    expect(JSON.stringify(update)).toContain("Approved by <@U012ABCDEF>");
  });

  it("made every AWS call as its own role, checked against the declared policy and allowed", () => {
    // testing/iam: the processes hold credentials naming their roles (standins.envFor).
    const callers = new Set(standins.iam.decisions.map((d) => d.caller.split("/").pop()));
    expect([...callers].sort()).toEqual(
      [result.outputs.approvalFunctionName, result.outputs.fanoutFunctionName].sort(),
    );
    expect(standins.iam.decisions.filter((d) => d.decision !== "Allow")).toEqual([]);
  });
});
