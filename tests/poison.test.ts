/**
 * Poison input through the whole fan-out (real local receivers, the local SNS, dynalite): lone
 * UTF-16 surrogates, identifiers longer than DynamoDB's key limits, and one record's failure next
 * to others. Issue 12, "Poison input".
 */
import { randomUUID } from "node:crypto";
import * as keys from "../handlers/store/keys";
import * as outcomeStore from "../handlers/store/outcome";
import { event, record, startFanoutWorld, type FanoutWorld } from "./support/fanout";

const EMAIL_TOPIC = "arn:aws:sns:us-east-1:123456789012:channel-email-ops";
const PIPELINE = "main-app-production-v3";

let world: FanoutWorld;

beforeAll(async () => {
  world = await startFanoutWorld((raw) => {
    // Every channel type on the critical tier, so the poison reaches each one.
    raw.channels["teams-ops"] = { type: "teams" };
    raw.channels["discord-ops"] = { type: "discord" };
    raw.channels["hook-ops"] = { type: "webhook" };
    raw.channels["email-ops"] = { type: "email", addresses: ["ops@example.com"] };
    raw.routing.critical = [
      ...raw.routing.critical,
      "teams-ops",
      "discord-ops",
      "hook-ops",
      "email-ops",
    ];
    raw.secrets["teams-ops"] = { webhookUrl: "http://127.0.0.1:1/placeholder" };
    raw.secrets["discord-ops"] = { webhookUrl: "http://127.0.0.1:1/placeholder" };
    raw.secrets["hook-ops"] = { url: "http://127.0.0.1:1/placeholder", bearerToken: "hook-tok-1" };
  });
  const r = world.standins.receivers;
  const secrets = JSON.parse(JSON.stringify(world.config.channelSecrets));
  secrets["teams-ops"].webhookUrl = r.urlFor("teams", "teams-ops");
  secrets["discord-ops"].webhookUrl = r.urlFor("discord", "discord-ops");
  secrets["hook-ops"].url = r.urlFor("webhook", "hook-ops");
  world.config.channelSecrets = secrets;
  process.env.CHANNEL_TOPICS = JSON.stringify({
    ...JSON.parse(process.env.CHANNEL_TOPICS as string),
    "email-ops": EMAIL_TOPIC,
  });
});
afterAll(() => world.close());
beforeEach(() => world.reset());
afterEach(() => jest.restoreAllMocks());

const r = () => world.standins.receivers;
const published = () => world.standins.aws.state.sns.published;
const HTTP_RECEIVERS = ["slack", "pagerduty", "teams", "discord", "webhook"] as const;

/** A CodeBuild failure of the critical pipeline whose build summary is `summary`. */
function buildFailure(summary: string, executionId: string = randomUUID()) {
  return event(
    "action-codebuild-failed",
    {
      pipeline: PIPELINE,
      "execution-id": executionId,
      "execution-result": {
        "external-execution-id": "build:1",
        "external-execution-summary": summary,
      },
    },
    { id: randomUUID() },
  );
}

/** Every string inside `value` (object values and keys, array items). */
function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) for (const v of value) strings(v, out);
  else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      out.push(k);
      strings(v, out);
    }
  }
  return out;
}

/** True when every string is well-formed Unicode (no lone surrogate). ES2024 `isWellFormed`. */
function wellFormed(value: unknown): boolean {
  return strings(value).every((s) => (s as unknown as { isWellFormed(): boolean }).isWellFormed());
}

/** Everything each channel received, by receiver (HTTP bodies; SNS message and subject). */
function received(): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const kind of HTTP_RECEIVERS)
    out[kind] = r()
      .byReceiver(kind)
      .map((d) => d.body);
  out.sns = published().map((p) => ({ topic: p.topicArn, message: p.message, subject: p.subject }));
  return out;
}

/** 199 characters, then a lone high surrogate: half of 😀 (U+1F600 is "\uD83D\uDE00"). */
const HIGH_AT_END = `${"Build failed: ".padEnd(199, "x")}\uD83D`;
/** A lone low surrogate in the middle of the summary. */
const LOW_INSIDE = "Build failed \uDE00 in the unit tests";

describe("a lone UTF-16 surrogate (issue 12: half an emoji in a build summary)", () => {
  it.each([
    ["a lone high surrogate at the end of a 200-char summary", HIGH_AT_END],
    ["a lone low surrogate", LOW_INSIDE],
  ])(
    "reaches every channel as well-formed text with U+FFFD: %s",
    async (_name, summary) => {
      expect(summary.length).toBeLessThanOrEqual(200);
      const ev = buildFailure(summary);

      const left = await world.drain([ev], { remainingMs: 10_000 });

      expect(left).toEqual([]);
      expect(world.standins.aws.state.sqs.sent).toEqual([]);
      const got = received();
      // Each of the 7 channels got exactly one message (SNS: the SMS and the email topic).
      for (const kind of HTTP_RECEIVERS) expect(got[kind]).toHaveLength(1);
      expect(
        published()
          .map((p) => p.topicArn)
          .sort(),
      ).toEqual([EMAIL_TOPIC, "arn:aws:sns:us-east-1:123456789012:channel-sms-oncall"].sort());
      expect(wellFormed(got)).toBe(true);
      const email = published().find((p) => p.topicArn === EMAIL_TOPIC);
      expect(email?.message).toContain("\uFFFD");
      for (const kind of ["slack", "pagerduty", "teams", "discord", "webhook"]) {
        expect(JSON.stringify(got[kind])).toContain("\uFFFD");
      }
      // The audit trail is well-formed too (DynamoDB stores UTF-8).
      expect(wellFormed(await world.audit())).toBe(true);
    },
    30_000,
  );

  it("is well-formed when it comes from the CodePipeline API (a pipeline-level FAILED, enriched)", async () => {
    const executionId = randomUUID();
    world.standins.aws.addFailedExecution({
      pipeline: PIPELINE,
      executionId,
      stage: "Build",
      action: "BuildAndTest",
      category: "Build",
      provider: "CodeBuild",
      errorCode: "JobFailed",
      summary: HIGH_AT_END,
    } as any);
    const ev = event("pipeline-failed", { pipeline: PIPELINE, "execution-id": executionId });

    expect(await world.drain([ev], { remainingMs: 10_000 })).toEqual([]);

    const got = received();
    expect(got.slack).toHaveLength(1);
    expect(JSON.stringify(got.slack)).toContain("Build failed: xxx");
    expect(JSON.stringify(got.slack)).toContain("\uFFFD");
    expect(wellFormed(got)).toBe(true);
    expect(published()).toHaveLength(2);
  }, 30_000);

  it("delivers the on-call SMS of a normal event batched with a poison one", async () => {
    const poison = buildFailure(HIGH_AT_END);
    const normal = buildFailure("Unit tests failed: 3 of 812");

    const out = await world.invoke([record(poison, "poison-1"), record(normal, "normal-1")]);

    expect(out.batchItemFailures).toEqual([]);
    const sms = published().filter((p) => p.topicArn !== EMAIL_TOPIC);
    expect(sms).toHaveLength(2);
    expect(sms.every((p) => wellFormed(p.message))).toBe(true);
    expect(world.standins.aws.state.sqs.sent).toEqual([]);
  }, 30_000);
});

/** Every item in the table (audit, ledger, claims). */
const allItems = (): Promise<Record<string, unknown>[]> => world.items();

const bytes = (v: unknown) => Buffer.byteLength(String(v), "utf8");

describe("a direction override in a build summary (Trojan Source, CVE-2021-42574)", () => {
  it("reaches every channel and the audit trail with each bidi control shown as its code point", async () => {
    // Displays as "Build passed: deploy to prod" reversed in part; what it says is below.
    const summary = "Build failed: \u202Edorp ot yolped\u202C \u2066isolated\u2069 \u200Fmark";
    const ev = buildFailure(summary);

    expect(await world.drain([ev], { remainingMs: 10_000 })).toEqual([]);

    const got = received();
    for (const kind of HTTP_RECEIVERS) expect(got[kind]).toHaveLength(1);
    const all = strings(got).join("\n") + strings(await world.audit()).join("\n");
    expect(all).not.toMatch(/[\u202A-\u202E\u2066-\u2069]/);
    for (const kind of ["slack", "pagerduty", "teams", "discord", "webhook"])
      expect(JSON.stringify(got[kind])).toMatch(/U\+202E\\*\]dorp ot yolped\\*\[U\+202C/);
    const email = published().find((p) => p.topicArn === EMAIL_TOPIC);
    expect(email?.message).toContain("[U+202E]dorp ot yolped[U+202C] [U+2066]isolated[U+2069]");
    // A right-to-left mark reorders nothing beyond neutral characters: kept as it is.
    expect(email?.message).toContain("\u200Fmark");
  }, 30_000);
});

describe("identifiers over DynamoDB's key limits", () => {
  it("rejects a 5000-character execution id with an audited reason, never a reasonless DLQ", async () => {
    const long = `exec-${"9".repeat(4995)}`;
    const poison = buildFailure("Unit tests failed", long);
    const good = buildFailure("Unit tests failed");

    const left = await world.drain([poison, good]);

    expect(left).toEqual([]);
    expect(world.standins.aws.state.sqs.sent).toEqual([]);
    const rejected = await world.audit((a) => a.action === "rejected-input");
    expect(rejected.map((a) => a.result)).toContain(
      "detail.execution-id: longer than 1024 characters",
    );
    expect(rejected.find((a) => a.eventId === poison.id)?.detail?.kind).toBe("malformed");
    // The good event went everywhere once.
    expect(r().byReceiver("slack", "slack-eng")).toHaveLength(1);
  }, 30_000);

  it("delivers an event with a 1024-character multi-byte execution id once, every key within the byte limits", async () => {
    // 1024 characters of "€" (3 UTF-8 bytes each): 3072 bytes, over both limits, within MAX_ID_CHARS.
    const executionId = "€".repeat(1024);
    const ev = buildFailure("Unit tests failed", executionId);

    expect(await world.drain([ev])).toEqual([]);
    expect(await world.drain([{ ...ev, id: randomUUID() }])).toEqual([]);

    expect(world.standins.aws.state.sqs.sent).toEqual([]);
    expect(r().byReceiver("slack", "slack-eng")).toHaveLength(1);
    expect(r().byReceiver("pagerduty")).toHaveLength(1);
    const items = await allItems();
    // DynamoDB Developer Guide, "Constraints in Amazon DynamoDB", partition keys and sort keys:
    // partition key ≤ 2048 bytes, sort key ≤ 1024 bytes (dynalite counts characters, not bytes).
    for (const item of items) {
      expect(bytes(item.pk)).toBeLessThanOrEqual(keys.MAX_PARTITION_KEY_BYTES);
      expect(bytes(item.sk)).toBeLessThanOrEqual(keys.MAX_SORT_KEY_BYTES);
      if (item.gsi1pk !== undefined) expect(bytes(item.gsi1pk)).toBeLessThanOrEqual(2048);
    }
    const mine = items.filter((i) => i.executionId === executionId);
    expect(mine.some((i) => i.action === "sent")).toBe(true);
    expect(mine.some((i) => String(i.gsi1pk).includes("#sha256:"))).toBe(true);
    // The audit trail of the execution is still found through the index.
    const byExec = await world.auditByExecution(executionId);
    expect(byExec.filter((a) => a.action === "sent").length).toBeGreaterThanOrEqual(7);
  }, 30_000);
});

describe("one record's failure never changes another record's delivery", () => {
  it("delivers the two good records around a poison one that throws, and retries only the poison", async () => {
    const first = buildFailure("first good failure");
    const poison = buildFailure(`${HIGH_AT_END} ${"\uDC00".repeat(3)}`);
    const last = buildFailure("last good failure");
    // The poison's bookkeeping fails the way DynamoDB refused an over-long key before the fix
    // (a ValidationException thrown out of the record), in the same pipeline as the good ones.
    const real = outcomeStore.claimOutcome;
    jest.spyOn(outcomeStore, "claimOutcome").mockImplementation(async (...args) => {
      if (args[1] === poison.detail["execution-id"]) {
        throw Object.assign(new Error("Size of hashkey has exceeded the maximum size limit"), {
          name: "ValidationException",
        });
      }
      return real(...args);
    });

    const out = await world.invoke([
      record(first, "first"),
      record(poison, "poison"),
      record(last, "last"),
    ]);

    expect(out.batchItemFailures).toEqual([{ itemIdentifier: "poison" }]);
    const slack = r()
      .byReceiver("slack", "slack-eng")
      .map((d) => JSON.stringify(d.body));
    expect(slack).toHaveLength(2);
    expect(slack.some((b) => b.includes("first good failure"))).toBe(true);
    expect(slack.some((b) => b.includes("last good failure"))).toBe(true);
    const sms = published().filter((p) => p.topicArn !== EMAIL_TOPIC);
    expect(sms).toHaveLength(2);
    for (const good of [first, last]) {
      const sent = await world.audit(
        (a) => a.executionId === good.detail["execution-id"] && a.action === "sent",
      );
      expect(sent.map((a) => a.channel).sort()).toEqual(
        [
          "discord-ops",
          "email-ops",
          "hook-ops",
          "pagerduty-oncall",
          "slack-eng",
          "sms-oncall",
          "teams-ops",
        ].sort(),
      );
    }
  }, 30_000);
});

describe("every rejected input is audited with its reason", () => {
  it("audits malformed, foreign, too long and undecodable records, each with its reason and kind", async () => {
    const longPipeline = "€".repeat(1024); // 3072 UTF-8 bytes: over the audit partition's 2048
    const cases: [string, unknown, RegExp, "malformed" | "foreign"][] = [
      ["not-json", "{not json", /^body: not JSON/, "malformed"],
      [
        "foreign",
        event("pipeline-failed", {}, { source: "aws.ec2" }),
        /^source "aws\.ec2" is not aws\.codepipeline$/,
        "foreign",
      ],
      [
        "missing-id",
        event("malformed-missing-execution-id"),
        /^detail\.execution-id: missing$/,
        "malformed",
      ],
      [
        "too-long",
        event("pipeline-failed", { pipeline: longPipeline, "execution-id": "x".repeat(5000) }),
        /^detail\.(pipeline|execution-id): longer than 1024 characters$/,
        "malformed",
      ],
      [
        "lone-surrogate",
        JSON.stringify("\uD83D"),
        /^body: double-encoded string is not JSON/,
        "malformed",
      ],
    ];

    const out = await world.invoke(cases.map(([id, body]) => record(body, `rej-${id}`)));

    expect(out.batchItemFailures).toEqual([]);
    expect(world.standins.aws.state.sqs.sent).toEqual([]);
    const rejected = await world.audit((a) => a.action === "rejected-input");
    for (const [id, , reason, kind] of cases) {
      const item = rejected.find((a) => a.detail?.messageId === `rej-${id}`);
      expect({ id, result: item?.result, kind: item?.detail?.kind }).toEqual({
        id,
        result: expect.stringMatching(reason),
        kind,
      });
      expect(wellFormed(item)).toBe(true);
    }
    // The over-long one is still found under its pipeline (the partition key hashed to fit).
    const byPipeline = await world.auditByPipeline(longPipeline);
    expect(byPipeline.map((a) => a.detail?.messageId)).toContain("rej-too-long");
    // dynalite counts characters; DynamoDB counts UTF-8 bytes (Developer Guide, "Constraints").
    const tooLong = byPipeline.find((a) => a.detail?.messageId === "rej-too-long");
    expect(bytes(tooLong?.pk)).toBeLessThanOrEqual(keys.MAX_PARTITION_KEY_BYTES);
    expect(bytes(tooLong?.gsi1pk)).toBeLessThanOrEqual(keys.MAX_PARTITION_KEY_BYTES);
  }, 30_000);
});
