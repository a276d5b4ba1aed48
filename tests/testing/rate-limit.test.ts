/**
 * The receivers and the SNS stand-in enforce each service's documented rate limit by default
 * (issue 11), in the service's own 429 shape, on the world's time scale.
 */
import {
  DEFAULT_RATE_LIMITS,
  setSmsRateLimit,
  setSmsTimeScale,
  smsRateStats,
  SNS_SMS_RATE_LIMIT,
  startAwsStandins,
  startReceivers,
  type AwsStandins,
  type Receivers,
} from "../../testing";

const ROUTING_KEY = "R".repeat(32);

/** A Slack webhook message. */
const slackMessage = { text: "deploy failed" };
/** A Teams Workflows Adaptive Card message. */
const teamsMessage = {
  type: "message",
  attachments: [
    {
      contentType: "application/vnd.microsoft.card.adaptive",
      content: { type: "AdaptiveCard", body: [] },
    },
  ],
};

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text };
}

/** `n` posts one after the other. */
async function posts(n: number, url: string, body: unknown, headers?: Record<string, string>) {
  const out: Array<Awaited<ReturnType<typeof post>>> = [];
  for (let i = 0; i < n; i++) out.push(await post(url, body, headers));
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let receivers: Receivers;

beforeAll(async () => {
  receivers = await startReceivers();
});

afterAll(async () => {
  await receivers.close();
});

beforeEach(() => {
  receivers.reset();
  // A slow clock: 1 AWS second = 1 s, so that nothing refills between the requests of a burst
  // unless a test waits (tests that check the refill set their own scale).
  receivers.setTimeScale(1);
});

describe("Slack incoming webhooks (api.slack.com/docs/rate-limits: 1 per second per channel, short bursts)", () => {
  it("accepts a burst of 3, then answers HTTP 429 text/plain rate_limited with Retry-After seconds", async () => {
    // Prepare: the first fetch of a process takes long (connection, JIT) on a busy machine; a
    // burst is 4 requests within one AWS second (1 s here), so it must not pay that inside.
    await post(receivers.urlFor("slack", "warm-up"), slackMessage);

    // Act: 4 at once (one after the other, a loaded 2-core machine spread them over > 1 s, and
    // the 4th found a refilled token: 4 × 200, an answer right by the limit, not by the test)
    const answers = await Promise.all(
      Array.from({ length: 4 }, () => post(receivers.urlFor("slack", "ops"), slackMessage)),
    );

    // Assess
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 429]);
    const limited = answers.find((a) => a.status === 429)!;
    expect(limited.text).toBe("rate_limited");
    expect(limited.headers.get("retry-after")).toBe("1");
    expect(receivers.byReceiver("slack", "ops")).toHaveLength(3);
    expect(receivers.outcomes("slack", "ops")).toMatchObject({ delivered: 3, rejected: 1 });
  });

  it("limits each webhook (channel) on its own", async () => {
    // Act
    await posts(3, receivers.urlFor("slack", "ops"), slackMessage);
    const other = await post(receivers.urlFor("slack", "eng"), slackMessage);

    // Assess
    expect(other.status).toBe(200);
  });

  it("refills 1 per AWS second on the world's time scale (1/2: one AWS second is 500 ms)", async () => {
    // Prepare: 1/2, not faster: on a loaded 2-core machine (load 13 measured) a timer or a request
    // can run 250 ms late, which at 1/4 refilled a second token and made the check flaky.
    receivers.setTimeScale(2);
    const url = receivers.urlFor("slack", "ops");
    await posts(3, url, slackMessage);
    expect((await post(url, slackMessage)).status).toBe(429);

    // Act: 1 AWS second later, one more message is due (and only one); both at once, so that
    // the second does not come a refill later than the first.
    await sleep(500);
    const after = await Promise.all([post(url, slackMessage), post(url, slackMessage)]);

    // Assess
    expect(after.map((a) => a.status).sort()).toEqual([200, 429]);
  });

  it("records attempts per AWS second and 429s per channel", async () => {
    // Act
    await posts(5, receivers.urlFor("slack", "ops"), slackMessage);

    // Assess
    expect(receivers.rateStats("slack")).toEqual([
      expect.objectContaining({ scope: "ops", attempts: 5, http429: 2, maxPerSecond: 5 }),
    ]);
  });

  it("can be turned off by a test about something else, and reset() restores the documented limit", async () => {
    // Act
    receivers.setRateLimit("slack", null);
    const off = await posts(5, receivers.urlFor("slack", "ops"), slackMessage);
    receivers.reset();
    const on = await posts(4, receivers.urlFor("slack", "ops"), slackMessage);

    // Assess
    expect(off.every((a) => a.status === 200)).toBe(true);
    expect(on.map((a) => a.status)).toEqual([200, 200, 200, 429]);
  });

  it("refuses a limit that is not positive, naming the field", () => {
    expect(() =>
      receivers.setRateLimit("slack", { ...DEFAULT_RATE_LIMITS.slack, perSeconds: 0 }),
    ).toThrow(/slack: perSeconds must be/);
  });
});

describe("Slack chat.postMessage (Special tier: 1 per second per channel)", () => {
  const auth = { authorization: "Bearer xoxb-test" };

  it('answers HTTP 429 {"ok":false,"error":"ratelimited"} with Retry-After after a burst on one channel', async () => {
    // Act
    const url = `${receivers.slackApiUrl}/chat.postMessage`;
    const answers = await posts(4, url, { channel: "C1", text: "x" }, auth);
    const otherChannel = await post(url, { channel: "C2", text: "x" }, auth);

    // Assess
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429]);
    expect(JSON.parse(answers[3].text)).toEqual({ ok: false, error: "ratelimited" });
    expect(Number(answers[3].headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(otherChannel.status).toBe(200);
    expect(Object.keys(receivers.slackMessages)).toHaveLength(4);
  });
});

describe("PagerDuty Events API v2 (120 events per minute per routing key)", () => {
  it("accepts 120 events on one routing key, then 429 without Retry-After (none documented)", async () => {
    // Prepare
    const event = {
      routing_key: ROUTING_KEY,
      event_action: "trigger",
      payload: { summary: "s", source: "src", severity: "critical" },
    };
    const started = Date.now();

    // Act: until the first 429 (a bucket of 120 refilled at 2 per second while we send).
    const statuses: number[] = [];
    for (let i = 0; i < 200 && statuses.at(-1) !== 429; i++) {
      statuses.push((await post(receivers.pagerdutyEndpoint, event)).status);
    }
    const elapsedSeconds = (Date.now() - started) / 1000;
    const limited = await post(receivers.pagerdutyEndpoint, event);
    const otherKey = await post(receivers.pagerdutyEndpoint, {
      ...event,
      routing_key: "K".repeat(32),
    });

    // Assess
    const accepted = statuses.filter((s) => s === 202).length;
    expect(accepted).toBeGreaterThanOrEqual(120);
    expect(accepted).toBeLessThanOrEqual(120 + Math.ceil(elapsedSeconds * 2));
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBeNull();
    expect(JSON.parse(limited.text)).toMatchObject({ status: "throttle exceeded" });
    expect(otherKey.status).toBe(202);
  });
});

describe("Discord webhooks (rate limits announced in X-RateLimit-* headers)", () => {
  it("sends the X-RateLimit headers on every answer: accepted, invalid and 429", async () => {
    // Act
    const url = receivers.urlFor("discord", "alerts");
    const accepted = await posts(4, url, { content: "x" });
    const invalid = await post(url, {});
    const limited = await post(url, { content: "x" });

    // Assess
    for (const answer of [...accepted, invalid, limited]) {
      expect(answer.headers.get("x-ratelimit-limit")).toBe("5");
      expect(answer.headers.get("x-ratelimit-bucket")).toMatch(/^[0-9a-f]+$/);
      expect(Number(answer.headers.get("x-ratelimit-reset-after"))).toBeGreaterThan(0);
      expect(Number(answer.headers.get("x-ratelimit-reset"))).toBeGreaterThan(
        Date.now() / 1000 - 1,
      );
    }
    expect(accepted.map((a) => a.status)).toEqual([204, 204, 204, 204]);
    expect(accepted.map((a) => a.headers.get("x-ratelimit-remaining"))).toEqual([
      "4",
      "3",
      "2",
      "1",
    ]);
    expect(invalid.status).toBe(400);
    expect(invalid.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(limited.status).toBe(429);
    const body = JSON.parse(limited.text);
    expect(body).toMatchObject({ message: "You are being rate limited.", global: false });
    expect(body.retry_after).toBeGreaterThan(0);
    expect(body.retry_after).toBeLessThanOrEqual(2);
    expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(limited.headers.get("x-ratelimit-scope")).toBe("user");
  });

  it("opens a new window of 5 when the 2 AWS seconds are over (1/4: 500 ms)", async () => {
    // Prepare
    receivers.setTimeScale(4);
    const url = receivers.urlFor("discord", "alerts");
    await posts(5, url, { content: "x" });
    expect((await post(url, { content: "x" })).status).toBe(429);

    // Act
    await sleep(550);
    const next = await post(url, { content: "x" });

    // Assess
    expect(next.status).toBe(204);
    expect(next.headers.get("x-ratelimit-remaining")).toBe("4");
  });
});

describe("Teams Workflows webhooks (connectors: 4 per second, 60 per 30 seconds)", () => {
  it("accepts 4 at once, then 429 with Retry-After", async () => {
    // Act
    const answers = await posts(5, receivers.urlFor("teams", "ops"), teamsMessage);

    // Assess
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 429]);
    expect(answers[4].headers.get("retry-after")).toBe("1");
  });
});

describe("SNS SMS (20 SMS per second per account; Publish fails with Throttling)", () => {
  let aws: AwsStandins;

  beforeAll(async () => {
    aws = await startAwsStandins();
  });

  afterAll(async () => {
    await aws.close();
  });

  beforeEach(() => {
    aws.reset();
    setSmsTimeScale(aws.state, 1);
  });

  async function publishSms(): Promise<{ status: number; text: string }> {
    const res = await fetch(aws.url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        Action: "Publish",
        PhoneNumber: "+15555550100",
        Message: "deploy failed",
      }).toString(),
    });
    return { status: res.status, text: await res.text() };
  }

  it("accepts 20 SMS at once, then answers Throttling 'Rate exceeded'", async () => {
    // Act: 40 at once (refilled at 20 per second while they arrive).
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 40 }, () => publishSms()));
    const elapsedSeconds = (Date.now() - started) / 1000;

    // Assess
    const accepted = answers.filter((a) => a.status === 200).length;
    expect(accepted).toBeGreaterThanOrEqual(SNS_SMS_RATE_LIMIT.burst);
    expect(accepted).toBeLessThanOrEqual(20 + Math.ceil(elapsedSeconds * 20));
    const throttled = answers.filter((a) => a.status !== 200);
    expect(throttled.length).toBeGreaterThan(0);
    expect(throttled[0].status).toBe(400);
    expect(throttled[0].text).toContain("<Code>Throttling</Code>");
    expect(throttled[0].text).toContain("Rate exceeded");
    expect(aws.state.sns.published).toHaveLength(accepted);
    expect(smsRateStats(aws.state)).toEqual([
      expect.objectContaining({ attempts: 40, http429: throttled.length }),
    ]);
  });

  it("does not count a topic publish without SMS attributes (SMS throughput only)", async () => {
    // Act
    const answers = await Promise.all(
      Array.from({ length: 30 }, () =>
        fetch(aws.url, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            Action: "Publish",
            TopicArn: "arn:aws:sns:us-east-1:123456789012:ops",
            Message: "1 message in the DLQ",
          }).toString(),
        }).then((r) => r.status),
      ),
    );

    // Assess
    expect(answers.every((s) => s === 200)).toBe(true);
    expect(smsRateStats(aws.state)).toEqual([]);
  });

  it("can be turned off by a test about something else (setSmsRateLimit null)", async () => {
    // Act
    setSmsRateLimit(aws.state, null);
    const answers: number[] = [];
    for (let i = 0; i < 25; i++) answers.push((await publishSms()).status);

    // Assess
    expect(answers.every((s) => s === 200)).toBe(true);
  });
});
