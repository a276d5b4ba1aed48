/**
 * The receiver stand-ins misbehave the way real receivers do (testing/receivers/core.ts): a reply
 * lost after the message was accepted, a reset before it was, slow answers, and random faults
 * that are the same under the same seed; and the idempotency the webhook and Slack stand-ins
 * model (IETF Idempotency-Key draft; Slack message metadata).
 */
import { startReceivers, type AttemptOutcome, type Receivers } from "../../testing/receivers";

let receivers: Receivers;

beforeAll(async () => {
  receivers = await startReceivers();
});
afterEach(() => receivers.reset());
afterAll(() => receivers.close());

/** Posts JSON; resolves with the status, or "reset" when the connection died without an answer. */
async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<number | "reset"> {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
    await res.text();
    return res.status;
  } catch {
    return "reset";
  }
}

describe("lost replies and resets", () => {
  it("a lost reply is accepted (in deliveries) although the client saw a reset; a reset is not", async () => {
    // Prepare
    const url = receivers.urlFor("webhook", "ops");
    const card = { type: "message" };
    receivers.setFault("webhook", { kind: "lost-reply", times: 1 });

    // Act
    const first = await post(url, card);
    receivers.setFault("webhook", { kind: "reset", times: 1 });
    const second = await post(url, card);

    // Assess: the client cannot tell them apart; the receiver can
    expect([first, second]).toEqual(["reset", "reset"]);
    expect(receivers.outcomes("webhook")).toMatchObject({
      "lost-reply": 1,
      reset: 1,
      delivered: 0,
    });
    expect(receivers.byReceiver("webhook")).toHaveLength(1);
  });

  it("a gateway timeout: the channel took the message, the client got the gateway's 504", async () => {
    // Prepare
    const url = receivers.urlFor("webhook", "ops");
    receivers.setFault("webhook", { kind: "gateway-timeout", times: 1 });

    // Act
    const first = await post(url, { type: "message" });
    const second = await post(url, { type: "message" });

    // Assess: both were delivered; only the second answer was the channel's
    expect([first, second]).toEqual([504, 200]);
    expect(receivers.byReceiver("webhook")).toHaveLength(2);
    expect(receivers.outcomes("webhook")).toMatchObject({ "lost-reply": 1, delivered: 1 });
  });

  it("a slow fault answers normally, only later", async () => {
    // Prepare
    receivers.setFault("webhook", { kind: "slow", ms: 200, times: 1 });
    const started = Date.now();

    // Act
    const status = await post(receivers.urlFor("webhook", "w"), { hello: 1 });

    // Assess
    expect(status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(receivers.outcomes("webhook").delivered).toBe(1);
  });
});

describe("random faults (setChaos)", () => {
  async function run(seed: number): Promise<AttemptOutcome[]> {
    receivers.reset();
    receivers.setChaos(
      { fraction: 0.3, seed, faults: [{ status: 500 }, { kind: "reset" }, { kind: "lost-reply" }] },
      ["webhook"],
    );
    for (let i = 0; i < 100; i++) await post(receivers.urlFor("webhook", "w"), { i });
    return receivers.attemptsOf("webhook").map((a) => a.outcome);
  }

  it("fails about the fraction asked for, and the same requests under the same seed", async () => {
    // Act
    const a = await run(7);
    const b = await run(7);
    const c = await run(8);

    // Assess
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const failed = a.filter((o) => o !== "delivered").length;
    expect(failed).toBeGreaterThanOrEqual(15);
    expect(failed).toBeLessThanOrEqual(45);
    expect(new Set(a)).toEqual(new Set(["delivered", "fault", "reset", "lost-reply"]));
  });

  it("only the receivers named, and an explicit fault takes precedence", async () => {
    // Prepare
    receivers.setChaos({ fraction: 1, faults: [{ status: 503 }] }, ["discord"]);
    receivers.setFault("discord", { status: 429, retryAfter: 2, times: 1 });

    // Act
    const statuses = [
      await post(receivers.urlFor("discord", "d"), { content: "x" }),
      await post(receivers.urlFor("discord", "d"), { content: "x" }),
      await post(receivers.urlFor("webhook", "w"), {}),
    ];

    // Assess
    expect(statuses).toEqual([429, 503, 200]);
  });

  it("refuses a fraction outside 0..1, naming it", () => {
    expect(() => receivers.setChaos({ fraction: 1.5, faults: [{ status: 500 }] })).toThrow(
      /fraction/,
    );
    expect(() => receivers.setChaos({ fraction: 0.5, faults: [] })).toThrow(/faults/);
  });
});

describe("webhook Idempotency-Key (draft-ietf-httpapi-idempotency-key-header, section 2.6)", () => {
  it("a repeat of a processed key gets the first answer and is not delivered again", async () => {
    // Act
    const key = { "idempotency-key": '"n-1:hook"' };
    const statuses = [
      await post(receivers.urlFor("webhook", "a"), { n: 1 }, key),
      await post(receivers.urlFor("webhook", "a"), { n: 1 }, key),
      // Keys are scoped to one endpoint.
      await post(receivers.urlFor("webhook", "b"), { n: 1 }, key),
      // No key: every post is processed.
      await post(receivers.urlFor("webhook", "a"), { n: 2 }),
      await post(receivers.urlFor("webhook", "a"), { n: 2 }),
    ];

    // Assess
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    expect(receivers.attemptsOf("webhook").map((a) => a.outcome)).toEqual([
      "delivered",
      "replayed",
      "delivered",
      "delivered",
      "delivered",
    ]);
    expect(receivers.byReceiver("webhook", "a")).toHaveLength(3);
  });
});

describe("Slack Web API message metadata", () => {
  const api = (method: string, body: unknown) =>
    fetch(`${receivers.slackApiUrl}/${method}`, {
      method: "POST",
      headers: { authorization: "Bearer xoxb-1", "content-type": "application/json" },
      body: JSON.stringify(body),
    }).then((r) => r.json());

  it("keeps metadata with the message; conversations.history shows it with include_all_metadata", async () => {
    // Prepare
    const metadata = {
      event_type: "deploy_notification",
      event_payload: { notification_id: "n1" },
    };

    // Act
    const posted = await api("chat.postMessage", { channel: "C1", text: "hi", metadata });
    const plain = await api("conversations.history", { channel: "C1" });
    const full = await api("conversations.history", { channel: "C1", include_all_metadata: true });

    // Assess
    expect(posted.ok).toBe(true);
    expect(receivers.slackMessages[`C1:${posted.ts}`].metadata).toEqual(metadata);
    expect(plain.messages[0].metadata).toBeUndefined();
    expect(full.messages[0]).toMatchObject({ ts: posted.ts, metadata });
  });

  it("answers invalid_metadata_format for metadata without event_type and event_payload", async () => {
    const answer = await api("chat.postMessage", {
      channel: "C1",
      text: "hi",
      metadata: { event_payload: {} },
    });
    expect(answer).toEqual({ ok: false, error: "invalid_metadata_format" });
  });
});
