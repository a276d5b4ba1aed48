/**
 * Receiver idempotency, end to end against the receiver stand-ins (testing/receivers): when a
 * receiver accepted a message but its reply was lost (the connection reset after the request was
 * read), the channel sees a retryable failure and sends again. Whether that becomes a duplicate
 * depends on the receiver:
 * - PagerDuty (Events API v2, "Alert De-duplication"): a trigger with the `dedup_key` of an open
 *   incident is added to that incident, not a new one;
 * - a generic webhook that honours `Idempotency-Key` (IETF draft
 *   draft-ietf-httpapi-idempotency-key-header): the repeat is answered with the first answer and
 *   not processed again;
 * - Slack has no idempotency: the repeat is a second message, but its message metadata carries
 *   the notification id, so the duplicate can be found in the channel's history.
 */
import { pagerdutyDriver } from "../../handlers/channels/pagerduty";
import { slackDriver, SLACK_METADATA_EVENT_TYPE } from "../../handlers/channels/slack";
import { webhookDriver } from "../../handlers/channels/webhook";
import { isDeliveryError } from "../../handlers/http";
import type { ChannelConfig } from "../../handlers/types";
import { startReceivers, type Receivers } from "../../testing/receivers";
import { fixture, makeContext, rejectionOf } from "./helpers";

const ROUTING_KEY = "R0123456789abcdef0123456789abcde";

let receivers: Receivers;

beforeAll(async () => {
  receivers = await startReceivers();
});
afterEach(() => receivers.reset());
afterAll(() => receivers.close());

describe("a lost reply, then the retry", () => {
  it("webhook: the repeat carries the same Idempotency-Key and is answered, not delivered twice", async () => {
    // Prepare
    receivers.setFault("webhook", { kind: "lost-reply", times: 1 });
    const n = fixture("failure-revision");
    const { ctx } = makeContext({ type: "webhook" } as ChannelConfig, {
      url: receivers.urlFor("webhook", "ingest"),
    });

    // Act
    const lost = await rejectionOf(() => webhookDriver.send(n, ctx as never));
    const retried = await webhookDriver.send(n, ctx as never);

    // Assess: the first looked like a failure to the sender (retryable) but was accepted
    expect(isDeliveryError(lost) && lost.retryable).toBe(true);
    expect(retried.status).toBe(200);
    expect(receivers.outcomes("webhook")).toMatchObject({
      "lost-reply": 1,
      replayed: 1,
      delivered: 0,
    });
    expect(receivers.byReceiver("webhook")).toHaveLength(1);
    const keys = receivers.attemptsOf("webhook").map((a) => a.headers["idempotency-key"]);
    expect(keys).toEqual([`"${n.id}:${ctx.name}"`, `"${n.id}:${ctx.name}"`]);
  });

  it("pagerduty: the repeated trigger (same dedup_key) joins the open incident", async () => {
    // Prepare
    receivers.setFault("pagerduty", { kind: "lost-reply", times: 1 });
    const n = fixture("failure-revision");
    const { ctx } = makeContext(
      { type: "pagerduty", endpoint: receivers.pagerdutyEndpoint } as ChannelConfig,
      { routingKey: ROUTING_KEY },
    );

    // Act
    const lost = await rejectionOf(() => pagerdutyDriver.send(n, ctx as never));
    const retried = await pagerdutyDriver.send(n, ctx as never);

    // Assess: one incident, two triggers folded into it (Events API v2 de-duplication)
    expect(isDeliveryError(lost) && lost.retryable).toBe(true);
    expect(retried.status).toBe(202);
    expect(receivers.incidents).toHaveLength(1);
    expect(receivers.incidents[0]).toMatchObject({ triggers: 2, status: "triggered" });
    expect(receivers.incidents[0].dedupKey).toBe(retried.id);
  });

  it("slack bot: the repeat is a second message (no idempotency), found by its metadata", async () => {
    // Prepare
    receivers.setFault("slack-api", { kind: "lost-reply", times: 1 });
    const n = fixture("failure-revision");
    const { ctx } = makeContext(
      {
        type: "slack",
        mode: "bot",
        channel: "C0DEPLOYS",
        apiUrl: receivers.slackApiUrl,
      } as ChannelConfig,
      { botToken: "xoxb-test-token" },
    );

    // Act
    await rejectionOf(() => slackDriver.send(n, ctx as never));
    await slackDriver.send(n, ctx as never);
    const history = await fetch(`${receivers.slackApiUrl}/conversations.history`, {
      method: "POST",
      headers: { authorization: "Bearer xoxb-test-token", "content-type": "application/json" },
      body: JSON.stringify({ channel: "C0DEPLOYS", include_all_metadata: true }),
    }).then((r) => r.json());

    // Assess: the ambiguous window this channel keeps, made visible
    const mine = history.messages.filter(
      (m: { metadata?: { event_type: string; event_payload: { notification_id: string } } }) =>
        m.metadata?.event_type === SLACK_METADATA_EVENT_TYPE &&
        m.metadata.event_payload.notification_id === n.id,
    );
    expect(mine).toHaveLength(2);
    expect(receivers.outcomes("slack-api", "chat.postMessage")).toMatchObject({
      "lost-reply": 1,
      delivered: 1,
    });
  });
});
