/**
 * Request dispatch of the approval function URL: verify that Slack sent it (signature, then the
 * replay guard), then route it — `url_verification` (JSON), `ssl_check`, or an interaction
 * (`block_actions` click, `view_submission` of the reject-reason modal). Anything unverified gets
 * an opaque 401 and no reason.
 */
import type { LambdaFunctionURLEvent } from "aws-lambda";
import { cut } from "../events/fields";
import { UNKNOWN_PIPELINE } from "../store/audit";
import { requireEnv, secretJson } from "../aws";
import { isRetryableStoreError } from "../store/claim";
import { ackBudget, receivedAtOf, storeBudgetOf } from "./budget";
import { ENV, type SlackAppSecrets } from "../types";
import { handleClick } from "./click";
import { audit } from "./decision";
import { parseInteraction, parseViewSubmission, type BlockActionsInteraction } from "./interaction";
import { firstUseOf } from "./replay";
import { ok, respond, unauthorized } from "./response";
import { verifySlackSignature } from "./signature";
import { handleReasonSubmission } from "./submission";
import type { ApprovalResponse, ApprovalRuntime } from "./types";
import { errorMessage, errorName, isRecord } from "./util";

/** A header's value; function URLs lower-case names, other front ends (API Gateway v1) may not. */
function header(event: LambdaFunctionURLEvent, name: string): string | undefined {
  const headers = event.headers ?? {};
  if (headers[name] !== undefined) return headers[name];
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

/** A verified request: the secrets, and why its replay guard could not be recorded in time. */
type Verified = { secrets: SlackAppSecrets; unrecorded?: string };

/**
 * Records the signature as used (the replay guard) within the request's budget: true when first
 * used, false for a replay, or the error's name when DynamoDB did not answer in time.
 */
async function recordUse(
  rt: ApprovalRuntime,
  signature: string,
  now: Date,
): Promise<boolean | string> {
  try {
    return await firstUseOf(signature, now, storeBudgetOf(rt));
  } catch (err: unknown) {
    if (!isRetryableStoreError(err)) throw err;
    return errorName(err);
  }
}

/**
 * Verifies that Slack sent the request, once: signature headers present, the signing secret
 * readable, the signature valid and never used before. Returns the secrets (with `unrecorded`
 * when the replay guard could not be written within the budget), or the answer to give.
 */
async function verifyRequest(
  rt: ApprovalRuntime,
  event: LambdaFunctionURLEvent,
  rawBody: Buffer,
  now: Date,
): Promise<Verified | { answer: ApprovalResponse }> {
  const signature = header(event, "x-slack-signature");
  const timestamp = header(event, "x-slack-request-timestamp");
  if (!signature || !timestamp) {
    // Not even an attempt at a Slack request: refuse before touching Secrets Manager.
    rt.log.warn("slack request rejected", { reason: "missing signature headers" });
    return { answer: unauthorized() };
  }
  let secrets: SlackAppSecrets;
  try {
    secrets = await secretJson<SlackAppSecrets>(requireEnv(ENV.slackAppSecretArn));
  } catch (err: unknown) {
    rt.log.error("slack app secret unavailable", { error: errorMessage(err) });
    return { answer: respond(500, "internal error") };
  }
  const verified = verifySlackSignature({
    signingSecret: secrets.signingSecret,
    timestamp,
    signature,
    rawBody,
    now,
  });
  if (!verified.ok) {
    rt.log.warn("slack request rejected", { reason: verified.reason });
    return { answer: unauthorized() };
  }
  const first = await recordUse(rt, signature, now);
  if (first === false) {
    rt.log.warn("slack request rejected", { reason: "replay of a used signature" });
    return { answer: unauthorized() };
  }
  return typeof first === "string" ? { secrets, unrecorded: first } : { secrets };
}

/** A verified JSON request: only `url_verification` is answered (with its challenge). */
async function handleJson(rt: ApprovalRuntime, text: string): Promise<ApprovalResponse> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return respond(400, "bad request");
  }
  if (isRecord(body) && body.type === "url_verification" && typeof body.challenge === "string") {
    return respond(200, body.challenge);
  }
  await audit(rt, {
    action: "ignored",
    pipeline: UNKNOWN_PIPELINE,
    result: "unsupported JSON request",
  });
  return ok();
}

/**
 * A verified form request: `ssl_check`, or an interaction in the `payload` field. A request whose
 * replay guard was not recorded in time (`verified.unrecorded`) decides nothing: a click is told
 * so, anything else fails as when DynamoDB is down.
 */
async function handleForm(
  rt: ApprovalRuntime,
  text: string,
  verified: Verified,
): Promise<ApprovalResponse> {
  const { secrets, unrecorded } = verified;
  const form = new URLSearchParams(text);
  if (form.get("ssl_check") === "1") return ok();
  const payload = form.get("payload");
  if (payload === null) {
    await audit(rt, { action: "ignored", pipeline: UNKNOWN_PIPELINE, result: "no payload" });
    return ok();
  }
  const rejectInput = async (reason: string): Promise<ApprovalResponse> => {
    rt.log.warn("slack interaction rejected", { reason });
    await audit(rt, { action: "rejected-input", pipeline: UNKNOWN_PIPELINE, result: reason });
    return respond(400, "bad request");
  };
  const parsed = parseInteraction(payload);
  if (!parsed.ok) return rejectInput(parsed.reason);
  if (unrecorded && parsed.interaction.type !== "block_actions") {
    throw new Error(`replay guard not recorded in time: ${unrecorded}`);
  }
  if (parsed.interaction.type === "view_submission") {
    const submission = parseViewSubmission(payload);
    if (!submission.ok) return rejectInput(submission.reason);
    return handleReasonSubmission(rt, submission.submission);
  }
  if (parsed.interaction.type !== "block_actions") {
    await audit(rt, {
      action: "ignored",
      pipeline: UNKNOWN_PIPELINE,
      result: `interaction type ${cut(parsed.interaction.type, 64)}`,
    });
    return ok();
  }
  const click = parsed.interaction as BlockActionsInteraction;
  return handleClick(rt, click, { botToken: secrets.botToken, unrecorded });
}

/**
 * Handles a function URL request from Slack within Slack's 3 s (budget.ts: the DynamoDB calls
 * of a click or submission that do not get through in time are answered honestly, nothing
 * decided). Other DynamoDB and Lambda errors are thrown (the caller answers 500: nothing was
 * decided).
 */
export async function handleRequest(
  runtime: ApprovalRuntime,
  event: LambdaFunctionURLEvent,
): Promise<ApprovalResponse> {
  const now = new Date();
  // Slack waits 3 s for the answer: every step on the path is bounded from the request's receipt
  // by the function URL, a cold start included (budget.ts).
  const receivedAt = receivedAtOf(event.requestContext?.timeEpoch, now.getTime());
  const rt: ApprovalRuntime = { ...runtime, ack: ackBudget(receivedAt) };
  const rawBody = Buffer.from(event.body ?? "", event.isBase64Encoded ? "base64" : "utf8");
  const verified = await verifyRequest(rt, event, rawBody, now);
  if ("answer" in verified) return verified.answer;
  const text = rawBody.toString("utf8");
  const contentType = header(event, "content-type") ?? "";
  if (contentType.includes("json") || text.trimStart().startsWith("{")) {
    return handleJson(rt, text);
  }
  return handleForm(rt, text, verified);
}
