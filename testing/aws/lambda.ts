/**
 * Lambda stand-in (restJson, `POST /2015-03-31/functions/<name>/invocations`): `Invoke` of
 * functions registered in-process. Models
 * https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html : `X-Amz-Invocation-Type`
 * `RequestResponse` (default) answers 200 with the function's result, or with
 * `X-Amz-Function-Error: Unhandled` and `{ errorType, errorMessage }` when it threw; `Event`
 * queues the function, runs it asynchronously and answers 202 (after `delays.lambda.Invoke` ms,
 * when set: the event is queued whether or not the caller still waits); `DryRun` answers 204. The function is
 * named by name, ARN or qualified ARN; an unknown one is `ResourceNotFoundException` (404), a body
 * that is not JSON `InvalidRequestContentException`.
 *
 * A payload over the Invoke quota is `RequestTooLargeException` (HTTP 413): 6 MB for
 * `RequestResponse`; for `Event`, the current API_Invoke page says 1 MB, while InvokeAsync's page
 * and the quota before October 2025 say 256 KB: built for both, the stand-in refuses over
 * {@link ASYNC_PAYLOAD_MAX_BYTES} (REFERENCE.md: where two sources disagree, build for both).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { sendJson } from "../http";
import { STANDIN_ACCOUNT, isServiceError, serviceError, takeFault, type AwsContext } from "./core";

/** The path of an Invoke request; group 1 is the function name or ARN (URL-encoded). */
export const LAMBDA_INVOKE = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/** `Event` payloads: 256 KB (the smaller of the two documented quotas, see the module comment). */
export const ASYNC_PAYLOAD_MAX_BYTES = 262_144;
/** `RequestResponse` payloads: 6 MB (API_Invoke.html). */
export const SYNC_PAYLOAD_MAX_BYTES = 6_291_456;

/** One Lambda invocation. */
export interface LambdaInvocation {
  functionName: string;
  invocationType: "Event" | "RequestResponse" | "DryRun";
  event: unknown;
  at: Date;
  /** Set once the function finished. */
  done: boolean;
  result?: unknown;
  /** The function's error message, if it threw. */
  error?: string;
}

/** A registered stand-in Lambda function. */
export type LambdaFunction = (event: unknown) => Promise<unknown>;

/** The functions `Invoke` can run, and the asynchronous (`Event`) invocations still running. */
export interface LambdaRegistry {
  functions: Record<string, LambdaFunction>;
  running: Set<Promise<void>>;
}

/** `name`, `arn:…:function:name` or `arn:…:function:name:qualifier` → `name`. */
function functionNameOf(raw: string): string {
  const decoded = decodeURIComponent(raw);
  const match = /^arn:[^:]+:lambda:[^:]+:[^:]+:function:([^:]+)/.exec(decoded);
  return match ? match[1] : decoded.split(":")[0];
}

/** The invocation's event: the JSON body, undefined when empty. */
function parseEvent(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw serviceError("InvalidRequestContentException", "Could not parse request body into json");
  }
}

/** Answers a finished RequestResponse invocation. */
function sendResult(res: ServerResponse, record: LambdaInvocation): void {
  if (res.destroyed) return;
  if (record.error !== undefined) {
    sendJson(
      res,
      200,
      { errorType: "Error", errorMessage: record.error },
      { "x-amz-function-error": "Unhandled", "x-amz-executed-version": "$LATEST" },
    );
  } else {
    sendJson(res, 200, record.result ?? null, { "x-amz-executed-version": "$LATEST" });
  }
}

function invoke(
  ctx: AwsContext,
  registry: LambdaRegistry,
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  rawName: string,
): void {
  const name = functionNameOf(rawName);
  const fn = registry.functions[name];
  if (!fn) {
    throw serviceError(
      "ResourceNotFoundException",
      `Function not found: arn:aws:lambda:${ctx.region}:${STANDIN_ACCOUNT}:function:${name}`,
      404,
    );
  }
  const header = String(req.headers["x-amz-invocation-type"] ?? "RequestResponse");
  const invocationType =
    header === "Event" || header === "DryRun" ? header : ("RequestResponse" as const);
  const max = invocationType === "Event" ? ASYNC_PAYLOAD_MAX_BYTES : SYNC_PAYLOAD_MAX_BYTES;
  if (body.length > max) {
    throw serviceError(
      "RequestTooLargeException",
      `Request must be smaller than ${max} bytes for the ${invocationType === "Event" ? "InvokeAsync" : "Invoke"} operation`,
      413,
    );
  }
  const event = parseEvent(body);
  const record: LambdaInvocation = {
    functionName: name,
    invocationType,
    event,
    at: new Date(),
    done: false,
  };
  ctx.state.lambda.invocations.push(record);
  if (invocationType === "DryRun") {
    record.done = true;
    res.writeHead(204).end();
    return;
  }
  const run = Promise.resolve()
    .then(() => fn(event))
    .then(
      (result) => {
        record.result = result;
      },
      (err: unknown) => {
        record.error = err instanceof Error ? err.message : String(err);
      },
    )
    .finally(() => {
      record.done = true;
    });
  if (invocationType === "Event") {
    const tracked = run.finally(() => registry.running.delete(tracked));
    registry.running.add(tracked);
    // Queued above; a delayed answer is one Lambda accepted whose reply the caller may not wait for.
    void ctx.sleep(ctx.delays.lambda.Invoke ?? 0).then(() => {
      if (!res.destroyed) res.writeHead(202, { "content-length": 0 }).end();
    });
    return;
  }
  void run.then(() => sendResult(res, record));
}

/** Answers one Invoke request (`rawName` from {@link LAMBDA_INVOKE}), with the injected fault. */
export function handleInvoke(
  ctx: AwsContext,
  registry: LambdaRegistry,
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  rawName: string,
): void {
  try {
    const fault = takeFault(ctx, "lambda", "Invoke");
    if (fault) throw fault;
    invoke(ctx, registry, req, res, body, rawName);
  } catch (err: unknown) {
    if (!isServiceError(err)) throw err;
    sendJson(
      res,
      err.status,
      { Type: "User", message: err.message },
      { "x-amzn-errortype": err.code },
    );
  }
}

/** Resolves when no asynchronous invocation is running (one may start others: waits for all). */
export async function lambdaIdle(registry: LambdaRegistry): Promise<void> {
  while (registry.running.size > 0) {
    await Promise.allSettled([...registry.running]);
  }
}
