/**
 * A generic webhook endpoint: anything the `webhook` channel posts (handlers/channels) is accepted
 * with `200 ok`. The channel's own documented payload is asserted by the tests on what was
 * recorded.
 *
 * It honours the `Idempotency-Key` request header as the IETF draft "The Idempotency-Key HTTP
 * Header Field" (draft-ietf-httpapi-idempotency-key-header-07, sections 2 and 2.6) describes a
 * resource that supports it: the value is a Structured Field String (`"…"`, RFC 8941; a bare
 * token is accepted too, as many receivers do); a request repeating the key of a request already
 * processed is not processed again and is answered with the first request's answer. Keys are
 * scoped to one endpoint (the `<name>` path segment). Not modelled: the draft's 409 for a repeat
 * arriving while the first is still being processed (this stand-in answers synchronously) and the
 * optional 422 for a key reused with a different payload (the fingerprint is a MAY; the channel's
 * `sentAt` differs between retries, so a fingerprinting receiver would refuse its retries).
 */
import type { IncomingHttpHeaders } from "node:http";
import { text, type Answer } from "./core";

/** What the webhook endpoints remember: the first answer per `<name>` + idempotency key. */
export interface WebhookState {
  answers: Record<string, Answer>;
}

/** An empty {@link WebhookState}. */
export function createWebhookState(): WebhookState {
  return { answers: {} };
}

/**
 * The key of an `Idempotency-Key` header: the string of an sf-string (`"a\"b"` → `a"b`), or the
 * trimmed raw value; undefined when there is none.
 */
export function idempotencyKeyOf(headers: IncomingHttpHeaders): string | undefined {
  const raw = headers["idempotency-key"];
  const value = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  if (!value) return undefined;
  const quoted = /^"((?:[^"\\]|\\["\\])*)"$/.exec(value);
  return quoted ? quoted[1].replace(/\\(["\\])/g, "$1") : value;
}

/**
 * Answers one webhook post to endpoint `name`; `replayed` when the idempotency key was seen
 * before (the answer is then the first one, and the post must not count as a delivery).
 */
export function webhook(
  state: WebhookState,
  name: string,
  headers: IncomingHttpHeaders,
): { answer: Answer; replayed: boolean } {
  const key = idempotencyKeyOf(headers);
  const scoped = key === undefined ? undefined : `${name}\n${key}`;
  const first = scoped === undefined ? undefined : state.answers[scoped];
  if (first) return { answer: first, replayed: true };
  const answer = text(200, "ok");
  if (scoped !== undefined) state.answers[scoped] = answer;
  return { answer, replayed: false };
}
