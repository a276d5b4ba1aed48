/**
 * Every HTTP channel against a real HTTP server on 127.0.0.1: what each answer (status, body,
 * headers, a hang, a reset) means for a retry, and that no secret ever reaches an error or a log
 * line, whatever the failure.
 */
import { isDeliveryError } from "../../handlers/http";
import { discordDriver } from "../../handlers/channels/discord";
import {
  pagerdutyDedupKey,
  pagerdutyDriver,
  type PagerDutyConfig,
} from "../../handlers/channels/pagerduty";
import { slackDriver, type SlackConfig } from "../../handlers/channels/slack";
import { teamsDriver } from "../../handlers/channels/teams";
import type { ChannelDriver, DeliveryReceipt } from "../../handlers/channels/types";
import { webhookDriver } from "../../handlers/channels/webhook";
import type { ChannelConfig } from "../../handlers/types";
import {
  errorText,
  fixture,
  makeContext,
  rejectionOf,
  replyWith,
  startServer,
  type LocalServer,
  type Reply,
} from "./helpers";

/** How one channel is set up against a base URL, with sentinel secrets. */
interface HttpChannel {
  label: string;
  driver: ChannelDriver<any>;
  fixture: string;
  setup(base: string): { config: ChannelConfig; secret: Record<string, string> };
  /** Strings that must never appear in an error or a log line. */
  sentinels: string[];
  /** Header the request must carry, besides content-type. */
  auth?: string;
}

const SLACK_HOOK = "/services/T0SENTINEL/B0SENTINEL/SENTINELslackHookSecret24";
const BOT_TOKEN = "xoxb-SENTINEL-bot-token-4d1e";
const ROUTING_KEY = "SENTINELrk0123456789abcdef012345";
const TEAMS_HOOK =
  "/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=SENTINELteamsSignature43chars";
const DISCORD_HOOK = "/api/webhooks/1234567890/SENTINELdiscordWebhookToken68";
const WEBHOOK_PATH = "/ingest/SENTINELwebhookPathSecret?key=SENTINELwebhookQueryKey";
const BEARER = "SENTINEL-bearer-token-5b6c";

const CHANNELS: HttpChannel[] = [
  {
    label: "slack (webhook)",
    driver: slackDriver,
    fixture: "failure-hostile",
    setup: (base) => ({
      config: { type: "slack", mode: "webhook" },
      secret: { webhookUrl: `${base}${SLACK_HOOK}` },
    }),
    sentinels: ["SENTINEL"],
  },
  {
    label: "slack (bot)",
    driver: slackDriver,
    fixture: "failure-hostile",
    setup: (base) => ({
      config: {
        type: "slack",
        mode: "bot",
        channel: "C0DEPLOYS",
        apiUrl: `${base}/api`,
      } as ChannelConfig,
      secret: { botToken: BOT_TOKEN },
    }),
    sentinels: ["SENTINEL"],
    auth: `Bearer ${BOT_TOKEN}`,
  },
  {
    label: "pagerduty",
    driver: pagerdutyDriver,
    fixture: "failure-hostile",
    setup: (base) => ({
      config: { type: "pagerduty", endpoint: `${base}/v2/enqueue` } as ChannelConfig,
      secret: { routingKey: ROUTING_KEY },
    }),
    sentinels: ["SENTINEL"],
  },
  {
    label: "teams",
    driver: teamsDriver,
    fixture: "failure-revision",
    setup: (base) => ({
      config: { type: "teams" },
      secret: { webhookUrl: `${base}${TEAMS_HOOK}` },
    }),
    sentinels: ["SENTINEL"],
  },
  {
    label: "discord",
    driver: discordDriver,
    fixture: "failure-hostile",
    setup: (base) => ({
      config: { type: "discord" },
      secret: { webhookUrl: `${base}${DISCORD_HOOK}` },
    }),
    sentinels: ["SENTINEL"],
  },
  {
    label: "webhook",
    driver: webhookDriver,
    fixture: "rejection",
    setup: (base) => ({
      config: { type: "webhook" },
      secret: { url: `${base}${WEBHOOK_PATH}`, bearerToken: BEARER },
    }),
    sentinels: ["SENTINEL"],
    auth: `Bearer ${BEARER}`,
  },
];

type Expected =
  | { success: true }
  | {
      success: false;
      retryable: boolean;
      status?: number;
      retryAfterMs?: number | [number, number];
    };

const inOneMinute = (): string => new Date(Date.now() + 60_000).toUTCString();

/** Status table shared by every HTTP channel. */
const COMMON_CASES: [string, () => Reply, Expected][] = [
  ["200 ok", () => ({ status: 200, body: "ok" }), { success: true }],
  ["202 accepted", () => ({ status: 202, body: "" }), { success: true }],
  ["204 no content", () => ({ status: 204 }), { success: true }],
  [
    "400 invalid_payload",
    () => ({ status: 400, body: "invalid_payload" }),
    { success: false, retryable: false, status: 400 },
  ],
  [
    "403 forbidden",
    () => ({ status: 403, body: "action_prohibited" }),
    { success: false, retryable: false, status: 403 },
  ],
  [
    "404 channel_not_found",
    () => ({ status: 404, body: "channel_not_found" }),
    { success: false, retryable: false, status: 404 },
  ],
  [
    "410 gone",
    () => ({ status: 410, body: "channel_is_archived" }),
    { success: false, retryable: false, status: 410 },
  ],
  [
    "429 Retry-After seconds",
    () => ({ status: 429, body: "rate limited", headers: { "retry-after": "3" } }),
    { success: false, retryable: true, status: 429, retryAfterMs: 3000 },
  ],
  [
    "429 Retry-After HTTP date",
    () => ({ status: 429, headers: { "retry-after": inOneMinute() } }),
    { success: false, retryable: true, status: 429, retryAfterMs: [1, 61_000] },
  ],
  [
    "408 request timeout",
    () => ({ status: 408 }),
    { success: false, retryable: true, status: 408 },
  ],
  [
    "500 internal error",
    () => ({ status: 500, body: "rollup_error" }),
    { success: false, retryable: true, status: 500 },
  ],
  ["502 bad gateway", () => ({ status: 502 }), { success: false, retryable: true, status: 502 }],
  [
    "503 with Retry-After",
    () => ({ status: 503, headers: { "retry-after": "10" } }),
    { success: false, retryable: true, status: 503, retryAfterMs: 10_000 },
  ],
  [
    "302 redirect (not followed)",
    () => ({ status: 302, headers: { location: "https://elsewhere.example/" } }),
    { success: false, retryable: false, status: 302 },
  ],
  ["timeout (never answers)", () => "hang", { success: false, retryable: true }],
  ["connection reset", () => "reset", { success: false, retryable: true }],
];

/** Cases that only make sense for some channels. */
const EXTRA_CASES: Record<string, [string, () => Reply, Expected][]> = {
  "slack (bot)": [
    [
      "200 ok:true with ts",
      () => ({
        status: 200,
        headers: { "content-type": "application/json" },
        body: '{"ok":true,"channel":"C0DEPLOYS","ts":"1714566896.000100"}',
      }),
      { success: true },
    ],
    [
      "200 ok:false ratelimited",
      () => ({
        status: 200,
        headers: { "content-type": "application/json", "retry-after": "7" },
        body: '{"ok":false,"error":"ratelimited"}',
      }),
      { success: false, retryable: true, status: 200, retryAfterMs: 7000 },
    ],
    [
      "200 ok:false channel_not_found",
      () => ({
        status: 200,
        headers: { "content-type": "application/json" },
        body: '{"ok":false,"error":"channel_not_found"}',
      }),
      { success: false, retryable: false, status: 200 },
    ],
    [
      "200 ok:false invalid_auth",
      () => ({
        status: 200,
        headers: { "content-type": "application/json" },
        body: '{"ok":false,"error":"invalid_auth"}',
      }),
      { success: false, retryable: false, status: 200 },
    ],
  ],
  "slack (webhook)": [
    [
      "404 no_service",
      () => ({ status: 404, body: "no_service" }),
      { success: false, retryable: false, status: 404 },
    ],
  ],
  discord: [
    [
      "429 retry_after in the JSON body",
      () => ({
        status: 429,
        headers: { "content-type": "application/json" },
        body: '{"message":"You are being rate limited.","retry_after":1.5,"global":false}',
      }),
      { success: false, retryable: true, status: 429, retryAfterMs: 1500 },
    ],
    [
      "200 with the message (wait=true)",
      () => ({
        status: 200,
        headers: { "content-type": "application/json" },
        body: '{"id":"1234567890123"}',
      }),
      { success: true },
    ],
  ],
  pagerduty: [
    [
      "202 event accepted",
      () => ({
        status: 202,
        headers: { "content-type": "application/json" },
        body: '{"status":"success","message":"Event processed","dedup_key":"x"}',
      }),
      { success: true },
    ],
    [
      "400 invalid event",
      () => ({
        status: 400,
        headers: { "content-type": "application/json" },
        body: '{"status":"invalid event","message":"Event object is invalid","errors":["Length of \'routing_key\' is incorrect"]}',
      }),
      { success: false, retryable: false, status: 400 },
    ],
  ],
};

describe.each(CHANNELS)("$label", (channel) => {
  let server: LocalServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const cases = [...COMMON_CASES, ...(EXTRA_CASES[channel.label] ?? [])];

  it.each(cases)("%s", async (_name, reply, expected) => {
    // Prepare
    const answer = reply();
    server = await startServer(replyWith(answer));
    const { config, secret } = channel.setup(server.url);
    // A hang ends at a short timeout; an answer gets the product's 5 s, so that a loaded machine
    // never turns it into a timeout (a 400 read as retryable failed a CI run once).
    const timeoutMs = answer === "hang" ? 300 : 5000;
    const { ctx, lines } = makeContext(config, secret, { timeoutMs });
    const n = fixture(channel.fixture);

    // Act
    let receipt: DeliveryReceipt | undefined;
    let error: unknown;
    try {
      receipt = await channel.driver.send(n, ctx);
    } catch (e: unknown) {
      error = e;
    }

    // Assess: the request reached the server as JSON, authenticated where the channel needs it
    expect(server.requests).toHaveLength(1);
    const req = server.requests[0];
    expect(req.method).toBe("POST");
    expect(req.headers["content-type"]).toMatch(/^application\/json/);
    expect(() => JSON.parse(req.body)).not.toThrow();
    if (channel.auth) expect(req.headers.authorization).toBe(channel.auth);
    else expect(req.headers.authorization).toBeUndefined();

    if (expected.success) {
      expect(error).toBeUndefined();
      expect(receipt).toMatchObject({ channel: ctx.name, type: channel.driver.type });
      expect(receipt?.status).toBeGreaterThanOrEqual(200);
      expect(receipt?.status).toBeLessThan(300);
      return;
    }
    expect(receipt).toBeUndefined();
    if (!isDeliveryError(error)) throw new Error(`expected a DeliveryError, got ${String(error)}`);
    expect(error.channel).toBe(ctx.name);
    expect(error.retryable).toBe(expected.retryable);
    expect(error.message.startsWith(`${channel.driver.type} ${ctx.name}: `)).toBe(true);
    expect(error.status).toBe(expected.status);
    if (Array.isArray(expected.retryAfterMs)) {
      expect(error.retryAfterMs).toBeGreaterThanOrEqual(expected.retryAfterMs[0]);
      expect(error.retryAfterMs).toBeLessThanOrEqual(expected.retryAfterMs[1]);
    } else {
      expect(error.retryAfterMs).toBe(expected.retryAfterMs);
    }
    // Every failure is logged once, as a warning naming the channel.
    expect(lines.filter((l) => l.level === "warn" && l.fields?.channel === ctx.name)).toHaveLength(
      1,
    );
  });

  it("is not sent with less than the send budget left before the deadline: retryable, nothing arrives", async () => {
    // Prepare: a receiver that answers at once, and 100 ms left (handlers/http.ts minSendBudgetMs,
    // 300 ms): the timeout would be cut to 100 ms, and an ordinary reply read as lost.
    server = await startServer(replyWith({ status: 200 }));
    const { config, secret } = channel.setup(server.url);
    const { ctx } = makeContext(config, secret, { deadline: Date.now() + 100 });

    // Act
    const error = await rejectionOf(() => channel.driver.send(fixture(channel.fixture), ctx));

    // Assess
    expect(error).toMatchObject({ name: "DeliveryError", retryable: true, channel: ctx.name });
    expect((error as Error).message).toContain("deadline too close to send");
    expect(server.requests).toHaveLength(0);
  });

  describe("never leaks a secret", () => {
    /** A server that echoes the request line, headers and body back in its error answer. */
    const echo =
      (status: number) =>
      (
        req: { path: string; headers: Record<string, unknown>; body: string },
        res: import("node:http").ServerResponse,
      ) => {
        res.writeHead(status, { "content-type": "text/plain" });
        // Short enough that every secret lands within the quoted part of the body.
        res.end(
          `POST ${req.path} auth=${String(req.headers.authorization ?? "-")} body=${req.body}`,
        );
      };

    const failures: [string, () => Promise<{ base: string }>][] = [
      [
        "400 echoing the request",
        async () => ({ base: (server = await startServer(echo(400))).url }),
      ],
      [
        "500 echoing the request",
        async () => ({ base: (server = await startServer(echo(500))).url }),
      ],
      [
        "429 echoing the request",
        async () => ({ base: (server = await startServer(echo(429))).url }),
      ],
      ["timeout", async () => ({ base: (server = await startServer(replyWith("hang"))).url })],
      [
        "connection reset",
        async () => ({ base: (server = await startServer(replyWith("reset"))).url }),
      ],
      ["connection refused", async () => ({ base: "http://127.0.0.1:1" })],
      ["DNS failure", async () => ({ base: "http://deploy-notifier-test.invalid" })],
    ];

    it.each(failures)("%s", async (_name, start) => {
      // Prepare
      const { base } = await start();
      const { config, secret } = channel.setup(base);
      const { ctx, lines } = makeContext(config, secret, { timeoutMs: 1000 });

      // Act
      const error = await rejectionOf(() => channel.driver.send(fixture(channel.fixture), ctx));

      // Assess
      expect(isDeliveryError(error)).toBe(true);
      const logged = JSON.stringify(lines);
      for (const sentinel of channel.sentinels) {
        expect(errorText(error)).not.toContain(sentinel);
        expect(logged).not.toContain(sentinel);
      }
      expect(lines.length).toBeGreaterThan(0);
    });

    it("an unusable secret URL", async () => {
      // Prepare: a URL that does not parse (a paste error in the secret)
      const { config, secret } = channel.setup("htp:/ SENTINEL broken");
      const { ctx, lines } = makeContext(config, secret);

      // Act
      const error = await rejectionOf(() => channel.driver.send(fixture(channel.fixture), ctx));

      // Assess: permanent (a retry cannot fix config) and nothing of the value shown
      expect(isDeliveryError(error) && error.retryable).toBe(false);
      expect(errorText(error)).not.toContain("SENTINEL");
      expect(JSON.stringify(lines)).not.toContain("SENTINEL");
    });
  });
});

describe("channel specifics", () => {
  let server: LocalServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("slack bot mode posts to chat.postMessage with the channel and returns the ts", async () => {
    // Prepare
    server = await startServer(
      replyWith({
        status: 200,
        headers: { "content-type": "application/json" },
        body: '{"ok":true,"ts":"1714566896.000100"}',
      }),
    );
    const { ctx } = makeContext(
      {
        type: "slack",
        mode: "bot",
        channel: "C0DEPLOYS",
        apiUrl: `${server.url}/api/`,
      } as SlackConfig,
      {
        botToken: BOT_TOKEN,
      },
    );
    // Act
    const receipt = await slackDriver.send(fixture("success"), ctx);
    // Assess
    expect(server.requests[0].path).toBe("/api/chat.postMessage");
    const n = fixture("success");
    // Slack "Using message metadata": event_type + event_payload, here with the notification id,
    // so a re-send can be recognized in the channel's history.
    expect(JSON.parse(server.requests[0].body)).toMatchObject({
      channel: "C0DEPLOYS",
      metadata: {
        event_type: "deploy_notification",
        event_payload: { notification_id: n.id, channel: ctx.name },
      },
    });
    expect(receipt).toEqual({
      channel: ctx.name,
      type: "slack",
      status: 200,
      id: "1714566896.000100",
    });
  });

  it("slack refuses a missing secret as a permanent config error", async () => {
    const { ctx } = makeContext({ type: "slack", mode: "webhook" }, {});
    const error = await rejectionOf(() => slackDriver.send(fixture("success"), ctx));
    expect(error).toMatchObject({
      name: "DeliveryError",
      retryable: false,
      message: "slack slack-test: secret field webhookUrl is missing",
    });
  });

  it("pagerduty sends the routing key and dedup key, and receipts the dedup key", async () => {
    // Prepare
    server = await startServer(replyWith({ status: 202, body: '{"status":"success"}' }));
    const { ctx } = makeContext(
      { type: "pagerduty", endpoint: `${server.url}/v2/enqueue` } as PagerDutyConfig,
      {
        routingKey: ROUTING_KEY,
      },
    );
    const n = fixture("failure-hostile");
    // Act
    const receipt = await pagerdutyDriver.send(n, ctx);
    // Assess
    const sent = JSON.parse(server.requests[0].body);
    expect(server.requests[0].path).toBe("/v2/enqueue");
    expect(sent).toMatchObject({
      routing_key: ROUTING_KEY,
      event_action: "trigger",
      dedup_key: pagerdutyDedupKey(n),
    });
    expect(receipt).toEqual({
      channel: ctx.name,
      type: "pagerduty",
      status: 202,
      id: pagerdutyDedupKey(n),
    });
  });

  it("pagerduty resolves a success with the dedup key the engine passes", async () => {
    // Prepare
    server = await startServer(replyWith({ status: 202, body: '{"status":"success"}' }));
    const key = pagerdutyDedupKey(fixture("failure-hostile"));
    const { ctx } = makeContext(
      { type: "pagerduty", endpoint: server.url } as PagerDutyConfig,
      { routingKey: ROUTING_KEY },
      { resolveDedupKey: key },
    );
    // Act
    await pagerdutyDriver.send(fixture("success"), ctx);
    // Assess
    expect(JSON.parse(server.requests[0].body)).toEqual({
      routing_key: ROUTING_KEY,
      event_action: "resolve",
      dedup_key: key,
    });
  });

  it.each(["rejection", "approval-request", "success"])(
    "pagerduty never pages for a %s (permanent, nothing sent)",
    async (name) => {
      // Prepare
      server = await startServer(replyWith({ status: 202 }));
      const { ctx } = makeContext({ type: "pagerduty", endpoint: server.url } as PagerDutyConfig, {
        routingKey: ROUTING_KEY,
      });
      // Act
      const error = await rejectionOf(() => pagerdutyDriver.send(fixture(name), ctx));
      // Assess
      expect(error).toMatchObject({ name: "DeliveryError", retryable: false });
      expect(server.requests).toHaveLength(0);
    },
  );

  it("discord asks for the message back (wait=true) and keeps its id", async () => {
    // Prepare
    server = await startServer(
      replyWith({
        status: 200,
        headers: { "content-type": "application/json" },
        body: '{"id":"998877"}',
      }),
    );
    const { ctx } = makeContext(
      { type: "discord" },
      { webhookUrl: `${server.url}${DISCORD_HOOK}` },
    );
    // Act
    const receipt = await discordDriver.send(fixture("success"), ctx);
    // Assess
    expect(server.requests[0].path).toBe(`${DISCORD_HOOK}?wait=true`);
    expect(receipt.id).toBe("998877");
  });

  it("webhook posts the documented payload with an idempotency key", async () => {
    // Prepare
    server = await startServer(replyWith({ status: 204 }));
    const n = fixture("approval-request");
    const { ctx } = makeContext({ type: "webhook" }, { url: `${server.url}/ingest` });
    // Act
    await webhookDriver.send(n, ctx);
    // Assess
    const req = server.requests[0];
    const body = JSON.parse(req.body);
    expect(body).toEqual({ version: "1", notification: n, sentAt: expect.any(String) });
    expect(Number.isNaN(Date.parse(body.sentAt))).toBe(false);
    // One key per (notification, channel), as a Structured Field String: the IETF draft "The
    // Idempotency-Key HTTP Header Field" (section 2) makes the value an sf-string (was the bare
    // notification id, which two webhook channels of one notification shared).
    expect(req.headers["idempotency-key"]).toBe(`"${n.id}:${ctx.name}"`);
    expect(body.notification.id).toBe(n.id);
    expect(req.headers.authorization).toBeUndefined();
  });

  it("a call that would run past the deadline is not started", async () => {
    // Prepare
    server = await startServer(replyWith({ status: 200 }));
    const { ctx } = makeContext(
      { type: "teams" },
      { webhookUrl: `${server.url}/x` },
      { deadline: Date.now() - 1 },
    );
    // Act
    const error = await rejectionOf(() => teamsDriver.send(fixture("success"), ctx));
    // Assess: retryable (the queue redelivers), and nothing was sent
    expect(error).toMatchObject({ name: "DeliveryError", retryable: true });
    expect(server.requests).toHaveLength(0);
  });
});
