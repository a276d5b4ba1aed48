/**
 * Microsoft Teams Workflows webhooks ("Post to a channel when a webhook request is received",
 * the replacement of the retired Office 365 connectors; Microsoft Learn, "Create incoming webhooks
 * with Workflows for Microsoft Teams"): they accept Adaptive Card messages only,
 * `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive",
 * "content":{"type":"AdaptiveCard",…}}]}`, and answer `202 Accepted`; anything else is rejected
 * with 400.
 */
import { isRecord, json, type Answer } from "./core";

const ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive";

/** Answers one Workflows webhook post. */
export function teams(body: unknown): Answer {
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
  return { status: 202 };
}
