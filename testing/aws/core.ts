/**
 * What the AWS stand-ins share: the mutable state tests prepare and assert on, fault and latency
 * injection, and the awsJson protocol's request handling and error shape (AWS SDK v3
 * `@smithy/core` protocols, awsJson1_0/1_1: errors are `{ "__type": code, "message" }` with the
 * `x-amzn-ErrorType` header, see the "AWS JSON 1.1 protocol" page of the Smithy specification).
 */
import type { ServerResponse } from "node:http";
import { sendJson } from "../http";
import type { IamDenial, IamEnforcer } from "../iam/enforce";
import type { CodePipelineCall, CodePipelineEvent, ModelPipeline } from "./codepipeline";
import type { LambdaInvocation } from "./lambda";
import type { SnsPublish } from "./sns";
import type { SqsMessage, SqsQueueSink } from "./sqs";

/** The stand-in's account id, used in ARNs it makes up. */
export const STANDIN_ACCOUNT = "123456789012";

/**
 * An injected AWS API failure: answered in the service's error shape with `code` as the exception
 * name. `operation` limits it to one operation; `times` = how many calls fail before the fault
 * clears itself (undefined = until cleared). `lostReply` (awsJson services: Secrets Manager and
 * CodePipeline): the call IS applied, then the connection is reset instead of the answer (`code`
 * unused) — a reply lost on the way back, which the client cannot tell from a request that never
 * arrived; its SDK retries it (a reset is a transient error), and the retry meets what the first
 * call did (PutApprovalResult: `ApprovalAlreadyCompletedException`).
 */
export interface AwsFault {
  code: string;
  status?: number;
  message?: string;
  operation?: string;
  times?: number;
  lostReply?: boolean;
}

/** The mutable state of the AWS stand-ins; tests prepare it and assert on it. */
export interface AwsState {
  /** Secret values by ARN or name. */
  secrets: Record<string, string>;
  /** Number of GetSecretValue calls that returned a value. */
  secretReads: number;
  /** GetSecretValue calls per SecretId as sent. */
  secretReadsById: Record<string, number>;
  sns: {
    published: SnsPublish[];
    /** Called with each publish the stand-in accepted, after it is recorded (the sandbox's log). */
    onPublish?: (publish: SnsPublish) => void;
  };
  codepipeline: {
    pipelines: Record<string, ModelPipeline>;
    calls: CodePipelineCall[];
    /** Every event the CodePipeline model emitted, oldest first (codepipeline/outbox.ts). */
    outbox?: CodePipelineEvent[];
    /** The region in emitted events (default us-east-1). */
    region?: string;
    /** The account in emitted events and ARNs (default `STANDIN_ACCOUNT`; set in scope views). */
    account?: string;
    /**
     * Pipelines of other (account, region) scopes, by `"<account>:<region>"` (issue 14; see
     * codepipeline/accounts.ts). The home scope's are `pipelines`.
     */
    scopes?: Record<string, Record<string, ModelPipeline>>;
  };
  lambda: { invocations: LambdaInvocation[] };
  /** SQS SendMessage calls (the fan-out parks undeliverable events in the DLQ with reasons). */
  sqs: {
    sent: SqsMessage[];
    /** Local queues by URL that receive what is sent to them (issue 11: deferred copies). */
    queues?: Record<string, SqsQueueSink>;
  };
}

/** Fault injection per service. */
export interface AwsFaults {
  secretsmanager: AwsFault | null;
  sns: AwsFault | null;
  codepipeline: AwsFault | null;
  lambda: AwsFault | null;
  /** SQS `SendMessage` (the fan-out's requeues, deferred copies and digest flushes). */
  sqs: AwsFault | null;
}

/** Latency injection per service and operation, in ms. */
export interface AwsDelays {
  codepipeline: Record<string, number>;
  /**
   * `Invoke`: the answer to an `Event` invocation is held this long after the event was queued
   * (the function runs either way): Lambda took the request, its answer came late or never.
   */
  lambda: Record<string, number>;
  secretsmanager: Record<string, number>;
  sns: Record<string, number>;
}

/**
 * A test's hold on the requests of one awsJson service ({@link AwsContext.holds}): each request
 * arrives (CodePipeline records it) and then waits unanswered until {@link AwsHold.release}, as
 * a slow AWS answer does — for as long as the test needs, where a timed delay can end before a
 * busy machine got to what the test looks at meanwhile.
 */
export interface AwsHold {
  /**
   * How many held requests have a client still waiting for the answer (their connection open):
   * a client that gave up (its SDK timed out, its caller aborted) is no longer counted.
   */
  readonly waiting: number;
  /** Lets every held request (and any later one) go on to its answer. Idempotent. */
  release(): void;
}

/** One hold of {@link AwsContext.holds}: the service and operations it applies to. */
export interface HoldEntry extends AwsHold {
  service: "secretsmanager" | "codepipeline";
  /** Only these operations; undefined = every operation of the service. */
  operations?: readonly string[];
  /** Resolves on release. */
  released: Promise<void>;
  /** Counts one held request while its connection is open. */
  track(res: ServerResponse): void;
}

/** A new unreleased hold on `service` (`operations`: all when undefined). */
export function newHold(service: HoldEntry["service"], operations?: readonly string[]): HoldEntry {
  const open = new Set<ServerResponse>();
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  return {
    service,
    operations,
    released,
    get waiting() {
      return open.size;
    },
    release: () => release(),
    track(res) {
      if (res.destroyed || res.writableEnded) return;
      open.add(res);
      res.once("close", () => open.delete(res));
      void released.then(() => open.delete(res));
    },
  };
}

/** A fresh, empty {@link AwsState}. */
export function emptyState(): AwsState {
  return {
    secrets: {},
    secretReads: 0,
    secretReadsById: {},
    sns: { published: [] },
    codepipeline: { pipelines: {}, calls: [], outbox: [] },
    lambda: { invocations: [] },
    sqs: { sent: [] },
  };
}

/** No fault anywhere. */
export function noFaults(): AwsFaults {
  return { secretsmanager: null, sns: null, codepipeline: null, lambda: null, sqs: null };
}

/** No added latency anywhere. */
export function noDelays(): AwsDelays {
  return { codepipeline: {}, lambda: {}, secretsmanager: {}, sns: {} };
}

/**
 * What every service module works on: one set of state, faults and delays per started stand-in
 * (the objects are reset in place, so tests may hold references to them).
 */
export interface AwsContext {
  region: string;
  state: AwsState;
  faults: AwsFaults;
  delays: AwsDelays;
  /** IAM enforcement (off until a program's declared IAM is loaded: testing/iam/enforce.ts). */
  iam: IamEnforcer;
  /** Sleeps `ms`; ends early when the server closes. */
  sleep(ms: number): Promise<void>;
  /** The tests' holds (emptied, every one released, by reset and close). */
  holds: HoldEntry[];
}

/** An error answered in the protocol's error shape; service operations throw it. */
export interface ServiceError {
  code: string;
  status: number;
  message: string;
}

/** A {@link ServiceError} (status 400 unless given). */
export function serviceError(code: string, message: string, status = 400): ServiceError {
  return { code, message, status };
}

/** Whether a thrown value is a {@link ServiceError} (anything else is a stand-in bug). */
export function isServiceError(value: unknown): value is ServiceError {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as ServiceError).code === "string" &&
    typeof (value as ServiceError).status === "number"
  );
}

/** Epoch seconds: the awsJson timestamp format. */
export function epoch(date: Date | undefined): number | undefined {
  return date === undefined ? undefined : date.getTime() / 1000;
}

/** Takes one use of the service's fault, if it applies to this operation (as it was set). */
function takeFaultUse(
  ctx: AwsContext,
  service: keyof AwsFaults,
  operation: string,
): AwsFault | undefined {
  const fault = ctx.faults[service];
  if (!fault || (fault.operation !== undefined && fault.operation !== operation)) {
    return undefined;
  }
  if (fault.times !== undefined) {
    if (fault.times <= 0) {
      ctx.faults[service] = null;
      return undefined;
    }
    fault.times -= 1;
    if (fault.times === 0) ctx.faults[service] = null;
  }
  return { ...fault };
}

/** The error of a fault use. */
function faultError(service: keyof AwsFaults, fault: AwsFault): ServiceError {
  return serviceError(
    fault.code,
    fault.message ?? `injected ${service} fault: ${fault.code}`,
    fault.status ?? 400,
  );
}

/** Takes one use of the service's error fault, if one applies to this operation. */
export function takeFault(
  ctx: AwsContext,
  service: keyof AwsFaults,
  operation: string,
): ServiceError | undefined {
  if (ctx.faults[service]?.lostReply) return undefined; // awsJson services only
  const fault = takeFaultUse(ctx, service, operation);
  return fault && faultError(service, fault);
}

/** Waits until every hold that applies to `operation` of `service` is released. */
async function heldAt(
  ctx: AwsContext,
  service: HoldEntry["service"],
  operation: string,
  res: ServerResponse,
): Promise<void> {
  const holds = ctx.holds.filter(
    (h) => h.service === service && (!h.operations || h.operations.includes(operation)),
  );
  for (const h of holds) h.track(res);
  await Promise.all(holds.map((h) => h.released));
}

/** One awsJson operation: the parsed JSON input → the JSON output; throws a {@link ServiceError}. */
export type JsonOperation = (input: Record<string, unknown>) => unknown;

function sendAwsJsonError(res: ServerResponse, error: ServiceError): void {
  sendJson(
    res,
    error.status,
    { __type: error.code, message: error.message },
    { "content-type": "application/x-amz-json-1.1", "x-amzn-errortype": error.code },
  );
}

/**
 * Answers one awsJson1_1 request (`X-Amz-Target: <prefix>.<operation>`): parses the body, applies
 * the injected delay and fault, runs the operation and answers its output or its error.
 * `onInput` sees every parsed input first (CodePipeline records its calls).
 */
export async function handleJsonTarget(
  ctx: AwsContext,
  res: ServerResponse,
  body: Buffer,
  target: {
    service: "secretsmanager" | "codepipeline";
    operation: string;
    ops: Record<string, JsonOperation>;
    onInput?: (input: Record<string, unknown>) => void;
  },
): Promise<void> {
  const { service, operation } = target;
  let input: Record<string, unknown>;
  try {
    input = body.length > 0 ? (JSON.parse(body.toString("utf8")) as Record<string, unknown>) : {};
  } catch {
    sendAwsJsonError(res, serviceError("SerializationException", "request body is not JSON"));
    return;
  }
  target.onInput?.(input);
  // A request that arrived is processed even when its client gave up during the delay (its SDK
  // timed out): as AWS does, which cannot know; only the answer is then lost.
  await ctx.sleep(ctx.delays[service][operation] ?? 0);
  await heldAt(ctx, service, operation, res);
  const op = target.ops[operation];
  try {
    if (!op) {
      throw serviceError(
        "UnknownOperationException",
        `aws stand-in: no stand-in for ${service} ${operation}`,
      );
    }
    const fault = takeFaultUse(ctx, service, operation);
    if (fault && !fault.lostReply) throw faultError(service, fault);
    const output = op(input);
    if (fault?.lostReply) res.socket?.destroy();
    else if (!res.destroyed)
      sendJson(res, 200, output, { "content-type": "application/x-amz-json-1.1" });
  } catch (err: unknown) {
    if (!isServiceError(err)) throw err;
    if (!res.destroyed) sendAwsJsonError(res, err);
  }
}

/** The wire protocols of the stand-ins, for answering a denial in the right error shape. */
export type AwsProtocol =
  "awsJson1_0" | "awsJson1_0+awsQueryCompatible" | "awsJson1_1" | "awsQuery" | "restJson";

/**
 * Answers an IAM denial as the protocol's error (see index.ts for which service speaks which):
 * awsJson `{ "__type", "message" }` with `x-amzn-ErrorType` (SQS, a query-compatible awsJson1_0
 * service, also sends `x-amzn-query-error: <code>;Sender`, from which the SDK takes the code);
 * awsQuery `<ErrorResponse><Error><Type>Sender</Type><Code>…`; restJson `{ "Type": "User",
 * "Message" }` with `x-amzn-ErrorType`.
 */
export function sendDenial(res: ServerResponse, protocol: AwsProtocol, denial: IamDenial): void {
  if (protocol === "awsQuery") {
    const escape = (t: string) => t.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
    const xml =
      `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type>` +
      `<Code>${escape(denial.code)}</Code><Message>${escape(denial.message)}</Message></Error>` +
      `<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>`;
    res.writeHead(denial.status, {
      "content-type": "text/xml",
      "content-length": Buffer.byteLength(xml),
    });
    res.end(xml);
    return;
  }
  if (protocol === "restJson") {
    sendJson(
      res,
      denial.status,
      { Type: "User", Message: denial.message },
      { "x-amzn-errortype": denial.code },
    );
    return;
  }
  const headers: Record<string, string> = {
    "content-type": `application/x-amz-json-${protocol === "awsJson1_1" ? "1.1" : "1.0"}`,
    "x-amzn-errortype": denial.code,
  };
  if (protocol === "awsJson1_0+awsQueryCompatible")
    headers["x-amzn-query-error"] = `${denial.code};Sender`;
  sendJson(res, denial.status, { __type: denial.code, message: denial.message }, headers);
}
