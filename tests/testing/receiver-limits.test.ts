/**
 * The channel stand-ins and the SNS stand-in refuse what the real services document as refused
 * (ARCHITECTURE.md, "The local world is as strict as AWS"): Slack's Block Kit limits and
 * cumulative block text, Discord's embed limits, Teams' 28 KB, SNS Publish's Subject and Message
 * rules, PagerDuty's 512 KB. Each limit is tested just over (refused, in the service's own answer)
 * and at the limit (accepted), so the stand-in is neither friendlier nor stricter than documented.
 * The first cases of each service are redteam11's (tests/redteam11/fakes-friendlier.test.ts).
 */
import { startAwsStandins, type AwsStandins } from "../../testing/aws";
import { startReceivers, type Receivers } from "../../testing/receivers";

let receivers: Receivers;
let aws: AwsStandins;
beforeAll(async () => {
  receivers = await startReceivers();
  aws = await startAwsStandins();
});
afterAll(async () => {
  await receivers.close();
  await aws.close();
});
// These tests post many messages to one webhook or channel at once; the rate limits have their
// own tests (rate-limit.test.ts).
beforeEach(() => receivers.disableRateLimits());
afterEach(() => receivers.reset());

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text };
}

const section = (text: string) => ({ type: "section", text: { type: "mrkdwn", text } });
const header = (text: string) => ({ type: "header", text: { type: "plain_text", text } });
const fieldsOf = (n: number, text = "f") => ({
  type: "section",
  fields: Array.from({ length: n }, () => ({ type: "mrkdwn", text })),
});
const button = (over: Record<string, unknown>) => ({
  type: "actions",
  elements: [
    { type: "button", text: { type: "plain_text", text: "Approve" }, action_id: "a", ...over },
  ],
});
const context = (n: number) => ({
  type: "context",
  elements: Array.from({ length: n }, () => ({ type: "mrkdwn", text: "c" })),
});

describe("Slack incoming webhook stand-in (testing/receivers/slack-webhook.ts)", () => {
  // https://docs.slack.dev/reference/block-kit/blocks ("up to 50 blocks in each message");
  // section text max 3000 and 10 fields of 2000 (…/section-block); header text max 150
  // (…/header-block); context 10 elements; button text 75, value 2000, action_id 255.
  it.each([
    ["51 blocks", Array.from({ length: 51 }, () => section("x"))],
    ["a section text of 3001 characters", [section("x".repeat(3001))]],
    ["an empty section text", [section("")]],
    ["a header text of 151 characters", [header("h".repeat(151))]],
    ["11 fields in a section", [fieldsOf(11)]],
    ["a section field of 2001 characters", [fieldsOf(1, "f".repeat(2001))]],
    ["a context block of 11 elements", [context(11)]],
    [
      "a button text of 76 characters",
      [button({ text: { type: "plain_text", text: "b".repeat(76) } })],
    ],
    ["a button value of 2001 characters", [button({ value: "v".repeat(2001) })]],
    ["an action_id of 256 characters", [button({ action_id: "a".repeat(256) })]],
    ["a block_id of 256 characters", [{ ...section("x"), block_id: "b".repeat(256) }]],
  ])("refuses %s with 400 invalid_blocks", async (_name, blocks) => {
    const r = await post(receivers.urlFor("slack", "limits"), { text: "t", blocks });
    expect(r).toEqual({ status: 400, text: "invalid_blocks" });
    expect(receivers.byReceiver("slack", "limits")).toHaveLength(0);
  });

  it("accepts every limit exactly reached: 50 blocks, section 3000, header 150, 10 fields of 2000", async () => {
    const blocks = [
      header("h".repeat(150)),
      section("x".repeat(3000)),
      fieldsOf(10, "f".repeat(2000)),
      context(10),
      button({ value: "v".repeat(2000), text: { type: "plain_text", text: "b".repeat(75) } }),
      ...Array.from({ length: 45 }, () => section("x")),
    ];
    expect(blocks).toHaveLength(50);
    const r = await post(receivers.urlFor("slack", "limits"), { text: "t", blocks });
    expect(r).toEqual({ status: 200, text: "ok" });
  });

  it("refuses a top-level text over 40,000 characters with 400 msg_too_long, accepts 40,000", async () => {
    const url = receivers.urlFor("slack", "limits");
    expect(await post(url, { text: "x".repeat(40_001) })).toEqual({
      status: 400,
      text: "msg_too_long",
    });
    expect(await post(url, { text: "x".repeat(40_000) })).toEqual({ status: 200, text: "ok" });
  });

  it("does not apply chat.postMessage's cumulative 12,000 to a webhook (bolt-js#2867: respond() accepts it)", async () => {
    const blocks = Array.from({ length: 8 }, () => section("x".repeat(2500)));
    const r = await post(receivers.urlFor("slack", "limits"), { text: "t", blocks });
    expect(r).toEqual({ status: 200, text: "ok" });
  });
});

describe("Slack response_url stand-in (testing/receivers/slack-webhook.ts RESPONSE_URL_BUDGET)", () => {
  // "You can use response_url to publish up to 5 times within 30 minutes"
  // (https://docs.slack.dev/interactivity/handling-user-interaction#message_responses). What
  // Slack answers past that is not documented: the stand-in records the overuse, answers ok.
  const reply = { response_type: "ephemeral", text: "Approved." };

  it("records a 6th use of one response_url, not the first 5, nor uses of another URL", async () => {
    const url = receivers.urlFor("slack-response", "msg-1~U1~click-a");
    const other = receivers.urlFor("slack-response", "msg-1~U1~click-b");
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await post(url, reply));
    await post(other, reply);
    expect(receivers.responseUrlOveruse).toEqual([]);
    answers.push(await post(url, reply));
    expect(answers.map((a) => `${a.status} ${a.text}`)).toEqual(Array(6).fill("200 ok"));
    expect(receivers.responseUrlOveruse).toEqual([
      expect.objectContaining({ name: "msg-1~U1~click-a", use: 6, why: "use 6 of at most 5" }),
    ]);
  });

  it("records a use more than 30 minutes (on the world's scaled clock) after the URL's first use", async () => {
    const url = receivers.urlFor("slack-response", "msg-2~U1~click-c");
    await post(url, reply);
    // At 10^6 × real time, 30 AWS minutes pass in 1.8 ms.
    receivers.setTimeScale(1_000_000);
    try {
      await new Promise((r) => setTimeout(r, 10));
      await post(url, reply);
    } finally {
      receivers.setTimeScale(1);
    }
    expect(receivers.responseUrlOveruse).toEqual([
      expect.objectContaining({ use: 2, why: "more than 30 minutes after its first use" }),
    ]);
    expect(receivers.responseUrlOveruse[0].afterMs).toBeGreaterThan(30 * 60_000);
  });
});

describe("Slack Web API stand-in (testing/receivers/slack-api.ts)", () => {
  const call = async (method: string, body: Record<string, unknown>) => {
    const r = await post(`${receivers.slackApiUrl}/${method}`, body, {
      authorization: "Bearer xoxb-1",
    });
    return JSON.parse(r.text) as Record<string, unknown>;
  };

  it("chat.postMessage with 51 blocks answers ok:false invalid_blocks, with the JSON pointer", async () => {
    const r = await call("chat.postMessage", {
      channel: "C1",
      text: "t",
      blocks: Array.from({ length: 51 }, () => section("x")),
    });
    expect(r).toMatchObject({ ok: false, error: "invalid_blocks" });
    expect(r.errors).toEqual(["must provide at most 50 items [json-pointer:/blocks]"]);
  });

  it("chat.postMessage with a 3001-character section names the block in its errors", async () => {
    const r = await call("chat.postMessage", {
      channel: "C1",
      text: "t",
      blocks: [section("ok"), section("x".repeat(3001))],
    });
    expect(r).toMatchObject({
      ok: false,
      error: "invalid_blocks",
      errors: ["must be less than 3001 characters [json-pointer:/blocks/1/text/text]"],
    });
  });

  it("chat.postMessage whose blocks carry 20,000 characters answers ok:false msg_blocks_too_long (bolt-js#2509)", async () => {
    const blocks = Array.from({ length: 8 }, () => section("x".repeat(2500)));
    const r = await call("chat.postMessage", { channel: "C1", text: "t", blocks });
    expect(r).toMatchObject({ ok: false, error: "msg_blocks_too_long" });
    expect(Object.keys(receivers.slackMessages)).toHaveLength(0);
  });

  it("counts every text of the blocks (sections, fields, headers, buttons): 12,001 refused, 12,000 posted", async () => {
    // 150 + 2000 * 4 + 3000 + 843 + 7 ("Approve") = 12,000
    const blocks = (last: number) => [
      header("h".repeat(150)),
      fieldsOf(4, "f".repeat(2000)),
      section("x".repeat(3000)),
      section("y".repeat(last)),
      button({}),
    ];
    const over = await call("chat.postMessage", { channel: "C1", text: "t", blocks: blocks(844) });
    expect(over).toMatchObject({ ok: false, error: "msg_blocks_too_long" });
    const at = await call("chat.postMessage", { channel: "C1", text: "t", blocks: blocks(843) });
    expect(at).toMatchObject({ ok: true });
  });

  it("chat.update is held to the same limits, and the message keeps its blocks", async () => {
    const posted = await call("chat.postMessage", {
      channel: "C1",
      text: "t",
      blocks: [section("a")],
    });
    const ts = posted.ts as string;
    const tooLong = Array.from({ length: 5 }, () => section("x".repeat(2500)));
    expect(
      await call("chat.update", { channel: "C1", ts, text: "t", blocks: tooLong }),
    ).toMatchObject({ ok: false, error: "msg_blocks_too_long" });
    expect(
      await call("chat.update", {
        channel: "C1",
        ts,
        text: "t",
        blocks: [header("h".repeat(151))],
      }),
    ).toMatchObject({ ok: false, error: "invalid_blocks" });
    expect(receivers.slackMessages[`C1:${ts}`]).toMatchObject({
      blocks: [section("a")],
      updates: 0,
    });
  });

  it("blocks sent as a form field (JSON text) are checked too", async () => {
    const res = await fetch(`${receivers.slackApiUrl}/chat.postMessage`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        token: "xoxb-1",
        channel: "C1",
        blocks: JSON.stringify([fieldsOf(11)]),
      }).toString(),
    });
    expect(await res.json()).toMatchObject({ ok: false, error: "invalid_blocks" });
  });

  it("a top-level text over 40,000 characters answers msg_too_long", async () => {
    const r = await call("chat.postMessage", { channel: "C1", text: "x".repeat(40_001) });
    expect(r).toMatchObject({ ok: false, error: "msg_too_long" });
  });
});

describe("Discord webhook stand-in (testing/receivers/discord.ts)", () => {
  // https://discord.com/developers/docs/resources/message#embed-object-embed-limits and
  // …/webhook#execute-webhook ("up to 10 embeds"); Discord answers 400 with JSON code 50035
  // "Invalid Form Body" (e.g. "Embed size exceeds maximum size of 6000": discord-api-docs#2575).
  const embed = (over: Record<string, unknown>) => ({ title: "t", ...over });
  it.each([
    [
      "a title of 257 characters",
      [embed({ title: "t".repeat(257) })],
      { embeds: { "0": { title: {} } } },
    ],
    [
      "a description of 4097 characters",
      [embed({ description: "d".repeat(4097) })],
      { embeds: { "0": { description: {} } } },
    ],
    [
      "a field value of 1025 characters",
      [embed({ fields: [{ name: "n", value: "v".repeat(1025) }] })],
      { embeds: { "0": { fields: { "0": { value: {} } } } } },
    ],
    [
      "a field name of 257 characters",
      [embed({ fields: [{ name: "n".repeat(257), value: "v" }] })],
      { embeds: { "0": { fields: { "0": { name: {} } } } } },
    ],
    [
      "26 fields",
      [embed({ fields: Array.from({ length: 26 }, () => ({ name: "n", value: "v" })) })],
      { embeds: { "0": { fields: {} } } },
    ],
    [
      "a footer of 2049 characters",
      [embed({ footer: { text: "f".repeat(2049) } })],
      { embeds: { "0": { footer: { text: {} } } } },
    ],
    [
      "an author name of 257 characters",
      [embed({ author: { name: "a".repeat(257) } })],
      { embeds: { "0": { author: { name: {} } } } },
    ],
    ["11 embeds", Array.from({ length: 11 }, () => embed({})), { embeds: {} }],
    [
      "6001 characters across the embeds",
      [embed({ description: "d".repeat(4000) }), embed({ description: "d".repeat(1999) })],
      { embeds: {} },
    ],
    ["content of 2001 characters", undefined, { content: {} }],
  ])("refuses %s with 400 / 50035, naming the field", async (name, embeds, where) => {
    const body = embeds ? { embeds } : { content: "c".repeat(2001) };
    const r = await post(`${receivers.urlFor("discord", "limits")}?wait=true`, body);
    const answer = JSON.parse(r.text) as Record<string, unknown>;
    expect({ name, status: r.status, code: answer.code, message: answer.message }).toEqual({
      name,
      status: 400,
      code: 50035,
      message: "Invalid Form Body",
    });
    expect(answer.errors).toMatchObject(where);
    expect(receivers.byReceiver("discord", "limits")).toHaveLength(0);
  });

  it("names the 6000 total as Discord does (MAX_EMBED_SIZE_EXCEEDED)", async () => {
    const body = {
      embeds: [embed({ description: "d".repeat(4096) }), embed({ description: "d".repeat(1904) })],
    };
    const r = await post(receivers.urlFor("discord", "limits"), body);
    expect(JSON.parse(r.text)).toEqual({
      message: "Invalid Form Body",
      code: 50035,
      errors: {
        embeds: {
          _errors: [
            { code: "MAX_EMBED_SIZE_EXCEEDED", message: "Embed size exceeds maximum size of 6000" },
          ],
        },
      },
    });
  });

  it("accepts every limit exactly reached: 10 embeds, 25 fields, 6000 characters, content 2000", async () => {
    const fields = Array.from({ length: 25 }, () => ({ name: "n", value: "v" })); // 50
    const embeds = [
      embed({ title: "t".repeat(256), description: "d".repeat(4096), fields }), // 4402
      embed({ footer: { text: "f".repeat(1005) }, author: { name: "a".repeat(256) } }), // 1262
      ...Array.from({ length: 8 }, () => embed({ description: "d".repeat(41) })), // 8 * 42 = 336
    ];
    // 4402 + 1262 + 336 = 6000; `content` does not count towards the embeds' total.
    const r = await post(receivers.urlFor("discord", "limits"), {
      content: "c".repeat(2000),
      embeds,
    });
    expect(r.status).toBe(204);
  });

  it("answers 204 without ?wait=true and 200 with the message (a snowflake id) with it", async () => {
    const url = receivers.urlFor("discord", "limits");
    const body = { content: "hello", embeds: [embed({})] };
    const plain = await post(url, body);
    const waited = await post(`${url}?wait=true`, body);
    const again = await post(`${url}?wait=true`, body);
    expect([plain.status, plain.text, waited.status]).toEqual([204, "", 200]);
    const message = JSON.parse(waited.text) as Record<string, unknown>;
    expect(message).toMatchObject({ type: 0, content: "hello", embeds: [{ title: "t" }] });
    expect(message.id).toMatch(/^\d{17,20}$/);
    expect(JSON.parse(again.text).id).not.toBe(message.id);
    expect(receivers.byReceiver("discord", "limits").map((d) => d.query)).toEqual([
      {},
      { wait: "true" },
      { wait: "true" },
    ]);
  });
});

describe("Teams Workflows stand-in (testing/receivers/teams.ts)", () => {
  // Microsoft: messages over 28 KB are refused (msteams-docs#4213, #7576); the Workflows run
  // fails with "MessageSizeExceeded … Actual message properties size: 28897 bytes, whereas max
  // allowed size is 28672 bytes" for a 24,453-byte request, after the webhook answered 202
  // (msteams-docs#11274).
  const card = (text: string) => ({
    type: "message",
    attachments: [
      {
        contentType: "application/vnd.microsoft.card.adaptive",
        content: {
          type: "AdaptiveCard",
          version: "1.4",
          body: [{ type: "TextBlock", text, wrap: true }],
        },
      },
    ],
  });
  const frame = Buffer.byteLength(JSON.stringify(card("")));

  it("answers 202 to a 40 KB card and does not post it: the attempt is rejected with the flow's reason", async () => {
    const r = await post(receivers.urlFor("teams", "limits"), card("x".repeat(40_000)));
    expect(r.status).toBe(202);
    expect(receivers.byReceiver("teams", "limits")).toHaveLength(0);
    const [attempt] = receivers.attemptsOf("teams", "limits");
    expect(attempt).toMatchObject({ outcome: "rejected", status: 202 });
    expect(attempt.reason).toMatch(/MessageSizeExceeded.*max allowed size is 28672 bytes/);
  });

  it("refuses the 24,453-byte request Teams refused (msteams-docs#11274), posts one of 24,000", async () => {
    const url = receivers.urlFor("teams", "limits");
    // "é" is 2 bytes in UTF-8: bytes, not characters, are counted.
    const ofBytes = (n: number) =>
      card("é".repeat(Math.floor((n - frame) / 2)) + "x".repeat((n - frame) % 2));
    expect(Buffer.byteLength(JSON.stringify(ofBytes(24_000)))).toBe(24_000);
    expect((await post(url, ofBytes(24_000))).status).toBe(202);
    expect(receivers.byReceiver("teams", "limits")).toHaveLength(1);
    expect((await post(url, ofBytes(24_453))).status).toBe(202);
    expect(receivers.byReceiver("teams", "limits")).toHaveLength(1);
    expect(receivers.outcomes("teams", "limits")).toMatchObject({ delivered: 1, rejected: 1 });
    expect(receivers.attemptsOf("teams", "limits")[1].reason).toContain(
      "Actual message properties size: 28897 bytes (estimated from a 24453-byte request)",
    );
  });
});

describe("PagerDuty Events API v2 stand-in (testing/receivers/pagerduty.ts)", () => {
  // Events API v2 Overview, "Size Limits": "Events API payloads are limited to 512 KB".
  const routingKey = "r".repeat(32);
  const trigger = (details: string) => ({
    routing_key: routingKey,
    event_action: "trigger",
    payload: { summary: "s", source: "src", severity: "critical", custom_details: { details } },
  });
  const frame = Buffer.byteLength(JSON.stringify(trigger("")));

  it("refuses an event of 512 KB + 1 byte with 400 invalid event, opens no incident", async () => {
    const r = await post(receivers.pagerdutyEndpoint, trigger("x".repeat(524_288 - frame + 1)));
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text)).toMatchObject({
      status: "invalid event",
      message: "Event object is invalid",
    });
    expect(receivers.incidents).toHaveLength(0);
  });

  it("accepts an event of exactly 512 KB", async () => {
    const r = await post(receivers.pagerdutyEndpoint, trigger("x".repeat(524_288 - frame)));
    expect(r.status).toBe(202);
    expect(receivers.incidents).toHaveLength(1);
  });

  it("refuses a change event whose summary is over 1024 characters (Send a Change Event)", async () => {
    const change = (summary: string) => ({
      routing_key: routingKey,
      payload: { summary, source: "src" },
    });
    const url = receivers.urlFor("pagerduty", "change");
    expect((await post(url, change("s".repeat(1025)))).status).toBe(400);
    expect((await post(url, change("s".repeat(1024)))).status).toBe(202);
  });
});

describe("SNS stand-in (testing/aws/sns.ts)", () => {
  // https://docs.aws.amazon.com/sns/latest/api/API_Publish.html: "Subjects must be ASCII text that
  // begins with a letter, number, or punctuation mark; must not include line breaks or control
  // characters; and must be less than 100 characters long"; "messages must be UTF-8 encoded
  // strings and at most 256 KB in size (262,144 bytes, not 262,144 characters)"; "The total size
  // limit for a single SMS Publish action is 1,600 characters".
  async function publish(params: Record<string, string>) {
    const res = await fetch(aws.url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        Action: "Publish",
        Version: "2010-03-31",
        TopicArn: "arn:aws:sns:us-east-1:123456789012:channel-email-ops",
        ...params,
      }).toString(),
    });
    return { status: res.status, text: await res.text() };
  }
  const sms = {
    TopicArn: "arn:aws:sns:us-east-1:123456789012:channel-sms-oncall",
    "MessageAttributes.entry.1.Name": "AWS.SNS.SMS.SMSType",
    "MessageAttributes.entry.1.Value.DataType": "String",
    "MessageAttributes.entry.1.Value.StringValue": "Transactional",
  };

  it.each([
    ["a Subject with a line break", { Message: "m", Subject: "deploy\nfailed" }],
    ["a Subject of 100 characters", { Message: "m", Subject: "s".repeat(100) }],
    ["a non-ASCII Subject", { Message: "m", Subject: "Déploiement échoué 🚨" }],
    ["a Subject with a control character", { Message: "m", Subject: "deploy\tfailed" }],
    ["a Subject starting with a space", { Message: "m", Subject: " deploy failed" }],
    ["an empty Subject", { Message: "m", Subject: "" }],
    ["a topic message of 262,145 bytes", { Message: "é".repeat(131_072) + "x" }],
    ["an SMS of 1601 characters to a topic", { ...sms, Message: "x".repeat(1601) }],
    [
      "an SMS of 1601 characters to a phone number",
      { TopicArn: "", PhoneNumber: "+15555550100", Message: "x".repeat(1601) },
    ],
    [
      "an SMS with an unknown SMSType",
      { ...sms, "MessageAttributes.entry.1.Value.StringValue": "Urgent", Message: "m" },
    ],
  ])("refuses %s with InvalidParameter", async (_name, params) => {
    const before = aws.state.sns.published.length;
    const r = await publish(params);
    expect(r.status).toBe(400);
    expect(r.text).toContain("<Code>InvalidParameter</Code>");
    expect(aws.state.sns.published).toHaveLength(before);
  });

  it.each([
    [
      "a Subject of 99 printable ASCII characters",
      { Message: "m", Subject: `[${"s".repeat(97)}]` },
    ],
    ["a Subject starting with punctuation", { Message: "m", Subject: "[deploy-notifier] FAILED" }],
    ["a topic message of exactly 262,144 bytes", { Message: "é".repeat(131_072) }],
    ["an SMS of 1600 characters", { ...sms, Message: "x".repeat(1600) }],
  ])("accepts %s", async (_name, params) => {
    const r = await publish(params);
    expect(r.status).toBe(200);
    expect(r.text).toContain("<MessageId>");
  });
});
