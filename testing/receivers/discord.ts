/**
 * Discord webhooks, as "Execute Webhook" documents them
 * (https://discord.com/developers/docs/resources/webhook#execute-webhook): without `?wait=true`
 * a message is accepted with `204 No Content`; with `?wait=true` Discord "waits for server
 * confirmation of message send before response, and returns the created message body": HTTP 200
 * and the message object (https://discord.com/developers/docs/resources/message#message-object;
 * the stand-in gives its snowflake `id`, `type`, `content`, `embeds` and `timestamp`). One of
 * `content` or `embeds` is required, else HTTP 400 with JSON error code 50006 "Cannot send an
 * empty message" (https://discord.com/developers/docs/topics/opcodes-and-status-codes#json-json-error-codes).
 *
 * Size limits ({@link DISCORD_MESSAGE_LIMITS}): `content` at most 2000 characters and "up to 10"
 * embeds (Execute Webhook's JSON params); per embed, title 256, description 4096, up to 25 fields,
 * field name 256 and value 1024, footer text 2048, author name 256, and "the combined sum of
 * characters in all title, description, field.name, field.value, footer.text, and author.name
 * fields across all embeds attached to a message must not exceed 6000 characters"
 * (https://discord.com/developers/docs/resources/message#embed-object-embed-limits); the webhook
 * `username` override at most 80 (https://discord.com/developers/docs/resources/user#usernames-and-nicknames).
 * Over any of them Discord answers HTTP 400 with code 50035 "Invalid Form Body" and an `errors`
 * tree naming the field (`{"embeds":{"0":{"title":{"_errors":[{"code":"BASE_TYPE_MAX_LENGTH",
 * "message":"Must be 256 or fewer in length."}]}}}}`; the total: `{"embeds":{"_errors":[{"code":
 * "MAX_EMBED_SIZE_EXCEEDED","message":"Embed size exceeds maximum size of 6000"}]}}`, the message
 * discord-api-docs#2575 and the client libraries quote). Lengths are JavaScript string lengths.
 *
 * Rate limits ("Rate Limits", https://discord.com/developers/docs/topics/rate-limits): per route
 * and per top-level resource (a webhook is one: `webhook_id` + token), reported on every answer
 * in `X-RateLimit-Limit`, `-Remaining`, `-Reset` (epoch seconds), `-Reset-After` (seconds) and
 * `-Bucket` ({@link discordRateHeaders}); over the limit HTTP 429 with `Retry-After`,
 * `X-RateLimit-Scope` and the JSON `{ message, retry_after, global }` ("Exceeding A Rate Limit",
 * {@link discordRateLimited}). Discord says not to hard-code its numbers; the stand-in uses
 * {@link DISCORD_WEBHOOK_RATE_LIMIT}, what its headers commonly announce for a webhook.
 */
import { isRecord, json, type Admission, type Answer, type RateLimit } from "./core";

/** 5 executions per 2-second bucket per webhook (`X-RateLimit-Limit: 5`, `Reset-After: 2`). */
export const DISCORD_WEBHOOK_RATE_LIMIT: RateLimit = {
  limit: 5,
  perSeconds: 2,
  burst: 5,
  algorithm: "window",
  source:
    "https://discord.com/developers/docs/topics/rate-limits: per-route limits per webhook, announced in X-RateLimit-* headers (5 per 2 s for webhook executes)",
};

/** The `X-RateLimit-*` headers Discord sends on every answer, for the webhook `name`. */
export function discordRateHeaders(name: string, admission: Admission): Record<string, string> {
  return {
    "x-ratelimit-limit": String(admission.limit.limit),
    "x-ratelimit-remaining": String(Math.max(0, admission.remaining)),
    "x-ratelimit-reset": admission.resetAtEpochSeconds.toFixed(3),
    "x-ratelimit-reset-after": admission.resetAfterSeconds.toFixed(3),
    // An opaque id of the bucket (the webhook's route bucket).
    "x-ratelimit-bucket": Buffer.from(`webhook:${name}`).toString("hex").slice(0, 32),
  };
}

/** The 429 of a webhook over its bucket, and its extra headers (`Retry-After`, scope). */
export function discordRateLimited(admission: Admission): {
  answer: Answer;
  headers: Record<string, string>;
} {
  const retryAfter = Math.round(admission.retryAfterSeconds * 1000) / 1000;
  return {
    answer: json(429, {
      message: "You are being rate limited.",
      retry_after: retryAfter,
      global: false,
    }),
    headers: {
      "retry-after": String(Math.max(1, Math.ceil(retryAfter))),
      "x-ratelimit-scope": "user",
    },
  };
}

/** Discord's message and embed limits (sources in the module comment). */
export const DISCORD_MESSAGE_LIMITS = {
  content: 2000,
  embeds: 10,
  username: 80,
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footerText: 2048,
  authorName: 256,
  /** Title, description, field names and values, footer text and author name of all embeds. */
  embedTotal: 6000,
} as const;

/** One `_errors` entry of a 50035 answer, at `path` in the form body. */
interface FormError {
  path: Array<string | number>;
  code: string;
  message: string;
}

function tooLong(path: Array<string | number>, max: number): FormError {
  return { path, code: "BASE_TYPE_MAX_LENGTH", message: `Must be ${max} or fewer in length.` };
}

/** A string at `path` longer than `max` (absent or non-string values are not this check's concern). */
function checkLength(
  errors: FormError[],
  value: unknown,
  path: Array<string | number>,
  max: number,
): number {
  if (typeof value !== "string") return 0;
  if (value.length > max) errors.push(tooLong(path, max));
  return value.length;
}

/** The errors of one embed; returns its characters towards the 6000 total. */
function embedErrors(errors: FormError[], embed: unknown, i: number): number {
  const L = DISCORD_MESSAGE_LIMITS;
  if (!isRecord(embed)) return 0;
  let total = 0;
  total += checkLength(errors, embed.title, ["embeds", i, "title"], L.title);
  total += checkLength(errors, embed.description, ["embeds", i, "description"], L.description);
  if (isRecord(embed.footer)) {
    total += checkLength(errors, embed.footer.text, ["embeds", i, "footer", "text"], L.footerText);
  }
  if (isRecord(embed.author)) {
    total += checkLength(errors, embed.author.name, ["embeds", i, "author", "name"], L.authorName);
  }
  if (Array.isArray(embed.fields)) {
    if (embed.fields.length > L.fields) errors.push(tooLong(["embeds", i, "fields"], L.fields));
    embed.fields.forEach((field, j) => {
      if (!isRecord(field)) return;
      total += checkLength(errors, field.name, ["embeds", i, "fields", j, "name"], L.fieldName);
      total += checkLength(errors, field.value, ["embeds", i, "fields", j, "value"], L.fieldValue);
    });
  }
  return total;
}

/** The 50035 errors of a webhook message (empty when it is within Discord's limits). */
export function discordFormErrors(fields: Record<string, unknown>): FormError[] {
  const L = DISCORD_MESSAGE_LIMITS;
  const errors: FormError[] = [];
  checkLength(errors, fields.content, ["content"], L.content);
  checkLength(errors, fields.username, ["username"], L.username);
  if (Array.isArray(fields.embeds)) {
    if (fields.embeds.length > L.embeds) errors.push(tooLong(["embeds"], L.embeds));
    const total = fields.embeds.reduce(
      (sum: number, embed, i) => sum + embedErrors(errors, embed, i),
      0,
    );
    if (total > L.embedTotal) {
      errors.push({
        path: ["embeds"],
        code: "MAX_EMBED_SIZE_EXCEEDED",
        message: `Embed size exceeds maximum size of ${L.embedTotal}`,
      });
    }
  }
  return errors;
}

/** Discord's nested `errors` tree: `{ embeds: { "0": { title: { _errors: [...] } } } }`. */
function errorTree(errors: readonly FormError[]): Record<string, unknown> {
  const tree: Record<string, unknown> = {};
  for (const { path, code, message } of errors) {
    let node = tree;
    for (const key of path) {
      const next = node[String(key)];
      node = isRecord(next) ? next : (node[String(key)] = {});
    }
    const list = Array.isArray(node._errors) ? (node._errors as unknown[]) : (node._errors = []);
    (list as unknown[]).push({ code, message });
  }
  return tree;
}

/** Discord-style snowflakes for message ids: increasing, never repeated in one process. */
let lastSnowflake = 0n;
function snowflake(): string {
  // Milliseconds since the Discord epoch (2015-01-01) in the high bits, like a real id.
  const next = (BigInt(Date.now() - 1_420_070_400_000) << 22n) | 1n;
  lastSnowflake = next > lastSnowflake ? next : lastSnowflake + 1n;
  return lastSnowflake.toString();
}

/** Answers one webhook execution (`query`: the URL's query parameters, `wait` among them). */
export function discord(body: unknown, query: Record<string, string> = {}): Answer {
  const fields = isRecord(body) ? body : {};
  const hasContent = typeof fields.content === "string" && fields.content !== "";
  const hasEmbeds = Array.isArray(fields.embeds) && fields.embeds.length > 0;
  if (!hasContent && !hasEmbeds) {
    return json(400, { message: "Cannot send an empty message", code: 50006 });
  }
  const errors = discordFormErrors(fields);
  if (errors.length > 0) {
    return json(400, { message: "Invalid Form Body", code: 50035, errors: errorTree(errors) });
  }
  if (query.wait !== "true") return { status: 204 };
  return json(200, {
    id: snowflake(),
    type: 0,
    content: typeof fields.content === "string" ? fields.content : "",
    embeds: Array.isArray(fields.embeds) ? fields.embeds : [],
    timestamp: new Date().toISOString(),
    ...(typeof fields.username === "string" && {
      author: { username: fields.username, bot: true },
    }),
  });
}
