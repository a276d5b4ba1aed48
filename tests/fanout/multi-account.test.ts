/**
 * Issue 14, the fan-out side: pipelines are (account, region, name). Against real local
 * receivers, AWS stand-ins and dynalite: events from source accounts are routed and tiered by
 * account, same-named pipelines of two accounts never collapse into one (outcome claims, ledger,
 * audit trail, messages), an event from an account or region that is not configured is refused
 * and audited, and the home account's keys are what they were before issue 14.
 */
import { createHash, randomUUID } from "node:crypto";
import { pipelineArn } from "../../handlers/contracts/pipeline-id";
import { event, record, startFanoutWorld, type FanoutWorld } from "../support/fanout";

/** The notifier's own account: the fixtures' `account` (tests/events/codepipeline/*.json). */
const HOME = "123456789012";
/** The stand-ins' region (testing/aws: `AWS_REGION`). */
const HOME_REGION = "us-east-1";
const PROD = "111111111111";
const SANDBOX = "222222222222";
const STRANGER = "999999999999";

let world: FanoutWorld;
const savedHome = process.env.HOME_ACCOUNT;

beforeAll(async () => {
  world = await startFanoutWorld((raw) => {
    raw.sources = [
      { account: PROD, regions: [HOME_REGION, "eu-west-1"], alias: "payments-prod" },
      { account: SANDBOX, regions: [HOME_REGION], alias: "sandbox" },
    ];
    raw.pipelines = [
      ...raw.pipelines,
      // One name, two tiers: critical in the prod account, quiet in the sandbox account.
      { name: "deploy-api", account: PROD, tier: "critical", states: ["FAILED"] },
      { name: "deploy-api", account: SANDBOX, tier: "quiet", states: ["FAILED"] },
      // Any admitted account: the same name lives in several.
      { name: "shared-svc", tier: "standard", states: ["FAILED", "SUCCEEDED"] },
    ];
    raw.routing = { ...raw.routing, quiet: [] };
  });
  // What infra/notifier.ts sets on the fan-out of a stack with sources.
  process.env.HOME_ACCOUNT = HOME;
  expect(process.env.AWS_REGION).toBe(HOME_REGION);
});
afterAll(async () => {
  if (savedHome === undefined) delete process.env.HOME_ACCOUNT;
  else process.env.HOME_ACCOUNT = savedHome;
  await world.close();
});
beforeEach(() => world.reset());

const r = () => world.standins.receivers;
const slackMessages = () => r().byReceiver("slack", "slack-eng");
const pages = () => r().byReceiver("pagerduty");
const texts = () => world.standins.aws.state.sns.published;

/** A pipeline-level FAILED (or other state) of `pipeline` in `account` / `region`. */
function failed(
  pipeline: string,
  account: string,
  region = HOME_REGION,
  executionId = randomUUID(),
  state = "FAILED",
) {
  const arn = pipelineArn({ account, region, name: pipeline });
  return event(
    state === "FAILED" ? "pipeline-failed" : "pipeline-succeeded",
    { pipeline, "execution-id": executionId, state },
    { id: randomUUID(), account, region, resources: [arn] },
  );
}

describe("routing and tiers by account", () => {
  it("pages for deploy-api in the prod account and sends nothing for the sandbox's deploy-api", async () => {
    const prod = failed("deploy-api", PROD);
    const sandbox = failed("deploy-api", SANDBOX);

    const left = await world.drain([prod, sandbox]);

    expect(left).toEqual([]);
    // critical: PagerDuty, Slack and SMS — once, and only for the prod account's execution.
    expect(pages()).toHaveLength(1);
    expect(pages()[0].body).toMatchObject({ event_action: "trigger" });
    expect(JSON.stringify(pages()[0].body)).toContain(prod.detail["execution-id"]);
    expect(JSON.stringify(pages()[0].body)).toContain("payments-prod");
    expect(slackMessages()).toHaveLength(1);
    expect(texts()).toHaveLength(1);
    expect(texts()[0].message).toMatch(/^FAILED deploy-api \(payments-prod, us-east-1\)/);
    // quiet (a tier with no channels): nothing sent, nothing claimed for the sandbox's execution.
    const sandboxItems = (await world.items()).filter(
      (i) => i.executionId === sandbox.detail["execution-id"],
    );
    expect(sandboxItems.filter((i) => i.status === "sent")).toEqual([]);
  });
});

describe("same-named pipelines in two accounts", () => {
  it("keep two outcome claims, two ledger slots, two audit trails and two messages naming their account", async () => {
    // Same name, same execution id, same event time: only the account tells them apart.
    const executionId = randomUUID();
    const a = failed("shared-svc", PROD, HOME_REGION, executionId);
    const b = { ...failed("shared-svc", SANDBOX, HOME_REGION, executionId), time: a.time };

    const left = await world.drain([a, b]);

    expect(left).toEqual([]);
    const texts2 = slackMessages().map((m) => JSON.stringify(m.body));
    expect(texts2).toHaveLength(2);
    expect(texts2.filter((t) => t.includes("shared-svc (payments-prod, us-east-1)"))).toHaveLength(
      1,
    );
    expect(texts2.filter((t) => t.includes("shared-svc (sandbox, us-east-1)"))).toHaveLength(1);
    // The "Account / region" field names the alias and the id (the console's account switcher).
    expect(texts2.some((t) => t.includes(`payments-prod (${PROD}) / us-east-1`))).toBe(true);

    const arnA = pipelineArn({ account: PROD, region: HOME_REGION, name: "shared-svc" });
    const arnB = pipelineArn({ account: SANDBOX, region: HOME_REGION, name: "shared-svc" });
    const items = await world.items();
    const outcomes = items.filter((i) => String(i.pk).startsWith("OUTCOME#")).map((i) => i.pk);
    expect(outcomes).toEqual(
      expect.arrayContaining([`OUTCOME#${arnA}#${executionId}`, `OUTCOME#${arnB}#${executionId}`]),
    );
    expect(outcomes.filter((pk) => String(pk).includes(executionId))).toHaveLength(2);
    const ledger = items.filter((i) => i.executionId === executionId && i.status === "sent");
    expect(ledger.map((i) => i.pk).sort()).toEqual(
      [`DELIVERY#PIPELINE#${arnA}`, `DELIVERY#PIPELINE#${arnB}`].sort(),
    );
    // Each delivery record carries its account and region, and its own notification id.
    expect(ledger.map((i) => [i.account, i.region]).sort()).toEqual([
      [PROD, HOME_REGION],
      [SANDBOX, HOME_REGION],
    ]);
    expect(new Set(ledger.map((i) => i.notificationId)).size).toBe(2);
    // Read the way the audit trail is meant to be read: by pipeline key.
    expect(await world.auditByPipeline(arnA)).toHaveLength(1);
    expect(await world.auditByPipeline(arnB)).toHaveLength(1);
    expect(await world.auditByPipeline("shared-svc")).toEqual([]);
  });

  it("keys the prod account's PagerDuty incident by the pipeline's ARN, not its bare name", async () => {
    const executionId = randomUUID();
    const prod = failed("deploy-api", PROD, HOME_REGION, executionId);
    // A home pipeline of the same name in a critical tier would share a bare-name key: the prod
    // account's incident is keyed by the pipeline's ARN instead.
    await world.drain([prod]);

    expect(pages()).toHaveLength(1);
    const key = String((pages()[0].body as { dedup_key?: string }).dedup_key);
    expect(key).toContain(pipelineArn({ account: PROD, region: HOME_REGION, name: "deploy-api" }));
  });
});

describe("events from accounts and regions that are not configured", () => {
  it("refuses an unconfigured account: audited with the reason, counted, never retried, nothing sent", async () => {
    const ev = failed("shared-svc", STRANGER);
    const batch = await world.withLogLevel("INFO", () =>
      world.invoke([record(ev, `m-${randomUUID()}`)]),
    );

    expect(batch.batchItemFailures).toEqual([]);
    expect(slackMessages()).toHaveLength(0);
    expect(pages()).toHaveLength(0);
    const arn = pipelineArn({ account: STRANGER, region: HOME_REGION, name: "shared-svc" });
    const audit = await world.audit((a) => a.eventId === ev.id);
    expect(audit).toEqual([
      expect.objectContaining({
        pk: `PIPELINE#${arn}`,
        action: "rejected-input",
        pipeline: arn,
        account: STRANGER,
        region: HOME_REGION,
        executionId: ev.detail["execution-id"],
        result: `account ${STRANGER} is not a configured source (config key sources)`,
        detail: expect.objectContaining({ kind: "unconfigured-source" }),
      }),
    ]);
    // Never filed under the home pipeline of the same name.
    expect(await world.auditByPipeline("shared-svc")).toEqual([]);
    const metric = world.lines.find(
      (l) => l._aws && l.Rejected === 1 && l.Reason === "unconfigured-source",
    );
    expect(metric).toBeDefined();
  });

  it("refuses a configured account's region that is not in its regions, naming the config key", async () => {
    const ev = failed("shared-svc", SANDBOX, "eu-west-1");

    const left = await world.drain([ev]);

    expect(left).toEqual([]);
    expect(slackMessages()).toHaveLength(0);
    const [audit] = await world.audit((a) => a.eventId === ev.id);
    expect(audit).toMatchObject({
      action: "rejected-input",
      result: `region eu-west-1 of account ${SANDBOX} is not a configured source region (config key sources[1].regions)`,
    });
  });

  it("admits a configured account's second region, keyed apart from its first", async () => {
    const executionId = randomUUID();
    const us = failed("shared-svc", PROD, HOME_REGION, executionId);
    const eu = failed("shared-svc", PROD, "eu-west-1", executionId);

    await world.drain([us, eu]);

    const bodies = slackMessages().map((m) => JSON.stringify(m.body));
    expect(bodies).toHaveLength(2);
    expect(bodies.some((t) => t.includes("shared-svc (payments-prod, eu-west-1)"))).toBe(true);
    // The console link opens the pipeline's own region (CodePipeline console URLs are regional).
    expect(
      bodies.some((t) =>
        t.includes(
          `https://eu-west-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/shared-svc/executions/${executionId}/timeline?region=eu-west-1`,
        ),
      ),
    ).toBe(true);
  });
});

describe("the home account", () => {
  it("keeps its keys and notification ids byte for byte (items written before issue 14 stay valid)", async () => {
    const executionId = randomUUID();
    const ev = failed("shared-svc", HOME, HOME_REGION, executionId);

    await world.drain([ev]);

    const items = await world.items();
    expect(items.map((i) => i.pk)).toEqual(
      expect.arrayContaining([`OUTCOME#shared-svc#${executionId}`, "DELIVERY#PIPELINE#shared-svc"]),
    );
    // The v1 notification id of a home event: the bare name, as before issue 14 (events/normalize.ts).
    const id = createHash("sha256")
      .update(JSON.stringify(["v1", "shared-svc", executionId, "pipeline", "", "", "FAILED", 1]))
      .digest("hex")
      .slice(0, 24);
    const sent = items.filter((i) => i.executionId === executionId && i.status === "sent");
    expect(sent.map((i) => i.notificationId)).toEqual([id]);
    expect(sent[0]).toMatchObject({ pipeline: "shared-svc", account: HOME, region: HOME_REGION });
    // A stack with sources names every pipeline's account, home included (no alias: the id).
    expect(JSON.stringify(slackMessages()[0].body)).toContain(`shared-svc (${HOME}, us-east-1)`);
  });
});
