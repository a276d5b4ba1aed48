/**
 * Each medium's digest sent through a real local receiver (testing/receivers for Slack, Teams,
 * Discord and webhooks; a local SNS endpoint with the real SDK client for sms and email), checking
 * what arrived.
 */
import { discordDriver } from "../../handlers/channels/discord";
import { emailDriver } from "../../handlers/channels/email";
import { slackDriver, SLACK_DIGEST_EVENT_TYPE } from "../../handlers/channels/slack";
import { smsDriver } from "../../handlers/channels/sms";
import { teamsDriver } from "../../handlers/channels/teams";
import { webhookDriver } from "../../handlers/channels/webhook";
import type { ChannelConfig } from "../../handlers/types";
import { startReceivers, type Receivers } from "../../testing/receivers";
import { digestOf, useHome } from "./digest-support";
import {
  localSns,
  makeContext,
  snsParams,
  snsPublishOk,
  startServer,
  replyWith,
  type LocalServer,
} from "./helpers";

let receivers: Receivers;
let sns: LocalServer;
let restore: () => void;
beforeAll(async () => {
  restore = useHome();
  receivers = await startReceivers();
  sns = await startServer(replyWith(snsPublishOk("mid-1")));
});
afterEach(() => {
  receivers.reset();
  sns.requests.length = 0;
});
afterAll(async () => {
  restore();
  await receivers.close();
  await sns.close();
});

const d = digestOf(37);

describe("digests through local receivers", () => {
  it("slack webhook: one message, header and 37 entry sections", async () => {
    const url = receivers.urlFor("slack", "ops");
    const { ctx } = makeContext({ type: "slack", mode: "webhook" } as ChannelConfig, {
      webhookUrl: url,
    });
    const r = await slackDriver.sendDigest!(d, ctx as never);
    const got = receivers.byReceiver("slack", "ops");
    expect(r.status).toBe(200);
    expect(got).toHaveLength(1);
    const body = got[0].body as any;
    expect(body.blocks).toHaveLength(39);
    expect(body.blocks[0].text.text).toBe(
      ":rotating_light: 37 pipelines failed in the last 2 minutes",
    );
  });

  it("slack bot: chat.postMessage with the digest's metadata", async () => {
    const config = {
      type: "slack",
      mode: "bot",
      channel: "C0DIGEST",
      apiUrl: receivers.slackApiUrl,
    } as ChannelConfig;
    const { ctx } = makeContext(config, { botToken: "xoxb-digest" });
    const r = await slackDriver.sendDigest!(d, ctx as never);
    const m = receivers.slackMessages[`C0DIGEST:${r.id}`];
    expect(m.metadata).toEqual({
      event_type: SLACK_DIGEST_EVENT_TYPE,
      event_payload: { digest_id: d.id, channel: ctx.name, count: 37 },
    });
    expect(m.text).toBe(":rotating_light: 37 pipelines failed in the last 2 minutes");
  });

  it("teams: the Workflows webhook accepts the card (202) within 28 KB", async () => {
    const { ctx } = makeContext({ type: "teams" } as ChannelConfig, {
      webhookUrl: receivers.urlFor("teams", "ops"),
    });
    const r = await teamsDriver.sendDigest!(d, ctx as never);
    expect(r.status).toBe(202);
    const got = receivers.byReceiver("teams", "ops");
    expect(Buffer.byteLength(JSON.stringify(got[0].body))).toBeLessThanOrEqual(28 * 1024);
    expect((got[0].body as any).attachments[0].content.body).toHaveLength(2 + 37);
  });

  it("discord: every pipeline across embeds within 6000 characters, summaries dropped first", async () => {
    const { ctx } = makeContext({ type: "discord" } as ChannelConfig, {
      webhookUrl: receivers.urlFor("discord", "ops"),
    });
    await discordDriver.sendDigest!(d, ctx as never);
    const body = receivers.byReceiver("discord", "ops")[0].body as any;
    expect(body.embeds.length).toBeGreaterThanOrEqual(2);
    expect(body.embeds[0].title).toBe("37 pipelines failed in the last 2 minutes");
    const lines: string[] = body.embeds.flatMap((e: any) => String(e.description).split("\n"));
    const shown = lines.filter((l) => l.startsWith("[**")).length;
    // ~150 characters per entry with its summary: the 6000 total binds before all 37 fit with
    // theirs, so the later summaries are dropped (digest-groups.ts) and every pipeline is listed.
    expect(shown).toBe(37);
    expect(lines.filter((l) => l.startsWith("Build failed for ")).length).toBeLessThan(37);
    expect(lines.some((l) => l.includes("more pipeline"))).toBe(false);
    expect(body.allowed_mentions).toEqual({ parse: [] });
  });

  it("webhook: type 'digest' with the digest's own Idempotency-Key", async () => {
    const { ctx } = makeContext({ type: "webhook" } as ChannelConfig, {
      url: receivers.urlFor("webhook", "ops"),
    });
    await webhookDriver.sendDigest!(d, ctx as never);
    const got = receivers.byReceiver("webhook", "ops")[0];
    expect(got.headers["idempotency-key"]).toBe(`"${d.id}:${ctx.name}"`);
    expect(got.body).toMatchObject({ version: "1", type: "digest", digest: { count: 37 } });
  });

  it("sms and email: one SNS Publish each, with the digest's text", async () => {
    const publisher = localSns(sns.url);
    const smsCtx = makeContext(
      { type: "sms" } as ChannelConfig,
      {},
      {
        sns: publisher,
        topicArn: "arn:aws:sns:eu-west-1:111111111111:sms",
      },
    ).ctx;
    const emailCtx = makeContext(
      { type: "email" } as ChannelConfig,
      {},
      {
        sns: publisher,
        topicArn: "arn:aws:sns:eu-west-1:111111111111:email",
      },
    ).ctx;
    await smsDriver.sendDigest!(d, smsCtx as never);
    await emailDriver.sendDigest!(d, emailCtx as never);
    const [smsReq, emailReq] = sns.requests.map((r) => snsParams(r.body));
    expect(smsReq.Message).toMatch(
      /^37 more pipelines failed in 2 min: p-36, p-35, .*, \+\d+ more pipelines - see slack-oncall$/,
    );
    expect(smsReq.Message.length).toBeLessThanOrEqual(140);
    expect(smsReq["MessageAttributes.entry.1.Value.StringValue"]).toBe("Transactional");
    expect(emailReq.Subject).toBe("[deploy-notifier] 37 pipelines failed in the last 2 minutes");
    expect(emailReq.Message.split("\n- ").length - 1).toBe(37);
  });
});
