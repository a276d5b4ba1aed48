/**
 * A digest the channel refuses for good is never silently dropped (redteam11; fanout/digest-flush.ts,
 * digest-send.ts). Slack's chat.postMessage answers HTTP 200 `{"ok":false,"error":"msg_blocks_too_long"}`
 * when a message's blocks carry more than about 12,000 characters of text (slackapi/bolt-js#2509;
 * https://docs.slack.dev/reference/block-kit/blocks/markdown-block: 12,000 cumulative). The
 * classifier calls it permanent (http-response.ts), and the flush gave a permanently failed digest
 * up (`if (permanent) return true`): no retry, no DLQ, every notification grouped into the
 * window lost on that channel. Now a size refusal is answered with a shorter digest (the counts
 * and the first pipelines), and any other permanent refusal dead-letters the flush with its reason
 * at once, as a single notification's would be (record.ts), with the channel's `Failed` count.
 *
 * Real fan-out, dynalite, the SQS stand-in, and a real HTTP server on 127.0.0.1 playing Slack's
 * Web API: it refuses a message over `refuseOverChars` characters of block text, as Slack does
 * over its (undocumented, about 12,000) limit, here lower so that a digest within our own budget
 * is refused too.
 */
import { randomUUID } from "node:crypto";
import { digestFlushBody } from "../../handlers/contracts/digest-flush";
import { digestRef } from "../../handlers/fanout/digest-build";
import { SHORT_DIGEST_PIPELINES } from "../../handlers/fanout/digest-send";
import { digestSlot } from "../../handlers/fanout/grouping";
import { markGrouped } from "../../handlers/store/digest";
import { claimDelivery } from "../../handlers/store/ledger";
import { deliveryRecordKey } from "../../handlers/store/keys";
import { startServer, type LocalServer } from "../channels/helpers";
import { DLQ_URL, record, startFanoutWorld, type FanoutWorld } from "../support/fanout";
import { blockTextLength } from "../../testing/receivers/slack-blocks";

const EVENTS_QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/events";
const CHANNEL = "slack-eng";
const WINDOW_MS = 60_000;

/** What Slack counts toward its block text: the local Slack's count (testing/receivers). */
const blockChars = (body: { blocks?: unknown }) => blockTextLength(body.blocks);

/** How the local Slack answers chat.postMessage. */
const slackRule: { refuseOverChars: number; error: string } = {
  refuseOverChars: Infinity,
  error: "msg_blocks_too_long",
};

let slack: LocalServer;
let world: FanoutWorld;
const saved = { ...process.env };

beforeAll(async () => {
  process.env.EVENTS_QUEUE_URL = EVENTS_QUEUE_URL;
  slack = await startServer((req, res) => {
    const body = JSON.parse(req.body) as { blocks?: unknown };
    const refused = blockChars(body) > slackRule.refuseOverChars;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify(
        refused ? { ok: false, error: slackRule.error } : { ok: true, ts: "1796040000.000100" },
      ),
    );
  });
  world = await startFanoutWorld((raw) => {
    raw.secrets[CHANNEL] = { botToken: "xoxb-local-eng" };
    raw.channels[CHANNEL] = { type: "slack", mode: "bot", channel: "C012ABCDEF" };
  });
  Object.assign(world.config.runtime.channels[CHANNEL], { apiUrl: slack.url });
});
afterAll(async () => {
  await world.close();
  await slack.close();
  process.env = saved;
});
beforeEach(async () => {
  world.reset();
  world.lines.length = 0;
  slack.requests.length = 0;
  await world.forgetPacing();
});

const counted = (metric: "Sent" | "Failed") =>
  world.lines.filter((l) => l._aws && l[metric] === 1).map((l) => String(l.Channel));
const sentTo = (url: string) => world.standins.aws.state.sqs.sent.filter((m) => m.queueUrl === url);
const posts = () => slack.requests.map((r) => JSON.parse(r.body) as { blocks: unknown[] });

/** `n` realistic failures grouped into a closed window of their own; returns its flush. */
async function groupedStorm(n: number) {
  const windowStart =
    (Math.floor(Date.now() / WINDOW_MS) - 1 - Math.floor(Math.random() * 1e6)) * WINDOW_MS;
  for (let i = 0; i < n; i++) {
    const id = randomUUID();
    const pipeline = `svc-${String(i).padStart(2, "0")}-payments-api-production`;
    const time = new Date(windowStart + 1000 + i).toISOString();
    // Claimed first, as the fan-out does (the claim writes the item's ids, account and region).
    const ref = {
      pipeline,
      eventTime: time,
      notificationId: `n-${id}`,
      slot: CHANNEL,
      channel: CHANNEL,
      executionId: id,
      account: "123456789012",
      region: "us-east-1",
    };
    await claimDelivery(ref, Date.now() + 60_000, 1, Date.now(), Date.now() + 10_000);
    await markGrouped(
      ref,
      digestSlot(CHANNEL, { windowStart }),
      {
        notificationId: `n-${id}`,
        kind: "failure",
        pipeline,
        account: "123456789012",
        region: "us-east-1",
        executionId: id,
        stage: "Build",
        time,
        consoleUrl: `https://us-east-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/${pipeline}/executions/${id}/timeline?region=us-east-1`,
        summary:
          "Build terminated with state: FAILED. Phase: BUILD, Code: COMMAND_EXECUTION_ERROR, " +
          "Message: Error while executing command: ./gradlew build --no-daemon. Reason: exit status 1",
        severity: "critical",
      },
      Date.now() + 10_000,
    );
  }
  return { channel: CHANNEL, windowStart, windowMs: WINDOW_MS };
}

async function digestSlotItem(f: { channel: string; windowStart: number }) {
  const r = digestRef(f);
  const key = deliveryRecordKey(r.pipeline, r.eventTime, r.notificationId, r.slot);
  return (await world.items()).find((i) => i.pk === key.pk && i.sk === key.sk);
}

describe("a digest refused by the channel", () => {
  it("refused for its size (ok:false msg_blocks_too_long): sent again shortened — the counts and the first pipelines", async () => {
    slackRule.refuseOverChars = 4000;
    slackRule.error = "msg_blocks_too_long";
    const f = await groupedStorm(30);

    const out = await world.invoke([record(digestFlushBody(f), `m-${randomUUID()}`)]);

    expect(out.batchItemFailures).toEqual([]);
    const [full, short] = posts();
    expect(posts()).toHaveLength(2);
    expect(blockChars(full)).toBeGreaterThan(4000);
    expect(blockChars(short)).toBeLessThanOrEqual(4000);
    const text = JSON.stringify(short.blocks);
    expect(text).toContain("30 pipelines failed");
    expect(text).toContain(`and ${30 - SHORT_DIGEST_PIPELINES} more pipelines`);
    expect(await digestSlotItem(f)).toMatchObject({
      status: "sent",
      detail: { count: 30, shortened: true },
    });
    expect(counted("Sent")).toEqual([CHANNEL]);
    expect(sentTo(DLQ_URL)).toEqual([]);
  }, 60_000);

  it("refused for another reason (ok:false channel_not_found): the flush is dead-lettered with its reason, counted Failed, never recorded sent", async () => {
    slackRule.refuseOverChars = 0;
    slackRule.error = "channel_not_found";
    const f = await groupedStorm(4);

    const out = await world.invoke([record(digestFlushBody(f), `m-${randomUUID()}`)]);

    expect(out.batchItemFailures).toEqual([]);
    expect(posts()).toHaveLength(1); // a permanent refusal: no retry of the same message
    const dead = sentTo(DLQ_URL);
    expect(dead).toHaveLength(1);
    expect(JSON.parse(dead[0].body)).toMatchObject(f);
    expect(dead[0].attributes.reason).toMatch(/^slack-eng: .*channel_not_found/);
    expect(dead[0].attributes.failedChannels).toBe(CHANNEL);
    expect(dead[0].attributes.notificationId).toBe(digestRef(f).notificationId);
    expect((await digestSlotItem(f))?.status).not.toBe("sent");
    expect(counted("Failed")).toEqual([CHANNEL]);
    expect(counted("Sent")).toEqual([]);
    expect(sentTo(EVENTS_QUEUE_URL)).toEqual([]);
  }, 60_000);

  it("the shortened digest refused too: dead-lettered, its reason saying so", async () => {
    slackRule.refuseOverChars = 0;
    slackRule.error = "msg_blocks_too_long";
    const f = await groupedStorm(8);

    const out = await world.invoke([record(digestFlushBody(f), `m-${randomUUID()}`)]);

    expect(out.batchItemFailures).toEqual([]);
    expect(posts()).toHaveLength(2);
    const dead = sentTo(DLQ_URL);
    expect(dead).toHaveLength(1);
    expect(dead[0].attributes.reason).toMatch(/shortened digest: .*msg_blocks_too_long/);
    expect(counted("Failed")).toEqual([CHANNEL]);
    expect(counted("Sent")).toEqual([]);
  }, 60_000);
});
