/**
 * Local stand-ins for the AWS APIs the handlers call, on one HTTP server, one module per service.
 * Each speaks the wire protocol that the installed SDK v3 client sends:
 *
 * | service         | module             | protocol (in client dist-cjs) | routed by                                     |
 * |-----------------|--------------------|-------------------------------|-----------------------------------------------|
 * | Secrets Manager | secrets-manager.ts | awsJson1_1                    | `X-Amz-Target: secretsmanager.<Op>`           |
 * | CodePipeline    | codepipeline/      | awsJson1_1                    | `X-Amz-Target: CodePipeline_20150709.<Op>`    |
 * | SQS             | sqs.ts             | awsJson1_0                    | `X-Amz-Target: AmazonSQS.<Op>`                |
 * | SNS             | sns.ts             | awsQuery (form in, XML out)   | form field `Action`                           |
 * | Lambda          | lambda.ts          | restJson                      | `POST /2015-03-31/functions/<fn>/invocations` |
 * | STS             | sts.ts             | awsQuery (form in, XML out)   | SigV4 credential scope service `sts`          |
 *
 * CodePipeline is keyed by (account, region) (codepipeline/accounts.ts): the account is the
 * caller's (a local STS session's keys act in the assumed role's account; every other key in the
 * stand-ins' account), the region the SigV4 credential scope's. Keys of an expired STS session
 * are refused with `ExpiredTokenException` ("The security token included in the request is
 * expired"), as AWS refuses them.
 *
 * Errors are answered in each protocol's error shape, so the SDK raises the named exception
 * (`ApprovalAlreadyCompletedException`, `ResourceNotFoundException`, …). Anything else gets a 400
 * naming the unknown operation, so a missing stand-in is obvious. DynamoDB is dynalite (dynamo.ts).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { sendJson, startServer, type ManagedServer } from "../http";
import {
  CODEPIPELINE_TARGET,
  addFailedExecution,
  addPendingApproval,
  admitPendingApproval,
  codePipelineOperations,
  type FailedExecutionInput,
  type PendingApprovalInput,
} from "./codepipeline";
import { createIamEnforcer, accessKeyOf, type IamEnforcer } from "../iam/enforce";
import { standinCalls } from "../iam/requests";
import {
  STANDIN_ACCOUNT,
  emptyState,
  handleJsonTarget,
  sendDenial,
  type AwsProtocol,
  newHold,
  noDelays,
  noFaults,
  type AwsContext,
  type AwsHold,
  type AwsDelays,
  type AwsFaults,
  type AwsState,
} from "./core";
import {
  LAMBDA_INVOKE,
  handleInvoke,
  lambdaIdle,
  type LambdaFunction,
  type LambdaRegistry,
} from "./lambda";
import { codePipelineScope, type CodePipelineScope } from "./codepipeline/accounts";
import { SECRETS_TARGET, secretsManagerOperations } from "./secrets-manager";
import { handleStsQuery, signingScopeOf } from "./sts";
import { handleSnsQuery } from "./sns";
import { SQS_TARGET, handleSqs } from "./sqs";

export { STANDIN_ACCOUNT } from "./core";
export { codePipelineScope, scopesOf, type CodePipelineScope } from "./codepipeline/accounts";
export type { AwsDelays, AwsFault, AwsFaults, AwsHold, AwsState } from "./core";
export type {
  ActionRun,
  ActionStatus,
  ApprovalDecision,
  ApprovalView,
  AutomatedRollbackInput,
  CodePipelineCall,
  CodePipelineEvent,
  CodePipelineEventListener,
  CodePipelineView,
  ExecutionMode,
  ExecutionStatus,
  ExecutionType,
  ExecutionView,
  ExpiredApproval,
  FailedExecutionInput,
  ModelAction,
  ModelArtifactRevision,
  ModelExecution,
  ModelPipeline,
  ModelStage,
  ModelTrigger,
  PendingApprovalInput,
  ReachStageInput,
  StartExecutionInput,
} from "./codepipeline";
export type { LambdaFunction, LambdaInvocation } from "./lambda";
export type { SnsPublish } from "./sns";
export { setSmsRateLimit, setSmsTimeScale, smsRateStats, SNS_SMS_RATE_LIMIT } from "./sns";
export type { SqsMessage } from "./sqs";

/** Options of {@link startAwsStandins}. */
export interface AwsStandinsOptions {
  /** Port on 127.0.0.1; 0 (default) = random. */
  port?: number;
  region?: string;
  /** The IAM enforcement to use (default: a new one, off until loaded). */
  iam?: IamEnforcer;
  /** How many times faster than AWS the local clock runs (STS session lifetimes); default 1. */
  timeScale?: number;
}

/** The running AWS stand-ins. */
export interface AwsStandins {
  url: string;
  port: number;
  /** `AWS_REGION`, dummy credentials and `AWS_ENDPOINT_URL_<SERVICE>` for every service here. */
  env: Record<string, string>;
  state: AwsState;
  faults: AwsFaults;
  delays: AwsDelays;
  /**
   * Holds the requests of `service` (of `operations`; default every operation) after they
   * arrived, unanswered, until the returned hold is released (or the stand-ins reset or close):
   * a slow answer that lasts until the test has seen what happens meanwhile.
   */
  hold(service: "codepipeline" | "secretsmanager", operations?: readonly string[]): AwsHold;
  /**
   * IAM enforcement, shared with the DynamoDB proxy (testing/iam/enforce.ts): off until a
   * program's declared IAM is loaded; then calls signed with `iam.envFor(fn)` credentials are
   * checked against that function's role policy.
   */
  iam: IamEnforcer;
  /** Registers (or replaces) the function that `Invoke` of `name` runs. */
  registerFunction(name: string, fn: LambdaFunction): void;
  /** Resolves when no asynchronous (`Event`) invocation is running. */
  idle(): Promise<void>;
  /** Adds a pending manual approval (creating pipeline, stage and execution as needed). */
  addPendingApproval(input: PendingApprovalInput): string;
  /**
   * Adds a pending manual approval through the stage lock (codepipeline/approvals.ts
   * `admitPendingApproval`): while another execution is in the stage, the execution waits.
   */
  admitPendingApproval(input: PendingApprovalInput): { token: string } | { waiting: string };
  /** Adds a failed execution with its failed action. */
  addFailedExecution(input: FailedExecutionInput): void;
  /**
   * The CodePipeline state of another (account, region) (codepipeline/accounts.ts): pass it to
   * any model helper (`addPendingApproval`, `startExecution`, …) to create pipelines there.
   */
  scope(scope: CodePipelineScope): AwsState;
  /** Clears state, faults and delays; registered functions stay. */
  reset(): void;
  close(): Promise<void>;
}

function parseJson(body: Buffer): Record<string, unknown> {
  try {
    return body.length > 0 ? (JSON.parse(body.toString("utf8")) as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * Checks the request against the caller's declared role policy (when enforcement is on); true
 * when it was denied and the denial has been answered in the service's error shape.
 */
/**
 * Where a request acts and who signed it: the account of its keys (an STS session's role account,
 * else the stand-ins'), the region of its credential scope (else the stand-ins').
 */
function callerOf(ctx: AwsContext, req: IncomingMessage) {
  const signing = signingScopeOf(String(req.headers.authorization ?? ""));
  const accessKey = signing?.accessKey;
  const session = ctx.iam.sessionOf(accessKey);
  const scope: CodePipelineScope = {
    account: session?.account ?? STANDIN_ACCOUNT,
    region: signing?.region ?? ctx.region,
  };
  return { accessKey, session, scope, service: signing?.service };
}

/** Refuses keys of an expired local STS session (true when answered). */
function expired(ctx: AwsContext, req: IncomingMessage, res: ServerResponse): boolean {
  const { session } = callerOf(ctx, req);
  if (!session || session.expiration.getTime() > Date.now()) return false;
  const message = "The security token included in the request is expired";
  const protocol: AwsProtocol = String(req.headers["x-amz-target"] ?? "")
    ? "awsJson1_1"
    : "awsQuery";
  sendDenial(res, protocol, {
    code: "ExpiredTokenException",
    status: 400,
    message,
    action: "",
    resource: "",
  });
  return true;
}

function denied(ctx: AwsContext, req: IncomingMessage, res: ServerResponse, body: Buffer): boolean {
  const iam = ctx.iam.loaded;
  if (!iam) return false;
  const target = String(req.headers["x-amz-target"] ?? "");
  const path = (req.url ?? "/").split("?")[0];
  const json = (service: "codepipeline" | "secretsmanager" | "sqs", prefix: string) => ({
    service,
    operation: target.slice(prefix.length),
    input: parseJson(body),
    secrets: Object.keys(ctx.state.secrets),
    scope: callerOf(ctx, req).scope,
  });
  let protocol: AwsProtocol;
  let route: Parameters<typeof standinCalls>[1];
  const lambdaPath = LAMBDA_INVOKE.exec(path);
  if (target.startsWith(CODEPIPELINE_TARGET)) {
    [protocol, route] = ["awsJson1_1", json("codepipeline", CODEPIPELINE_TARGET)];
  } else if (target.startsWith(SECRETS_TARGET)) {
    [protocol, route] = ["awsJson1_1", json("secretsmanager", SECRETS_TARGET)];
  } else if (target.startsWith(SQS_TARGET)) {
    [protocol, route] = ["awsJson1_0+awsQueryCompatible", json("sqs", SQS_TARGET)];
  } else if (req.method === "POST" && lambdaPath) {
    [protocol, route] = ["restJson", { service: "lambda", functionName: lambdaPath[1] }];
  } else if (String(req.headers["content-type"] ?? "").includes("x-www-form-urlencoded")) {
    [protocol, route] = [
      "awsQuery",
      { service: "sns", form: new URLSearchParams(body.toString()) },
    ];
  } else {
    return false;
  }
  const denial = ctx.iam.authorize(
    accessKeyOf(String(req.headers.authorization ?? "")),
    standinCalls(iam, route),
  );
  if (!denial) return false;
  sendDenial(res, protocol, denial);
  return true;
}

/** Routes one request to the service that serves it. */
function router(
  ctx: AwsContext,
  lambda: LambdaRegistry,
  timeScale: number,
): (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<void> {
  const sts = { iam: ctx.iam, timeScale };
  const secretsmanager = { service: "secretsmanager" as const, ops: secretsManagerOperations(ctx) };
  return async (req, res, body) => {
    if (expired(ctx, req, res)) return;
    const caller = callerOf(ctx, req);
    // STS authorizes AssumeRole itself (trust policy + the caller's permission: iam/assume.ts).
    if (caller.service === "sts") return handleStsQuery(sts, res, body, caller.accessKey);
    if (denied(ctx, req, res, body)) return;
    const target = String(req.headers["x-amz-target"] ?? "");
    const path = (req.url ?? "/").split("?")[0];
    const contentType = String(req.headers["content-type"] ?? "");
    if (target.startsWith(CODEPIPELINE_TARGET)) {
      const operation = target.slice(CODEPIPELINE_TARGET.length);
      // The pipelines of the caller's account in the endpoint's region (codepipeline/accounts.ts).
      const scoped: AwsContext = {
        ...ctx,
        region: caller.scope.region,
        state: codePipelineScope(ctx.state, caller.scope),
      };
      return handleJsonTarget(scoped, res, body, {
        service: "codepipeline",
        ops: codePipelineOperations(scoped),
        operation,
        onInput: (input) =>
          ctx.state.codepipeline.calls.push({
            operation,
            input,
            at: new Date(),
            ...caller.scope,
            accessKey: caller.accessKey,
            caller: caller.session?.arn,
          }),
      });
    }
    if (target.startsWith(SECRETS_TARGET)) {
      const operation = target.slice(SECRETS_TARGET.length);
      return handleJsonTarget(ctx, res, body, { ...secretsmanager, operation });
    }
    if (target.startsWith(SQS_TARGET)) {
      return handleSqs(ctx, res, body, target.slice(SQS_TARGET.length));
    }
    const lambdaPath = LAMBDA_INVOKE.exec(path);
    if (req.method === "POST" && lambdaPath) {
      return handleInvoke(ctx, lambda, req, res, body, lambdaPath[1]);
    }
    if (req.method === "POST" && contentType.startsWith("application/x-www-form-urlencoded")) {
      return handleSnsQuery(ctx, res, body);
    }
    const what = target || `${req.method ?? "?"} ${path}`;
    sendJson(
      res,
      400,
      { __type: "UnknownOperationException", message: `aws stand-in: no stand-in for ${what}` },
      { "x-amzn-errortype": "UnknownOperationException" },
    );
  };
}

/**
 * Starts the AWS stand-ins on one server. Point the SDK at them with `env` (set it on
 * `process.env` before the clients are created).
 */
export async function startAwsStandins(opts: AwsStandinsOptions = {}): Promise<AwsStandins> {
  const region = opts.region ?? "us-east-1";
  const lambda: LambdaRegistry = { functions: {}, running: new Set() };
  // The server is started after the handler exists; delays sleep on it.
  const started: { server?: ManagedServer } = {};
  const ctx: AwsContext = {
    region,
    state: emptyState(),
    faults: noFaults(),
    delays: noDelays(),
    iam: opts.iam ?? createIamEnforcer(),
    sleep: (ms) => started.server?.sleep(ms) ?? Promise.resolve(),
    holds: [],
  };
  const releaseHolds = () => {
    for (const h of ctx.holds.splice(0)) h.release();
  };
  ctx.state.codepipeline.region = region;
  const server = await startServer(router(ctx, lambda, opts.timeScale ?? 1), opts.port ?? 0);
  started.server = server;
  const base = server.url;
  return {
    url: base,
    port: server.port,
    env: {
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: "standin",
      AWS_SECRET_ACCESS_KEY: "standin",
      AWS_ENDPOINT_URL_SECRETS_MANAGER: base,
      AWS_ENDPOINT_URL_SNS: base,
      AWS_ENDPOINT_URL_CODEPIPELINE: base,
      AWS_ENDPOINT_URL_LAMBDA: base,
      AWS_ENDPOINT_URL_SQS: base,
      AWS_ENDPOINT_URL_STS: base,
    },
    state: ctx.state,
    faults: ctx.faults,
    delays: ctx.delays,
    hold(service, operations) {
      const h = newHold(service, operations);
      ctx.holds.push(h);
      return h;
    },
    iam: ctx.iam,
    registerFunction(name: string, fn: LambdaFunction): void {
      lambda.functions[name] = fn;
    },
    idle: () => lambdaIdle(lambda),
    addPendingApproval: (input) => addPendingApproval(ctx.state, input),
    admitPendingApproval: (input) => admitPendingApproval(ctx.state, input),
    addFailedExecution: (input) => addFailedExecution(ctx.state, input),
    scope: (scope) => codePipelineScope(ctx.state, scope),
    reset(): void {
      // In place: tests may hold references to these objects.
      Object.assign(ctx.state, emptyState());
      ctx.state.codepipeline.region = region;
      Object.assign(ctx.faults, noFaults());
      Object.assign(ctx.delays, noDelays());
      releaseHolds();
    },
    close: () => {
      releaseHolds();
      return server.close();
    },
  };
}
