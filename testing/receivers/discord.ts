/**
 * Discord webhooks, as "Execute Webhook" documents them
 * (https://discord.com/developers/docs/resources/webhook#execute-webhook): without `?wait=true`
 * a message is accepted with `204 No Content`; one of `content` or `embeds` is required, else
 * HTTP 400 with JSON error code 50006 "Cannot send an empty message"
 * (https://discord.com/developers/docs/topics/opcodes-and-status-codes#json-json-error-codes).
 */
import { isRecord, json, type Answer } from "./core";

/** Answers one webhook execution. */
export function discord(body: unknown): Answer {
  const fields = isRecord(body) ? body : {};
  const hasContent = typeof fields.content === "string" && fields.content !== "";
  const hasEmbeds = Array.isArray(fields.embeds) && fields.embeds.length > 0;
  if (!hasContent && !hasEmbeds) {
    return json(400, { message: "Cannot send an empty message", code: 50006 });
  }
  return { status: 204 };
}
