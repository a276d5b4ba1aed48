/**
 * Microsoft Teams Workflows webhooks ("Post to a channel when a webhook request is received",
 * the replacement of the retired Office 365 connectors; Microsoft Learn, "Create incoming webhooks
 * with Workflows for Microsoft Teams"): they accept Adaptive Card messages only,
 * `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive",
 * "content":{"type":"AdaptiveCard",…}}]}`, and answer `202 Accepted`; anything else is rejected
 * with 400.
 *
 * Size: Teams refuses messages over 28 KB (Microsoft Learn, "Limits and specifications for
 * Microsoft Teams", chat message size "approximately 28 KB"; "Format your bot messages": "the
 * message size limit is 28 KB"; Microsoft in MicrosoftDocs/msteams-docs#4213 and #7576: "Currently
 * message size limit is 28 kb. When the size exceeds 28 kb, you will receive an error"). A
 * Workflows webhook answers 202 when the flow run is queued, before the flow posts: a too-big card
 * fails in the run's post step, "MessageSizeExceeded-Message properties size exceeded. Actual
 * message properties size: 28897 bytes, whereas max allowed size is 28672 bytes"
 * (MicrosoftDocs/msteams-docs#11274), and nothing appears in the channel. The stand-in does the
 * same: a card it judges too big is answered 202 and not posted, recorded as `rejected` with that
 * reason (`Attempt.reason`), so a test sees what the sender cannot.
 *
 * What the flow measures ("message properties") is not the request body: #11274's run measured
 * 28,897 bytes for a request of 24,453. Microsoft does not say how one becomes the other; the
 * stand-in estimates the properties size as the body's bytes times that observed ratio
 * ({@link teamsMessagePropertiesBytes}) and refuses over 28,672, so it refuses from about 24,260
 * bytes of body: the body Teams is known to have refused is refused here too, and a sender that
 * budgets 28 KB of body (the documented figure) finds out locally that Teams would drop its card.

 * Rate limit: Microsoft documents the webhook thresholds under "Rate limiting for connectors"
 * (Microsoft Learn, "Create an Incoming Webhook": 4 requests per second, 60 per 30 seconds, …
 * per webhook; over them HTTP 429) and Workflows answer 429 with `Retry-After` like every Power
 * Automate trigger. {@link TEAMS_WEBHOOK_RATE_LIMIT} per webhook; the hourly and daily thresholds
 * (100 per hour, 1800 per day) are not modelled.
 */
import { isRecord, json, type Answer, type RateLimit } from "./core";

/** 4 per second from idle, then 60 per 30 seconds (2 per second), per webhook. */
export const TEAMS_WEBHOOK_RATE_LIMIT: RateLimit = {
  limit: 60,
  perSeconds: 30,
  burst: 4,
  source:
    "Microsoft Learn, Create an Incoming Webhook, Rate limiting for connectors: 4 requests per second, 60 per 30 seconds; HTTP 429",
};

/** The 429 of a Workflows webhook over its limit (+ `Retry-After`). */
export function teamsRateLimited(): Answer {
  return json(429, {
    error: { code: "TooManyRequests", message: "Rate limit is exceeded. Try again later." },
  });
}

const ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive";

/** 28 KB: what the Workflows run's post step allows ("max allowed size is 28672 bytes"). */
export const TEAMS_MESSAGE_MAX_BYTES = 28_672;

/** msteams-docs#11274: 28,897 bytes of message properties for a request body of 24,453 bytes. */
const OBSERVED_PROPERTIES_PER_BODY_BYTE = 28_897 / 24_453;

/** The flow's "message properties" size of a request body of `bytes`, estimated (see above). */
export function teamsMessagePropertiesBytes(bytes: number): number {
  return Math.ceil(bytes * OBSERVED_PROPERTIES_PER_BODY_BYTE);
}

/** Answers one Workflows webhook post (`bytes`: the size of the request body as sent). */
export function teams(body: unknown, bytes = 0): Answer {
  const attachments = isRecord(body) && body.type === "message" ? body.attachments : undefined;
  const valid =
    Array.isArray(attachments) &&
    attachments.length > 0 &&
    attachments.every(
      (a) =>
        isRecord(a) &&
        a.contentType === ADAPTIVE_CARD &&
        isRecord(a.content) &&
        a.content.type === "AdaptiveCard",
    );
  if (!valid) {
    return json(400, {
      error: {
        code: "InvalidRequestContent",
        message: "The request body must be an Adaptive Card message",
      },
    });
  }
  const properties = teamsMessagePropertiesBytes(bytes);
  if (properties > TEAMS_MESSAGE_MAX_BYTES) {
    return {
      status: 202,
      dropped:
        `Workflows run failed after its 202: MessageSizeExceeded-Message properties size exceeded. ` +
        `Actual message properties size: ${properties} bytes (estimated from a ${bytes}-byte request), ` +
        `whereas max allowed size is ${TEAMS_MESSAGE_MAX_BYTES} bytes`,
    };
  }
  return { status: 202 };
}
