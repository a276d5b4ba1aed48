/**
 * Local stand-ins for the AWS APIs the handlers call (Secrets Manager, SNS, CodePipeline, Lambda),
 * on one HTTP server. Each speaks the wire protocol that the installed SDK v3 client sends:
 *
 * | service         | protocol (in client dist-cjs)      | routed by                               |
 * |-----------------|------------------------------------|-----------------------------------------|
 * | Secrets Manager | awsJson1_1                         | `X-Amz-Target: secretsmanager.<Op>`     |
 * | CodePipeline    | awsJson1_1                         | `X-Amz-Target: CodePipeline_20150709.<Op>` |
 * | SNS             | awsQuery (form in, XML out)        | form field `Action`                     |
 * | Lambda          | restJson                           | `POST /2015-03-31/functions/<fn>/invocations` |
 *
 * Errors are answered in each protocol's error shape, so the SDK raises the named exception
 * (`ApprovalAlreadyCompletedException`, `ResourceNotFoundException`, …). Anything else gets a 400
 * naming the unknown operation, so a missing stand-in is obvious. DynamoDB is dynalite (dynamo.ts).
 */
import { createHash, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { sendJson, startServer } from "./http";

/** Status of an action in the CodePipeline model (the SDK's ActionExecutionStatus). */
export type ActionStatus = "InProgress" | "Succeeded" | "Failed" | "Abandoned";

/** Status of a pipeline execution (the SDK's PipelineExecutionStatus). */
export type ExecutionStatus =
  "InProgress" | "Succeeded" | "Failed" | "Stopped" | "Stopping" | "Superseded" | "Cancelled";

/** One action of a stage in the CodePipeline model. */
export interface ModelAction {
  name: string;
  category: string;
  provider?: string;
  status?: ActionStatus;
  /** Approval token while an approval is pending (and after, to detect reuse). */
  token?: string;
  summary?: string;
  externalExecutionUrl?: string;
  /** Error code of a failed action (errorDetails.code). */
  errorCode?: string;
  /** The pipeline execution this action's latest run belongs to. */
  executionId?: string;
  lastUpdatedAt?: Date;
  /** Who decided an approval (PutApprovalResult caller, as CodePipeline reports it). */
  lastUpdatedBy?: string;
  /** Approval configuration, returned by GetPipeline. */
  customData?: string;
  externalEntityLink?: string;
  /** When a pending approval expires (not part of any API answer; for tests). */
  expiresAt?: Date;
}

/** One stage in the CodePipeline model. */
export interface ModelStage {
  name: string;
  actions: ModelAction[];
}

/** A source revision of an execution, as GetPipelineExecution returns it. */
export interface ModelArtifactRevision {
  name: string;
  revisionId?: string;
  revisionSummary?: string;
  revisionUrl?: string;
}

/** One pipeline execution in the CodePipeline model. */
export interface ModelExecution {
  status: ExecutionStatus;
  trigger?: { triggerType: string; triggerDetail?: string };
  artifactRevisions?: ModelArtifactRevision[];
  startTime?: Date;
}

/** One pipeline in the CodePipeline model. */
export interface ModelPipeline {
  stages: ModelStage[];
  executions: Record<string, ModelExecution>;
}

/** One recorded CodePipeline API call. */
export interface CodePipelineCall {
  operation: string;
  input: Record<string, unknown>;
  at: Date;
}

/** One SNS Publish the stand-in accepted. */
export interface SnsPublish {
  topicArn?: string;
  phoneNumber?: string;
  targetArn?: string;
  message: string;
  subject?: string;
  messageAttributes: Record<string, { dataType: string; stringValue?: string }>;
  messageId: string;
  at: Date;
}

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

/**
 * An injected AWS API failure: answered in the service's error shape with `code` as the exception
 * name. `operation` limits it to one operation; `times` = how many calls fail before the fault
 * clears itself (undefined = until cleared).
 */
export interface AwsFault {
  code: string;
  status?: number;
  message?: string;
  operation?: string;
  times?: number;
}

/** The mutable state of the AWS stand-ins; tests prepare it and assert on it. */
export interface AwsState {
  /** Secret values by ARN or name. */
  secrets: Record<string, string>;
  /** Number of GetSecretValue calls that returned a value. */
  secretReads: number;
  /** GetSecretValue calls per SecretId as sent. */
  secretReadsById: Record<string, number>;
  sns: { published: SnsPublish[] };
  codepipeline: { pipelines: Record<string, ModelPipeline>; calls: CodePipelineCall[] };
  lambda: { invocations: LambdaInvocation[] };
  /** SQS SendMessage calls (the fan-out parks undeliverable events in the DLQ with reasons). */
  sqs: { sent: SqsMessage[] };
}

/** One message sent with SQS SendMessage. */
export interface SqsMessage {
  queueUrl: string;
  body: string;
  attributes: Record<string, string>;
  messageId: string;
  at: Date;
}

/** Fault injection per service. */
export interface AwsFaults {
  secretsmanager: AwsFault | null;
  sns: AwsFault | null;
  codepipeline: AwsFault | null;
  lambda: AwsFault | null;
}

/** Latency injection per service and operation, in ms. */
export interface AwsDelays {
  codepipeline: Record<string, number>;
  secretsmanager: Record<string, number>;
  sns: Record<string, number>;
}

/** Input of {@link AwsStandins.addPendingApproval}. */
export interface PendingApprovalInput {
  pipeline: string;
  stage: string;
  action: string;
  executionId: string;
  /** Defaults to a random UUID, like CodePipeline's tokens. */
  token?: string;
  expiresAt?: Date;
  customData?: string;
  externalEntityLink?: string;
  /** Source revision of the execution (GetPipelineExecution). */
  revision?: ModelArtifactRevision;
  trigger?: { triggerType: string; triggerDetail?: string };
}

/** Input of {@link AwsStandins.addFailedExecution}. */
export interface FailedExecutionInput {
  pipeline: string;
  executionId: string;
  stage: string;
  action: string;
  category: string;
  provider?: string;
  errorCode?: string;
  summary?: string;
  externalExecutionUrl?: string;
  revision?: ModelArtifactRevision;
  trigger?: { triggerType: string; triggerDetail?: string };
}

/** Options of {@link startAwsStandins}. */
export interface AwsStandinsOptions {
  /** Port on 127.0.0.1; 0 (default) = random. */
  port?: number;
  region?: string;
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
  /** Registers (or replaces) the function that `Invoke` of `name` runs. */
  registerFunction(name: string, fn: LambdaFunction): void;
  /** Resolves when no asynchronous (`Event`) invocation is running. */
  idle(): Promise<void>;
  /** Adds a pending manual approval (creating pipeline, stage and execution as needed). */
  addPendingApproval(input: PendingApprovalInput): string;
  /** Adds a failed execution with its failed action. */
  addFailedExecution(input: FailedExecutionInput): void;
  /** Clears state, faults and delays; registered functions stay. */
  reset(): void;
  close(): Promise<void>;
}

/** The stand-in's account id, used in ARNs it makes up. */
export const STANDIN_ACCOUNT = "123456789012";

const CODEPIPELINE_TARGET = "CodePipeline_20150709.";
const SECRETS_TARGET = "secretsmanager.";
const SQS_TARGET = "AmazonSQS.";
const LAMBDA_INVOKE = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/** An error answered in the protocol's error shape. */
interface ServiceError {
  code: string;
  status: number;
  message: string;
}

function serviceError(code: string, message: string, status = 400): ServiceError {
  return { code, message, status };
}

function isServiceError(value: unknown): value is ServiceError {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as ServiceError).code === "string" &&
    typeof (value as ServiceError).status === "number"
  );
}

function emptyState(): AwsState {
  return {
    secrets: {},
    secretReads: 0,
    secretReadsById: {},
    sns: { published: [] },
    codepipeline: { pipelines: {}, calls: [] },
    lambda: { invocations: [] },
    sqs: { sent: [] },
  };
}

/** Epoch seconds: the awsJson timestamp format. */
function epoch(date: Date | undefined): number | undefined {
  return date === undefined ? undefined : date.getTime() / 1000;
}

/** The secret name inside an ARN (`…:secret:<name>-<6 chars>`), suffix removed. */
function secretNameOf(idOrArn: string): string {
  const marker = ":secret:";
  const at = idOrArn.indexOf(marker);
  if (!idOrArn.startsWith("arn:") || at < 0) return idOrArn;
  return idOrArn.slice(at + marker.length).replace(/-[A-Za-z0-9]{6}$/, "");
}

function escapeXml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/**
 * Starts the AWS stand-ins on one server. Point the SDK at them with `env` (set it on
 * `process.env` before the clients are created).
 */
export async function startAwsStandins(opts: AwsStandinsOptions = {}): Promise<AwsStandins> {
  const region = opts.region ?? "us-east-1";
  const functions: Record<string, LambdaFunction> = {};
  const running = new Set<Promise<void>>();
  const standins = {
    state: emptyState(),
    faults: { secretsmanager: null, sns: null, codepipeline: null, lambda: null } as AwsFaults,
    delays: { codepipeline: {}, secretsmanager: {}, sns: {} } as AwsDelays,
  };

  /** Takes one use of the service's fault, if it applies to this operation. */
  function takeFault(service: keyof AwsFaults, operation: string): ServiceError | undefined {
    const fault = standins.faults[service];
    if (!fault || (fault.operation !== undefined && fault.operation !== operation)) {
      return undefined;
    }
    if (fault.times !== undefined) {
      if (fault.times <= 0) {
        standins.faults[service] = null;
        return undefined;
      }
      fault.times -= 1;
      if (fault.times === 0) standins.faults[service] = null;
    }
    return serviceError(
      fault.code,
      fault.message ?? `injected ${service} fault: ${fault.code}`,
      fault.status ?? 400,
    );
  }

  // ---- Secrets Manager (awsJson1_1) ----

  function getSecretValue(input: Record<string, unknown>): Record<string, unknown> {
    const secretId = String(input.SecretId ?? "");
    const secrets = standins.state.secrets;
    let key: string | undefined = secretId in secrets ? secretId : undefined;
    key ??= Object.keys(secrets).find((k) => secretNameOf(k) === secretNameOf(secretId));
    if (key === undefined) {
      throw serviceError(
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret.",
      );
    }
    standins.state.secretReads += 1;
    standins.state.secretReadsById[secretId] = (standins.state.secretReadsById[secretId] ?? 0) + 1;
    const name = secretNameOf(key);
    return {
      ARN: key.startsWith("arn:")
        ? key
        : `arn:aws:secretsmanager:${region}:${STANDIN_ACCOUNT}:secret:${name}-AbCdEf`,
      Name: name,
      SecretString: secrets[key],
      VersionId: "00000000-0000-0000-0000-000000000001",
      VersionStages: ["AWSCURRENT"],
      CreatedDate: 1700000000,
    };
  }

  // ---- CodePipeline (awsJson1_1) ----

  function pipelineOf(name: unknown): ModelPipeline {
    const pipeline = standins.state.codepipeline.pipelines[String(name)];
    if (!pipeline) {
      throw serviceError("PipelineNotFoundException", `Pipeline ${String(name)} not found`);
    }
    return pipeline;
  }

  function ensurePipeline(name: string): ModelPipeline {
    const pipelines = standins.state.codepipeline.pipelines;
    pipelines[name] ??= { stages: [], executions: {} };
    return pipelines[name];
  }

  function ensureAction(
    pipeline: ModelPipeline,
    stageName: string,
    actionName: string,
    category: string,
  ): ModelAction {
    let stage = pipeline.stages.find((s) => s.name === stageName);
    if (!stage) {
      stage = { name: stageName, actions: [] };
      pipeline.stages.push(stage);
    }
    let action = stage.actions.find((a) => a.name === actionName);
    if (!action) {
      action = { name: actionName, category };
      stage.actions.push(action);
    }
    return action;
  }

  /** A stage's status is derived from its actions, as the console shows it. */
  function stageStatus(stage: ModelStage): string | undefined {
    const statuses = stage.actions.map((a) => a.status).filter((s) => s !== undefined);
    if (statuses.length === 0) return undefined;
    if (statuses.includes("Failed")) return "Failed";
    if (statuses.includes("InProgress")) return "InProgress";
    return "Succeeded";
  }

  function errorDetails(action: ModelAction): Record<string, unknown> | undefined {
    if (action.status !== "Failed") return undefined;
    return { code: action.errorCode ?? "JobFailed", message: action.summary ?? "" };
  }

  function getPipelineState(input: Record<string, unknown>): Record<string, unknown> {
    const pipeline = pipelineOf(input.name);
    return {
      pipelineName: input.name,
      pipelineVersion: 1,
      stageStates: pipeline.stages.map((stage) => {
        const executionId = stage.actions.find((a) => a.executionId)?.executionId;
        const status = stageStatus(stage);
        return {
          stageName: stage.name,
          inboundTransitionState: { enabled: true },
          actionStates: stage.actions.map((action) => ({
            actionName: action.name,
            latestExecution:
              action.status === undefined
                ? undefined
                : {
                    actionExecutionId: `${action.executionId ?? "none"}-${action.name}`,
                    status: action.status,
                    summary: action.summary,
                    lastStatusChange: epoch(action.lastUpdatedAt),
                    token: action.status === "InProgress" ? action.token : undefined,
                    lastUpdatedBy: action.lastUpdatedBy,
                    externalExecutionId: action.token,
                    externalExecutionUrl: action.externalExecutionUrl,
                    errorDetails: errorDetails(action),
                  },
            entityUrl: action.externalEntityLink,
          })),
          latestExecution:
            executionId && status ? { pipelineExecutionId: executionId, status } : undefined,
        };
      }),
      created: 1700000000,
      updated: 1700000000,
    };
  }

  function putApprovalResult(input: Record<string, unknown>): Record<string, unknown> {
    const pipeline = pipelineOf(input.pipelineName);
    const stage = pipeline.stages.find((s) => s.name === input.stageName);
    if (!stage) {
      throw serviceError("StageNotFoundException", `Stage ${String(input.stageName)} not found`);
    }
    const action = stage.actions.find((a) => a.name === input.actionName);
    if (!action) {
      throw serviceError("ActionNotFoundException", `Action ${String(input.actionName)} not found`);
    }
    const result = (input.result ?? {}) as { status?: unknown; summary?: unknown };
    if (result.status !== "Approved" && result.status !== "Rejected") {
      throw serviceError("ValidationException", "result.status must be Approved or Rejected");
    }
    if (action.status !== "InProgress") {
      throw serviceError(
        "ApprovalAlreadyCompletedException",
        `Approval for ${String(input.actionName)} is already completed`,
      );
    }
    if (action.category !== "Approval" || action.token !== input.token) {
      throw serviceError("InvalidApprovalTokenException", "The approval token is not valid");
    }
    const now = new Date();
    action.status = result.status === "Approved" ? "Succeeded" : "Failed";
    action.summary = typeof result.summary === "string" ? result.summary : undefined;
    action.lastUpdatedAt = now;
    action.lastUpdatedBy = `arn:aws:iam::${STANDIN_ACCOUNT}:role/approver`;
    if (action.status === "Failed") {
      // A rejection fails the action and then the execution, like a real failure.
      action.errorCode = "JobFailed";
      const execution = action.executionId ? pipeline.executions[action.executionId] : undefined;
      if (execution) execution.status = "Failed";
    }
    return { approvedAt: epoch(now) };
  }

  function getPipelineExecution(input: Record<string, unknown>): Record<string, unknown> {
    const pipeline = pipelineOf(input.pipelineName);
    const id = String(input.pipelineExecutionId);
    const execution = pipeline.executions[id];
    if (!execution) {
      throw serviceError("PipelineExecutionNotFoundException", `Execution ${id} not found`);
    }
    return {
      pipelineExecution: {
        pipelineName: input.pipelineName,
        pipelineVersion: 1,
        pipelineExecutionId: id,
        status: execution.status,
        artifactRevisions: (execution.artifactRevisions ?? []).map((r) => ({
          name: r.name,
          revisionId: r.revisionId,
          revisionSummary: r.revisionSummary,
          revisionUrl: r.revisionUrl,
          created: epoch(execution.startTime),
        })),
        trigger: execution.trigger,
        executionMode: "SUPERSEDED",
      },
    };
  }

  function listActionExecutions(input: Record<string, unknown>): Record<string, unknown> {
    const pipeline = pipelineOf(input.pipelineName);
    const filter = (input.filter ?? {}) as { pipelineExecutionId?: unknown };
    const details = pipeline.stages.flatMap((stage) =>
      stage.actions
        .filter((a) => a.status !== undefined)
        .filter(
          (a) =>
            filter.pipelineExecutionId === undefined ||
            a.executionId === filter.pipelineExecutionId,
        )
        .map((action) => ({
          pipelineExecutionId: action.executionId,
          actionExecutionId: `${action.executionId ?? "none"}-${action.name}`,
          pipelineVersion: 1,
          stageName: stage.name,
          actionName: action.name,
          startTime: epoch(action.lastUpdatedAt),
          lastUpdateTime: epoch(action.lastUpdatedAt),
          status: action.status,
          input: {
            actionTypeId: {
              category: action.category,
              owner: "AWS",
              provider: action.provider ?? "Manual",
              version: "1",
            },
            configuration:
              action.customData !== undefined ? { CustomData: action.customData } : undefined,
          },
          output: {
            executionResult: {
              externalExecutionId: action.token,
              externalExecutionSummary: action.summary,
              externalExecutionUrl: action.externalExecutionUrl,
              errorDetails: errorDetails(action),
            },
          },
        })),
    );
    return { actionExecutionDetails: details };
  }

  function getPipeline(input: Record<string, unknown>): Record<string, unknown> {
    const pipeline = pipelineOf(input.name);
    return {
      pipeline: {
        name: input.name,
        roleArn: `arn:aws:iam::${STANDIN_ACCOUNT}:role/pipeline`,
        version: 1,
        pipelineType: "V2",
        executionMode: "SUPERSEDED",
        stages: pipeline.stages.map((stage) => ({
          name: stage.name,
          actions: stage.actions.map((action) => {
            const configuration: Record<string, string> = {};
            if (action.customData !== undefined) configuration.CustomData = action.customData;
            if (action.externalEntityLink !== undefined) {
              configuration.ExternalEntityLink = action.externalEntityLink;
            }
            return {
              name: action.name,
              actionTypeId: {
                category: action.category,
                owner: "AWS",
                provider: action.provider ?? "Manual",
                version: "1",
              },
              configuration,
              runOrder: 1,
            };
          }),
        })),
      },
      metadata: { pipelineArn: `arn:aws:codepipeline:${region}:${STANDIN_ACCOUNT}:${input.name}` },
    };
  }

  const codepipelineOps: Record<string, (input: Record<string, unknown>) => unknown> = {
    GetPipelineState: getPipelineState,
    PutApprovalResult: putApprovalResult,
    GetPipelineExecution: getPipelineExecution,
    ListActionExecutions: listActionExecutions,
    GetPipeline: getPipeline,
  };

  // ---- SNS (awsQuery) ----

  /** Reads `MessageAttributes.entry.N.Name` / `.Value.DataType` / `.Value.StringValue`. */
  function messageAttributes(form: URLSearchParams): SnsPublish["messageAttributes"] {
    const out: SnsPublish["messageAttributes"] = {};
    for (let n = 1; form.has(`MessageAttributes.entry.${n}.Name`); n++) {
      const prefix = `MessageAttributes.entry.${n}`;
      out[String(form.get(`${prefix}.Name`))] = {
        dataType: String(form.get(`${prefix}.Value.DataType`)),
        stringValue: form.get(`${prefix}.Value.StringValue`) ?? undefined,
      };
    }
    return out;
  }

  function publish(form: URLSearchParams): string {
    const message = form.get("Message");
    const topicArn = form.get("TopicArn") ?? undefined;
    const phoneNumber = form.get("PhoneNumber") ?? undefined;
    const targetArn = form.get("TargetArn") ?? undefined;
    if (message === null || message === "") {
      throw serviceError("InvalidParameter", "Invalid parameter: Message");
    }
    if (!topicArn && !phoneNumber && !targetArn) {
      throw serviceError(
        "InvalidParameter",
        "Invalid parameter: TopicArn or TargetArn or PhoneNumber Reason: no value for required parameter",
      );
    }
    // SMS: 1600 characters at most (several segments); topics: 256 KB.
    if (phoneNumber && message.length > 1600) {
      throw serviceError("InvalidParameter", "Invalid parameter: Message too long");
    }
    const messageId = randomUUID();
    standins.state.sns.published.push({
      topicArn,
      phoneNumber,
      targetArn,
      message,
      subject: form.get("Subject") ?? undefined,
      messageAttributes: messageAttributes(form),
      messageId,
      at: new Date(),
    });
    return `<PublishResult><MessageId>${messageId}</MessageId></PublishResult>`;
  }

  // ---- Lambda (restJson) ----

  /** `name`, `arn:…:function:name` or `arn:…:function:name:qualifier` → `name`. */
  function functionNameOf(raw: string): string {
    const decoded = decodeURIComponent(raw);
    const match = /^arn:[^:]+:lambda:[^:]+:[^:]+:function:([^:]+)/.exec(decoded);
    return match ? match[1] : decoded.split(":")[0];
  }

  function invoke(req: IncomingMessage, res: ServerResponse, body: Buffer, rawName: string): void {
    const name = functionNameOf(rawName);
    const fn = functions[name];
    if (!fn) {
      throw serviceError(
        "ResourceNotFoundException",
        `Function not found: arn:aws:lambda:${region}:${STANDIN_ACCOUNT}:function:${name}`,
        404,
      );
    }
    const header = String(req.headers["x-amz-invocation-type"] ?? "RequestResponse");
    const invocationType =
      header === "Event" || header === "DryRun" ? header : ("RequestResponse" as const);
    let event: unknown = undefined;
    if (body.length > 0) {
      try {
        event = JSON.parse(body.toString("utf8"));
      } catch {
        throw serviceError(
          "InvalidRequestContentException",
          "Could not parse request body into json",
        );
      }
    }
    const record: LambdaInvocation = {
      functionName: name,
      invocationType,
      event,
      at: new Date(),
      done: false,
    };
    standins.state.lambda.invocations.push(record);
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
      const tracked = run.finally(() => running.delete(tracked));
      running.add(tracked);
      res.writeHead(202, { "content-length": 0 }).end();
      return;
    }
    void run.then(() => {
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
    });
  }

  // ---- dispatch ----

  function sendAwsJsonError(res: ServerResponse, error: ServiceError): void {
    sendJson(
      res,
      error.status,
      { __type: error.code, message: error.message },
      { "content-type": "application/x-amz-json-1.1", "x-amzn-errortype": error.code },
    );
  }

  function sendQueryXml(res: ServerResponse, status: number, xml: string): void {
    res.writeHead(status, { "content-type": "text/xml", "content-length": Buffer.byteLength(xml) });
    res.end(xml);
  }

  function sendQueryError(res: ServerResponse, error: ServiceError): void {
    const type = error.status >= 500 ? "Receiver" : "Sender";
    sendQueryXml(
      res,
      error.status,
      `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>${type}</Type>` +
        `<Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message></Error>` +
        `<RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
    );
  }

  async function handleJsonTarget(
    res: ServerResponse,
    body: Buffer,
    service: "secretsmanager" | "codepipeline",
    operation: string,
  ): Promise<void> {
    let input: Record<string, unknown>;
    try {
      input = body.length > 0 ? (JSON.parse(body.toString("utf8")) as Record<string, unknown>) : {};
    } catch {
      sendAwsJsonError(res, serviceError("SerializationException", "request body is not JSON"));
      return;
    }
    if (service === "codepipeline") {
      standins.state.codepipeline.calls.push({ operation, input, at: new Date() });
    }
    await server.sleep(standins.delays[service][operation] ?? 0);
    if (res.destroyed) return;
    const ops: Record<string, (input: Record<string, unknown>) => unknown> =
      service === "codepipeline" ? codepipelineOps : { GetSecretValue: getSecretValue };
    const op = ops[operation];
    try {
      if (!op) {
        throw serviceError(
          "UnknownOperationException",
          `aws stand-in: no stand-in for ${service} ${operation}`,
        );
      }
      const fault = takeFault(service, operation);
      if (fault) throw fault;
      sendJson(res, 200, op(input), { "content-type": "application/x-amz-json-1.1" });
    } catch (err: unknown) {
      if (!isServiceError(err)) throw err;
      sendAwsJsonError(res, err);
    }
  }

  async function handleQuery(res: ServerResponse, body: Buffer): Promise<void> {
    const form = new URLSearchParams(body.toString("utf8"));
    const action = form.get("Action") ?? "";
    await server.sleep(standins.delays.sns[action] ?? 0);
    if (res.destroyed) return;
    try {
      if (action !== "Publish") {
        throw serviceError(
          "UnknownOperationException",
          `aws stand-in: no stand-in for sns ${action || "(no Action)"}`,
        );
      }
      const fault = takeFault("sns", action);
      if (fault) throw fault;
      const result = publish(form);
      sendQueryXml(
        res,
        200,
        `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">${result}` +
          `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`,
      );
    } catch (err: unknown) {
      if (!isServiceError(err)) throw err;
      sendQueryError(res, err);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const target = String(req.headers["x-amz-target"] ?? "");
    const path = (req.url ?? "/").split("?")[0];
    const contentType = String(req.headers["content-type"] ?? "");
    if (target.startsWith(CODEPIPELINE_TARGET)) {
      return handleJsonTarget(res, body, "codepipeline", target.slice(CODEPIPELINE_TARGET.length));
    }
    if (target.startsWith(SECRETS_TARGET)) {
      return handleJsonTarget(res, body, "secretsmanager", target.slice(SECRETS_TARGET.length));
    }
    if (target.startsWith(SQS_TARGET)) {
      // SQS speaks awsJson1_0; only SendMessage is used (the fan-out's DLQ with reasons).
      const operation = target.slice(SQS_TARGET.length);
      const input = JSON.parse(body.toString("utf8") || "{}") as {
        QueueUrl?: string;
        MessageBody?: string;
        MessageAttributes?: Record<string, { StringValue?: string }>;
      };
      if (operation !== "SendMessage" || !input.QueueUrl || typeof input.MessageBody !== "string") {
        sendJson(
          res,
          400,
          {
            __type: "com.amazonaws.sqs#InvalidParameterValue",
            message: `aws stand-in: unsupported sqs ${operation}`,
          },
          {
            "x-amzn-errortype": "InvalidParameterValue",
            "content-type": "application/x-amz-json-1.0",
          },
        );
        return;
      }
      const messageId = randomUUID();
      const attributes: Record<string, string> = {};
      for (const [k, v] of Object.entries(input.MessageAttributes ?? {}))
        attributes[k] = v.StringValue ?? "";
      standins.state.sqs.sent.push({
        queueUrl: input.QueueUrl,
        body: input.MessageBody,
        attributes,
        messageId,
        at: new Date(),
      });
      const md5 = createHash("md5").update(input.MessageBody).digest("hex");
      sendJson(
        res,
        200,
        { MessageId: messageId, MD5OfMessageBody: md5 },
        { "content-type": "application/x-amz-json-1.0" },
      );
      return;
    }
    const lambdaPath = LAMBDA_INVOKE.exec(path);
    if (req.method === "POST" && lambdaPath) {
      try {
        const fault = takeFault("lambda", "Invoke");
        if (fault) throw fault;
        invoke(req, res, body, lambdaPath[1]);
      } catch (err: unknown) {
        if (!isServiceError(err)) throw err;
        sendJson(
          res,
          err.status,
          { Type: "User", message: err.message },
          {
            "x-amzn-errortype": err.code,
          },
        );
      }
      return;
    }
    if (req.method === "POST" && contentType.startsWith("application/x-www-form-urlencoded")) {
      return handleQuery(res, body);
    }
    const what = target || `${req.method ?? "?"} ${path}`;
    sendJson(
      res,
      400,
      { __type: "UnknownOperationException", message: `aws stand-in: no stand-in for ${what}` },
      { "x-amzn-errortype": "UnknownOperationException" },
    );
  }

  const server = await startServer(handle, opts.port ?? 0);

  function addPendingApproval(input: PendingApprovalInput): string {
    const pipeline = ensurePipeline(input.pipeline);
    const token = input.token ?? randomUUID();
    const action = ensureAction(pipeline, input.stage, input.action, "Approval");
    Object.assign(action, {
      category: "Approval",
      provider: "Manual",
      status: "InProgress",
      token,
      summary: undefined,
      errorCode: undefined,
      executionId: input.executionId,
      lastUpdatedAt: new Date(),
      lastUpdatedBy: undefined,
      customData: input.customData,
      externalEntityLink: input.externalEntityLink,
      expiresAt: input.expiresAt ?? new Date(Date.now() + 7 * 86400_000),
    } satisfies Partial<ModelAction>);
    pipeline.executions[input.executionId] ??= {
      status: "InProgress",
      startTime: new Date(),
      trigger: input.trigger,
      artifactRevisions: input.revision ? [input.revision] : undefined,
    };
    return token;
  }

  function addFailedExecution(input: FailedExecutionInput): void {
    const pipeline = ensurePipeline(input.pipeline);
    const action = ensureAction(pipeline, input.stage, input.action, input.category);
    Object.assign(action, {
      category: input.category,
      provider: input.provider,
      status: "Failed",
      token: undefined,
      summary: input.summary,
      errorCode: input.errorCode ?? "JobFailed",
      externalExecutionUrl: input.externalExecutionUrl,
      executionId: input.executionId,
      lastUpdatedAt: new Date(),
    } satisfies Partial<ModelAction>);
    pipeline.executions[input.executionId] = {
      status: "Failed",
      startTime: new Date(),
      trigger: input.trigger,
      artifactRevisions: input.revision ? [input.revision] : undefined,
    };
  }

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
    },
    state: standins.state,
    faults: standins.faults,
    delays: standins.delays,
    registerFunction(name: string, fn: LambdaFunction): void {
      functions[name] = fn;
    },
    async idle(): Promise<void> {
      // An async invocation may start others: wait until none is left.
      while (running.size > 0) {
        await Promise.allSettled([...running]);
      }
    },
    addPendingApproval,
    addFailedExecution,
    reset(): void {
      // In place: tests may hold references to these objects.
      Object.assign(standins.state, emptyState());
      Object.assign(standins.faults, {
        secretsmanager: null,
        sns: null,
        codepipeline: null,
        lambda: null,
      });
      Object.assign(standins.delays, { codepipeline: {}, secretsmanager: {}, sns: {} });
    },
    close: () => server.close(),
  };
}
