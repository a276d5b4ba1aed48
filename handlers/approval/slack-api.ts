/**
 * The approval flow's calls to Slack: posts to an interaction's `response_url` (ephemerals and the
 * message update) and `views.open` for the reject-reason modal. Everything goes through
 * `postJson` (Node's http/https with a timeout); no URL, token or body is ever logged.
 */
import type { ModalView } from "@slack/types";
import type { Logger } from "../channels/types";
import { postJson } from "../http";
import type { ResponseUrlBody } from "./messages";
import { errorMessage, errorName, isRecord } from "./util";
import { redactAndCut } from "../redact";

/** Outbound Slack posts from the click path share Slack's 3 s budget with everything else. */
export const CLICK_POST_TIMEOUT_MS = 2000;
/** The asynchronous work has no Slack deadline; this only bounds a hung response_url. */
export const WORK_POST_TIMEOUT_MS = 5000;
/**
 * `views.open` must succeed before the trigger_id expires, 3 s after the click, and the ack must
 * still reach Slack within its 3 s: beyond this, fall back to rejecting without a reason.
 */
export const VIEWS_OPEN_TIMEOUT_MS = 2000;
const DEFAULT_SLACK_API_URL = "https://slack.com/api";

/**
 * POSTs a message to a Slack response_url within `timeoutMs`: `{ ok: true }` when Slack answered
 * 2xx, else why not (`missing`, `HTTP 404 expired_url`, an error name; never the URL). Never
 * throws: failures are logged. Slack keeps a response_url for 30 minutes and 5 uses (REFERENCE.md,
 * Slack); what it answers past that is not documented (third parties report `404 expired_url`),
 * so any answer that is not 2xx counts as "not posted" and the caller falls back (update.ts:
 * `chat.update`; else the audit says the message was not updated).
 */
export async function postResponse(
  log: Logger,
  responseUrl: string | undefined,
  body: ResponseUrlBody,
  timeoutMs: number,
): Promise<{ ok: true } | { ok: false; why: string }> {
  if (!responseUrl) {
    log.warn("slack response_url missing: cannot answer the user");
    return { ok: false, why: "missing" };
  }
  try {
    const res = await postJson(responseUrl, body, {
      channel: "slack",
      label: "slack response_url",
      deadline: Date.now() + timeoutMs,
      timeoutMs,
    });
    if (res.status < 200 || res.status >= 300) {
      log.warn("slack response_url post failed", { status: res.status });
      return {
        ok: false,
        why: `HTTP ${res.status} ${redactAndCut(res.body, [responseUrl], 40)}`.trim(),
      };
    }
    return { ok: true };
  } catch (err: unknown) {
    log.warn("slack response_url post failed", { error: errorName(err) });
    return { ok: false, why: errorName(err) };
  }
}

/** {@link postResponse} as a boolean: true when Slack answered 2xx. Never throws. */
export async function postToResponseUrl(
  log: Logger,
  responseUrl: string | undefined,
  body: ResponseUrlBody,
  timeoutMs: number,
): Promise<boolean> {
  return (await postResponse(log, responseUrl, body, timeoutMs)).ok;
}

/**
 * POSTs `payload` to Slack Web API `method` on `apiUrl` (default https://slack.com/api) with the
 * bot token within `timeoutMs`, and resolves with Slack's answer. Slack answers HTTP 200 with
 * `ok: false` and an `error` code on failure (https://api.slack.com/web#responses). Throws when
 * Slack is unreachable, slow, answers non-2xx or `ok: false`; the error names the method and
 * Slack's error code, never the token.
 */
async function callSlackApi(
  apiUrl: string | undefined,
  botToken: string,
  method: "views.open" | "chat.update",
  payload: unknown,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  const base = (apiUrl ?? DEFAULT_SLACK_API_URL).replace(/\/+$/, "");
  let body: unknown;
  try {
    const res = await postJson(`${base}/${method}`, payload, {
      channel: "slack",
      label: `slack ${method}`,
      deadline: Date.now() + timeoutMs,
      timeoutMs,
      headers: { authorization: `Bearer ${botToken}` },
      secrets: [botToken],
    });
    if (res.status < 200 || res.status >= 300) throw new Error(`HTTP ${res.status}`);
    body = JSON.parse(res.body);
  } catch (err: unknown) {
    const why = redactAndCut(errorMessage(err), [botToken], 200);
    throw new Error(`slack ${method}: ${errorName(err)}: ${why}`, {
      cause: err,
    });
  }
  if (!isRecord(body) || body.ok !== true) {
    const code =
      isRecord(body) && typeof body.error === "string" ? body.error : "unexpected answer";
    throw new Error(`slack ${method}: ${redactAndCut(code, [botToken], 100)}`);
  }
  return body;
}

/**
 * Opens a view with Slack's `views.open` on `apiUrl` (default https://slack.com/api) within
 * `timeoutMs` (default {@link VIEWS_OPEN_TIMEOUT_MS}); resolves with the view id ("" if Slack sent none). Throws when Slack is unreachable, slow,
 * answers non-2xx or `ok: false`; the error names the method and Slack's error code, never the
 * token.
 */
export async function openView(
  apiUrl: string | undefined,
  botToken: string,
  triggerId: string,
  view: ModalView,
  timeoutMs: number = VIEWS_OPEN_TIMEOUT_MS,
): Promise<string> {
  const body = await callSlackApi(
    apiUrl,
    botToken,
    "views.open",
    { trigger_id: triggerId, view },
    timeoutMs,
  );
  return isRecord(body.view) && typeof body.view.id === "string" ? body.view.id : "";
}

/**
 * Replaces a message with Slack's `chat.update` (https://api.slack.com/methods/chat.update:
 * `channel` and `ts` name the message; the answer is HTTP 200 with `ok: false` and an `error`
 * code such as `message_not_found` or `invalid_auth` on failure) within `timeoutMs`. Throws when
 * Slack is unreachable, slow, answers non-2xx or `ok: false`; the error names the method and
 * Slack's error code, never the token.
 */
export async function updateChatMessage(
  apiUrl: string | undefined,
  botToken: string,
  message: { channel: string; ts: string; text: string; blocks?: unknown[] },
  timeoutMs: number,
): Promise<void> {
  await callSlackApi(apiUrl, botToken, "chat.update", message, timeoutMs);
}
