/**
 * `npm start`: the local sandbox. Evaluates the Pulumi program for a stack under the mock engine,
 * takes the Lambda archives exactly as `pulumi up` would upload them, runs them in Node as Lambda
 * would, wires them to local stand-ins (dynalite, SNS/SQS/Secrets Manager/CodePipeline/Lambda
 * endpoints, channel receivers), routes events by the rule pattern the program declared through
 * the queue semantics it declared, plays a scenario and serves a live page.
 *
 *   npm start -- [--stack staging|prod] [--scenario file.json] [--port 8787] [--no-serve]
 *                [--fault slack=500] [--fault pagerduty=timeout] [--no-scenario] [--verbose]
 */
import { randomBytes, randomUUID } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { parseConfig } from "../config";
import { isGsm7 } from "../handlers/channels/sms";
import type { RuntimeConfig } from "../handlers/types";
import { matchesPattern } from "./eventbridge";
import { pointAtReceivers, provisionForArchives } from "./local";
import { startLambda, type LambdaProcess } from "./lambda";
import { readStackConfig, runProgram, type ProgramResult } from "./program";
import { createQueue, type QueueMessage, type SandboxQueue } from "./queue";
import {
  builtInScenario,
  runScenario,
  type Scenario,
  type ScenarioHost,
  type ScenarioReport,
  type StepFault,
} from "./scenario";
import { startSandboxServer, type SandboxCore, type SandboxServer } from "./server";
import {
  RECEIVER_KINDS,
  startAll,
  type AllStandins,
  type Delivery,
  type ReceiverKind,
} from "./standins";

/** Options of {@link startSandbox}. */
export interface SandboxOptions {
  /** Stack whose `Pulumi.<stack>.yaml` is evaluated (default "staging"). */
  stack?: string;
  /** Port of the page and API on 127.0.0.1 (default 8787; 0 = any free port). */
  port?: number;
  /** Serve the page and the HTTP API (default true). */
  serve?: boolean;
  /**
   * Visibility timeout applied by the sandbox queue, in ms (default 1000). The declared one
   * (minutes) is scaled down so that a retry is seen in a second; the page says so.
   */
  visibilityTimeoutMs?: number;
  /** Receiver faults, as on the command line: `slack=500`, `slack=503x2`, `pagerduty=timeout`. */
  faults?: string[];
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Also log the Lambdas' own log lines. */
  verbose?: boolean;
}

/** How long each start-up phase took, in ms. */
export interface SandboxTimings {
  programMs: number;
  standinsMs: number;
  lambdasMs: number;
  serverMs: number;
  /** From the call to the page (or, without serving, the event path) being ready. */
  readyMs: number;
}

/** What became of one posted event. */
export interface PostedEvent {
  eventId: string;
  detailType: string;
  pipeline: string;
  state: string;
  time: string;
  matched: boolean;
  messageId?: string;
  postedAt: number;
}

/** Per-channel totals for the summary. */
export interface ChannelSummary {
  channel: string;
  type: string;
  delivered: number;
  failedAttempts: number;
  suppressed: number;
}

/** A running sandbox. */
export interface Sandbox {
  stack: string;
  /** The page, when serving. */
  url?: string;
  port?: number;
  timings: SandboxTimings;
  /** Routes an EventBridge event (or a PutEvents `{Entries}` body) like the rule would. */
  postEvent(input: unknown): Promise<PostedEvent[]>;
  /** Waits until the queue and the asynchronous invocations are idle. */
  settle(): Promise<void>;
  /** Plays a scenario (the stack's built-in one by default). */
  runScenario(scenario?: Scenario): Promise<ScenarioReport>;
  /** Totals per channel instance. */
  summary(): Promise<ChannelSummary[]>;
  /** Queue messages that ended in the DLQ plus the fan-out's own DLQ sends. */
  dlqCount(): number;
  /** The running pieces, for tests and benchmarks. */
  standins: AllStandins;
  queue: SandboxQueue;
  core: SandboxCore;
  close(): Promise<void>;
}

/** A Slack user of the sandbox's user selector. */
export interface SandboxUser {
  id: string;
  name: string;
  username: string;
  approver: boolean;
}

const REGION = "us-east-1";
const ACCOUNT = "123456789012";
const NON_APPROVER: SandboxUser = {
  id: "U0SANDBOX00",
  name: "Casey Visitor",
  username: "casey",
  approver: false,
};

/** Parses `receiver=fault` (`500`, `503x2`, `429`, `timeout`, `reset`, `off`). */
export function parseFault(spec: string): StepFault | null {
  const match = /^([a-z-]+)=(\d{3}|timeout|reset|off)(?:x(\d+))?$/.exec(spec.trim());
  if (!match)
    throw new Error(`--fault ${spec}: expected <receiver>=<status|timeout|reset|off>[x<times>]`);
  const [, receiver, what, times] = match;
  if (!(RECEIVER_KINDS as readonly string[]).includes(receiver) && receiver !== "sns") {
    throw new Error(
      `--fault ${spec}: unknown receiver ${receiver} (one of ${RECEIVER_KINDS.join(", ")}, sns)`,
    );
  }
  if (what === "off") return null;
  const fault: StepFault & { times?: number } = { receiver };
  if (what === "timeout" || what === "reset") fault.kind = what;
  else fault.status = Number(what);
  if (times) fault.times = Number(times);
  return fault;
}

function find(program: ProgramResult, type: string, name: string): Record<string, any> {
  const resource = program.resources.find((r) => r.type === type && r.name === name);
  if (!resource) throw new Error(`sandbox: the program declared no ${type} "${name}"`);
  return resource.inputs;
}

/** SMS length facts as the phone company bills them (REFERENCE.md: SMS through SNS). */
export function smsFacts(text: string): {
  chars: number;
  encoding: "GSM-7" | "UCS-2";
  segments: number;
} {
  const gsm = isGsm7(text);
  const chars = [...text].length;
  const single = gsm ? 160 : 70;
  const multi = gsm ? 153 : 67;
  return {
    chars,
    encoding: gsm ? "GSM-7" : "UCS-2",
    segments: chars <= single ? 1 : Math.ceil(chars / multi),
  };
}

/** Starts everything and resolves when the page (or, without serving, the event path) is ready. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const t0 = performance.now();
  // The SDK's Node version notice is noise here (the Lambda processes set the same variable).
  process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE ??= "1";
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const stack = options.stack ?? "staging";
  const log = options.log ?? (() => undefined);
  const visibilityTimeoutMs = options.visibilityTimeoutMs ?? 1000;
  const cleanups: Array<() => Promise<void> | void> = [];
  const closeAll = async (): Promise<void> => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (err: unknown) {
        log(`sandbox: close: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  };

  try {
    // ---- stand-ins first: the program needs their URLs as secrets ----
    const tStandins = performance.now();
    const all = await startAll({ aws: { region: REGION } });
    cleanups.push(() => all.close());
    const { aws, receivers } = all;
    const standinsMs = performance.now() - tStandins;

    // ---- the program, with local receiver URLs as the secrets ----
    const tProgram = performance.now();
    const signingSecret = randomBytes(16).toString("hex");
    const { raw, secrets } = pointAtReceivers(readStackConfig(stack).raw, receivers, signingSecret);
    const routingKeys = Object.fromEntries(
      Object.entries(secrets).flatMap(([name, s]) => (s.routingKey ? [[name, s.routingKey]] : [])),
    );
    const program = await runProgram({ stack, config: raw, secrets });
    if (!program.ok)
      throw new Error(
        `stack ${stack}: the program failed as pulumi preview would:\n${program.message}`,
      );
    const runtime: RuntimeConfig = parseConfig({ ...raw, secrets }, { stack }).runtime;
    const programMs = performance.now() - tProgram;
    log(
      `program evaluated for stack ${stack} in ${(programMs / 1000).toFixed(1)} s: ${program.resources.length} resources, archives ${program.archives.map((a) => `${a.name} (${Math.round(a.bytes / 1024)} KB)`).join(", ")}`,
    );

    // ---- what the program declared ----
    const queueInputs = find(program, "aws:sqs/queue:Queue", "events");
    const redrive = JSON.parse(String(queueInputs.redrivePolicy ?? "{}")) as {
      maxReceiveCount?: number;
    };
    const maxReceiveCount = redrive.maxReceiveCount ?? 4;
    const declaredVisibilitySeconds = Number(queueInputs.visibilityTimeoutSeconds ?? 30);
    const mapping = find(
      program,
      "aws:lambda/eventSourceMapping:EventSourceMapping",
      "fanout-from-queue",
    );
    const batchSize = Number(mapping.batchSize ?? 10);
    const fanoutTimeoutMs =
      Number(find(program, "aws:lambda/function:Function", "fanout").timeout ?? 60) * 1000;
    const approvalTimeoutMs =
      Number(find(program, "aws:lambda/function:Function", "approval").timeout ?? 30) * 1000;
    const outputs = program.outputs as Record<string, string>;
    const queueUrl = String(outputs.eventsQueueUrl);
    const queueArn = `arn:aws:sqs:${REGION}:${ACCOUNT}:${queueUrl.split("/").pop()}`;
    const rulePattern = program.rulePattern.pattern;

    // ---- AWS state the archives expect: table, secrets ----
    const tLambdas = performance.now();
    const archive = (name: string) => {
      const found = program.archives.find((a) => a.name === name);
      if (!found) throw new Error(`sandbox: the program has no "${name}" archive`);
      return found;
    };
    const fanoutArchive = archive("fanout");
    const approvalArchive = archive("approval");
    await provisionForArchives(program, all, secrets);
    const tables = new Set(program.archives.map((a) => a.environment.AUDIT_TABLE).filter(Boolean));
    const topics = JSON.parse(fanoutArchive.environment.CHANNEL_TOPICS ?? "{}") as Record<
      string,
      string
    >;
    const channelOfTopic = Object.fromEntries(
      Object.entries(topics).map(([name, arn]) => [arn, name]),
    );
    const channelOfRoutingKey = Object.fromEntries(
      Object.entries(routingKeys).map(([name, key]) => [key, name]),
    );

    // ---- the two Lambdas, warm ----
    const lambdaLogs: string[] = [];
    const onLog = (fn: string) => (line: string) => {
      lambdaLogs.push(`${fn}: ${line}`);
      if (lambdaLogs.length > 500) lambdaLogs.shift();
      if (options.verbose) log(`    [${fn}] ${line}`);
    };
    const fanoutName = String(outputs.fanoutFunctionName ?? `deploy-notifier-${stack}-fanout`);
    const approvalName = String(
      outputs.approvalFunctionName ?? `deploy-notifier-${stack}-approval`,
    );
    const [fanout, approval]: LambdaProcess[] = await Promise.all([
      startLambda({
        dir: fanoutArchive.dir,
        handler: fanoutArchive.handler,
        functionName: fanoutName,
        env: { ...fanoutArchive.environment, ...all.env },
        timeoutMs: fanoutTimeoutMs,
        onLog: onLog("fanout"),
      }),
      startLambda({
        dir: approvalArchive.dir,
        handler: approvalArchive.handler,
        functionName: approvalName,
        env: { ...approvalArchive.environment, ...all.env },
        timeoutMs: approvalTimeoutMs,
        onLog: onLog("approval"),
      }),
    ]);
    cleanups.push(
      () => fanout.close(),
      () => approval.close(),
    );
    // The approval click invokes its own function asynchronously (Lambda Invoke, type Event).
    aws.registerFunction(approvalName, async (event) => {
      const result = await approval.invoke(event);
      if (!result.ok) throw new Error(`${approvalName}: ${result.error?.message ?? "failed"}`);
      return result.value;
    });
    const lambdasMs = performance.now() - tLambdas;

    // ---- the queue in front of the fan-out ----
    const receiveListeners: Array<(id: string, count: number) => void> = [];
    const queue = createQueue({
      arn: queueArn,
      region: REGION,
      visibilityTimeoutMs,
      maxReceiveCount,
      batchSize,
      async consume(event) {
        const result = await fanout.invoke<{
          batchItemFailures?: Array<{ itemIdentifier: string }>;
        }>(event);
        if (!result.ok) return { ok: false, error: result.error?.message ?? "failed" };
        return { ok: true, batchItemFailures: result.value?.batchItemFailures ?? [] };
      },
      onChange(message) {
        const short = message.messageId.slice(0, 8);
        if (message.state === "in-flight") {
          for (const listener of [...receiveListeners])
            listener(message.messageId, message.receiveCount);
          if (message.receiveCount > 1)
            log(
              `    ↻ queue: message ${short} redelivered (receive ${message.receiveCount}/${maxReceiveCount})`,
            );
        } else if (message.state === "waiting" && message.receiveCount > 0) {
          log(
            `    ⚠ fan-out reported message ${short} failed; visible again in ${visibilityTimeoutMs} ms`,
          );
        } else if (message.state === "dlq") {
          log(
            `    ✗ queue: message ${short} moved to the DLQ after ${message.receiveCount} receives`,
          );
        }
      },
    });
    cleanups.push(() => queue.close());

    receivers.onAttempt((attempt) => {
      if (attempt.receiver === "slack-response") return;
      const channel = channelOfDelivery(attempt);
      const status = attempt.status ?? attempt.outcome;
      log(
        `    → ${attempt.receiver} ${channel}: ${attempt.outcome === "delivered" ? "delivered" : `${attempt.outcome} (${status})`}`,
      );
    });

    function channelOfDelivery(d: Delivery): string {
      if (d.receiver === "pagerduty") {
        const key = (d.body as { routing_key?: string } | undefined)?.routing_key ?? "";
        return channelOfRoutingKey[key] ?? "pagerduty";
      }
      return d.name;
    }

    // ---- events ----
    const posted: PostedEvent[] = [];
    const faults: Record<string, string> = {};

    function toEvents(input: unknown): Array<Record<string, unknown>> {
      const body = input as { Entries?: unknown };
      if (body && typeof body === "object" && Array.isArray(body.Entries)) {
        return body.Entries.map((entry: Record<string, unknown>, i: number) => {
          if (typeof entry.Detail !== "string")
            throw new Error(`Entries[${i}].Detail must be a JSON string`);
          return {
            version: "0",
            id: randomUUID(),
            "detail-type": entry.DetailType,
            source: entry.Source,
            account: ACCOUNT,
            time: entry.Time
              ? new Date(String(entry.Time)).toISOString().replace(/\.\d{3}Z$/, "Z")
              : new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
            region: REGION,
            resources: Array.isArray(entry.Resources) ? entry.Resources : [],
            detail: JSON.parse(entry.Detail) as unknown,
          };
        });
      }
      if (!input || typeof input !== "object" || Array.isArray(input)) {
        throw new Error("expected an EventBridge event or {Entries:[…]}");
      }
      const event = { ...(input as Record<string, unknown>) };
      event.id ??= randomUUID();
      event.version ??= "0";
      return [event];
    }

    async function postEvent(input: unknown): Promise<PostedEvent[]> {
      return toEvents(input).map((event) => {
        const detail = (event.detail ?? {}) as Record<string, unknown>;
        const matched = matchesPattern(rulePattern, event);
        const entry: PostedEvent = {
          eventId: String(event.id),
          detailType: String(event["detail-type"] ?? ""),
          pipeline: String(detail.pipeline ?? ""),
          state: String(detail.state ?? ""),
          time: String(event.time ?? ""),
          matched,
          postedAt: Date.now(),
        };
        // EventBridge delivers the whole event as the SQS message body.
        if (matched) entry.messageId = queue.send(JSON.stringify(event)).messageId;
        posted.push(entry);
        const what = `${entry.pipeline} ${entry.detailType.replace("CodePipeline ", "").replace(" Execution State Change", "")} ${entry.state}`;
        log(`  ⇢ event ${what}${matched ? "" : " — not matched by the rule, dropped"}`);
        return entry;
      });
    }

    async function settle(): Promise<void> {
      // Deliveries can start asynchronous work (the approval's self-invocation) and vice versa.
      for (let i = 0; i < 3; i++) {
        await queue.idle();
        await aws.idle();
      }
    }

    const doc = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: all.dynamo.endpoint,
        region: REGION,
        credentials: { accessKeyId: "standin", secretAccessKey: "standin" },
      }),
    );
    cleanups.push(() => doc.destroy());
    async function audit(): Promise<Array<Record<string, unknown>>> {
      const items: Array<Record<string, unknown>> = [];
      for (const table of tables) {
        let start: Record<string, unknown> | undefined;
        do {
          const page = await doc.send(
            new ScanCommand({ TableName: table, ExclusiveStartKey: start }),
          );
          for (const item of page.Items ?? [])
            if (String(item.pk).startsWith("PIPELINE#")) items.push(item);
          start = page.LastEvaluatedKey;
        } while (start);
      }
      return items.sort((a, b) => String(a.sk).localeCompare(String(b.sk)));
    }

    function setFault(receiver: string, fault: (StepFault & { times?: number }) | null): void {
      if (receiver === "sns") {
        aws.faults.sns =
          fault && (fault.status || fault.kind)
            ? { code: "InternalError", status: fault.status ?? 500, times: fault.times }
            : null;
      } else {
        if (!(RECEIVER_KINDS as readonly string[]).includes(receiver))
          throw new Error(`unknown receiver ${receiver}`);
        const kind = receiver as ReceiverKind;
        if (!fault || (!fault.status && !fault.kind)) receivers.setFault(kind, null);
        else if (fault.kind) receivers.setFault(kind, { kind: fault.kind, times: fault.times });
        else
          receivers.setFault(kind, {
            status: fault.status ?? 500,
            times: fault.times,
            ...(fault.status === 429 ? { retryAfter: 1 } : {}),
          });
      }
      const before = faults[receiver];
      if (!fault || (!fault.status && !fault.kind)) delete faults[receiver];
      else
        faults[receiver] = `${fault.kind ?? fault.status}${fault.times ? ` ×${fault.times}` : ""}`;
      if (before !== faults[receiver])
        log(`  ⚡ fault ${receiver}: ${faults[receiver] ?? "cleared"}`);
    }
    for (const spec of options.faults ?? []) {
      const fault = parseFault(spec);
      setFault(spec.split("=")[0], fault);
    }

    const fanoutDlqUrl = fanoutArchive.environment.DEAD_LETTER_QUEUE_URL;
    const fanoutDlq = () =>
      aws.state.sqs.sent.filter((m) => !fanoutDlqUrl || m.queueUrl === fanoutDlqUrl);
    const dlqCount = () =>
      queue.messages.filter((m) => m.state === "dlq").length + fanoutDlq().length;

    // ---- users of the page's selector ----
    const approversByPipeline: Record<string, string[]> = {};
    for (const rule of runtime.pipelines) {
      if (!rule.approvals) continue;
      const key = "name" in rule.match ? rule.match.name : `${rule.match.prefix}*`;
      approversByPipeline[key] = rule.approvals.approvers;
    }
    const approverIds = [...new Set(Object.values(approversByPipeline).flat())];
    const users: SandboxUser[] = [
      ...approverIds.map((id, i) => ({
        id,
        name: `Approver ${i + 1}`,
        username: `approver${i + 1}`,
        approver: true,
      })),
      NON_APPROVER,
    ];

    // ---- the views the page and the scenario read ----
    const slackDeliveries = () => receivers.deliveries.filter((d) => d.receiver === "slack");
    function slackMessages() {
      const responses = receivers.deliveries.filter((d) => d.receiver === "slack-response");
      return slackDeliveries().map((d, index) => {
        const id = `msg-${index + 1}`;
        let current = d.body as Record<string, unknown>;
        let replacedAt: string | undefined;
        const ephemerals: Array<{ at: string; text: string }> = [];
        for (const r of responses.filter((x) => x.name === id)) {
          const body = r.body as Record<string, unknown>;
          if (body?.response_type === "ephemeral")
            ephemerals.push({ at: r.at.toISOString(), text: String(body.text ?? "") });
          else if (body?.delete_original) current = { text: "(message deleted)" };
          else {
            current = body;
            replacedAt = r.at.toISOString();
          }
        }
        return {
          id,
          channel: d.name,
          at: d.at.toISOString(),
          ts: `${Math.floor(d.at.getTime() / 1000)}.${String(index + 1).padStart(6, "0")}`,
          payload: current,
          original: d.body,
          replacedAt,
          ephemerals,
          responseUrl: receivers.urlFor("slack-response", id),
        };
      });
    }
    const byType = (receiver: ReceiverKind) =>
      receivers.deliveries
        .filter((d) => d.receiver === receiver)
        .map((d) => ({ channel: channelOfDelivery(d), at: d.at.toISOString(), payload: d.body }));
    const typeOf = (channel: string) => runtime.channels[channel]?.type ?? "unknown";
    function snsMessages() {
      return aws.state.sns.published.map((p) => ({
        channel: channelOfTopic[p.topicArn ?? ""] ?? p.topicArn ?? p.phoneNumber ?? "sns",
        at: p.at.toISOString(),
        message: p.message,
        subject: p.subject,
        ...smsFacts(p.message),
      }));
    }

    const info = () => ({
      stack,
      port: server?.port,
      url: server?.url,
      signingSecret,
      approvers: approversByPipeline,
      users,
      channels: Object.entries(runtime.channels).map(([name, c]) => ({ name, type: c.type })),
      queue: { declaredVisibilitySeconds, visibilityTimeoutMs, maxReceiveCount, batchSize },
      rulePattern: JSON.parse(rulePattern) as unknown,
      functions: { fanout: fanoutName, approval: approvalName },
    });

    const progress: {
      scenario?: string;
      steps: Array<{ name: string; say?: string; status: string; problems: string[] }>;
    } = { steps: [] };

    const core: SandboxCore = {
      info,
      async state() {
        return {
          info: info(),
          progress,
          faults,
          slack: slackMessages(),
          pagerduty: {
            incidents: receivers.incidents.map((i) => ({
              channel: channelOfRoutingKey[i.routingKey] ?? "pagerduty",
              dedupKey: i.dedupKey,
              status: i.status,
              summary: i.summary,
              severity: i.severity,
              source: i.source,
              triggers: i.triggers,
              openedAt: i.openedAt.toISOString(),
              updatedAt: i.updatedAt.toISOString(),
            })),
            events: byType("pagerduty"),
          },
          sms: snsMessages().filter((m) => typeOf(m.channel) !== "email"),
          email: snsMessages().filter((m) => typeOf(m.channel) === "email"),
          teams: byType("teams"),
          discord: byType("discord"),
          webhook: byType("webhook"),
          events: posted.map((p) => ({
            ...p,
            queue: p.messageId
              ? queueView(queue.messages.find((m) => m.messageId === p.messageId))
              : undefined,
          })),
          dlq: {
            redrive: queue.messages
              .filter((m) => m.state === "dlq")
              .map((m) => ({ ...queueView(m), body: m.body })),
            fanout: fanoutDlq().map((m) => ({
              at: m.at.toISOString(),
              body: m.body,
              attributes: m.attributes,
            })),
          },
          audit: await audit(),
        };
      },
      deliveries() {
        const grouped: Record<string, unknown[]> = {};
        for (const d of receivers.deliveries) {
          (grouped[d.receiver] ??= []).push({
            channel: channelOfDelivery(d),
            at: d.at.toISOString(),
            path: d.path,
            body: d.body,
          });
        }
        grouped.sns = snsMessages();
        grouped.sqs = aws.state.sqs.sent.map((m) => ({
          at: m.at.toISOString(),
          queueUrl: m.queueUrl,
          body: m.body,
          attributes: m.attributes,
        }));
        return grouped;
      },
      audit,
      postEvent,
      async interact(rawBody, headers) {
        const event = {
          version: "2.0",
          routeKey: "$default",
          rawPath: "/",
          rawQueryString: "",
          headers,
          body: rawBody,
          isBase64Encoded: false,
          requestContext: {
            accountId: "anonymous",
            apiId: "sandbox",
            domainName: "sandbox.lambda-url.us-east-1.on.aws",
            http: {
              method: "POST",
              path: "/",
              protocol: "HTTP/1.1",
              sourceIp: "127.0.0.1",
              userAgent: headers["user-agent"] ?? "",
            },
            requestId: randomUUID(),
            time: new Date().toISOString(),
            timeEpoch: Date.now(),
          },
        };
        const result = await approval.invoke<{
          statusCode?: number;
          headers?: Record<string, string>;
          body?: string;
        }>(event);
        if (!result.ok)
          return {
            statusCode: 502,
            headers: { "content-type": "text/plain" },
            body: "approval function failed",
          };
        // The decision work runs asynchronously; let it finish so the page shows the outcome.
        void aws.idle();
        return {
          statusCode: result.value?.statusCode ?? 200,
          headers: result.value?.headers ?? {},
          body: result.value?.body ?? "",
        };
      },
      setFault(receiver, spec) {
        setFault(
          receiver,
          spec === null || spec === "off" ? null : parseFault(`${receiver}=${spec}`),
        );
      },
      async replay() {
        await play(builtInScenario(stack));
      },
    };

    function queueView(m: QueueMessage | undefined) {
      if (!m) return undefined;
      return {
        messageId: m.messageId,
        state: m.state,
        receiveCount: m.receiveCount,
        errors: m.receives.filter((r) => !r.ok).map((r) => r.error),
      };
    }

    const host: ScenarioHost = {
      runtime,
      postEvent: async (event) => (await postEvent(event))[0],
      settle,
      message: (id) => queue.messages.find((m) => m.messageId === id),
      onReceive(listener) {
        receiveListeners.push(listener);
        return () => receiveListeners.splice(receiveListeners.indexOf(listener), 1);
      },
      deliveriesSince(since) {
        const fromReceivers = receivers.attempts
          .filter(
            (a) =>
              a.at.getTime() >= since &&
              a.receiver !== "slack-response" &&
              a.receiver !== "slack-api",
          )
          .map((a) => ({
            channel: channelOfDelivery(a),
            delivered: a.outcome === "delivered",
            body: a.body,
          }));
        const fromSns = aws.state.sns.published
          .filter((p) => p.at.getTime() >= since)
          .map((p) => ({
            channel: channelOfTopic[p.topicArn ?? ""] ?? "sns",
            delivered: true,
            body: p.message,
          }));
        return [...fromReceivers, ...fromSns];
      },
      auditSince: async (since) =>
        (await audit()).filter((a) => Date.parse(String(a.at)) >= since - 1),
      dlqSince: (since) =>
        queue.messages.filter((m) => m.state === "dlq" && (m.settledAt?.getTime() ?? 0) >= since)
          .length + fanoutDlq().filter((m) => m.at.getTime() >= since).length,
      incidents: () =>
        receivers.incidents.map((i) => ({
          channel: channelOfRoutingKey[i.routingKey] ?? "pagerduty",
          dedupKey: i.dedupKey,
          summary: i.summary,
          status: i.status,
        })),
      slackMessagesSince: (channel, since) =>
        slackMessages()
          .filter((m) => m.channel === channel && Date.parse(m.at) >= since)
          .map((m) => m.payload),
      setFault: (fault) => (fault ? setFault(fault.receiver, fault) : undefined),
      addPendingApproval: (input) => void aws.addPendingApproval(input),
      addFailedExecution: (input) => aws.addFailedExecution(input),
      addExecution(input) {
        const pipelines = aws.state.codepipeline.pipelines;
        pipelines[input.pipeline] ??= { stages: [], executions: {} };
        pipelines[input.pipeline].executions[input.executionId] = {
          status: input.status,
          startTime: new Date(),
          trigger: input.trigger,
          artifactRevisions: input.revision ? [input.revision] : undefined,
        };
      },
    };

    async function play(scenario: Scenario): Promise<ScenarioReport> {
      if (scenario.stack && scenario.stack !== stack)
        log(`  (scenario written for stack ${scenario.stack}, running on ${stack})`);
      progress.scenario = scenario.name;
      progress.steps = scenario.steps.map((s) => ({
        name: s.name,
        say: s.say,
        status: "pending",
        problems: [],
      }));
      log(`scenario: ${scenario.name}`);
      return runScenario(host, scenario, {
        onStepStart(step, i) {
          progress.steps[i].status = "running";
          log(
            `\n▶ ${i + 1}/${scenario.steps.length} ${step.name}${step.say ? ` — ${step.say}` : ""}`,
          );
        },
        onStep(report, i) {
          progress.steps[i].status = report.ok ? "ok" : "failed";
          progress.steps[i].problems = report.problems;
          const delivered =
            Object.entries(report.observed.delivered)
              .map(([c, n]) => `${c} ${n}`)
              .join(", ") || "nothing";
          log(
            `  ${report.ok ? "✓" : "✗"} delivered: ${delivered}; retried ${report.observed.retried}; DLQ ${report.observed.dlq}; ${report.ms} ms`,
          );
          for (const problem of report.problems) log(`    ✗ ${problem}`);
        },
      });
    }

    // ---- the page ----
    let server: SandboxServer | undefined;
    const tServer = performance.now();
    if (options.serve ?? true) {
      server = await startSandboxServer(core, options.port ?? 8787);
      cleanups.push(() => server?.close());
    }
    const serverMs = performance.now() - tServer;
    const readyMs = performance.now() - t0;

    return {
      stack,
      url: server?.url,
      port: server?.port,
      timings: { programMs, standinsMs, lambdasMs, serverMs, readyMs },
      postEvent,
      settle,
      runScenario: (scenario) => play(scenario ?? builtInScenario(stack)),
      async summary() {
        const attempts = host.deliveriesSince(0);
        const auditItems = await audit();
        return Object.entries(runtime.channels).map(([name, c]) => ({
          channel: name,
          type: c.type,
          delivered: attempts.filter((a) => a.channel === name && a.delivered).length,
          failedAttempts: attempts.filter((a) => a.channel === name && !a.delivered).length,
          suppressed: auditItems.filter((a) => {
            if (a.action !== "suppressed") return false;
            const listed = (a.detail as { channels?: unknown } | undefined)?.channels;
            return a.channel === name || (Array.isArray(listed) && listed.includes(name));
          }).length,
        }));
      },
      dlqCount,
      standins: all,
      queue,
      core,
      close: closeAll,
    };
  } catch (err: unknown) {
    await closeAll();
    throw err;
  }
}

/** Renders the end-of-scenario summary table. */
export function formatSummary(
  rows: ChannelSummary[],
  report: ScenarioReport,
  queueInfo: { retried: number; dlq: number },
): string {
  const header = ["channel", "type", "delivered", "suppressed", "failed attempts"];
  const body = rows.map((r) => [
    r.channel,
    r.type,
    String(r.delivered),
    String(r.suppressed),
    String(r.failedAttempts),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ");
  const failed = report.steps.filter((s) => !s.ok);
  return [
    "",
    `summary — ${report.name}`,
    line(header),
    line(widths.map((w) => "─".repeat(w))),
    ...body.map(line),
    `queue: ${queueInfo.retried} redeliveries (retries), ${queueInfo.dlq} in the DLQ`,
    `steps: ${report.steps.length - failed.length}/${report.steps.length} ended as expected${failed.length ? ` — failed: ${failed.map((s) => s.name).join("; ")}` : ""}`,
  ].join("\n");
}

interface CliArgs {
  stack: string;
  scenario?: string;
  port: number;
  serve: boolean;
  play: boolean;
  faults: string[];
  verbose: boolean;
}

function parseArgs(argv: string[]): CliArgs {
  const args: CliArgs = {
    stack: "staging",
    port: 8787,
    serve: true,
    play: true,
    faults: [],
    verbose: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === "--stack") args.stack = value();
    else if (arg === "--scenario") args.scenario = value();
    else if (arg === "--port") args.port = Number(value());
    else if (arg === "--no-serve") args.serve = false;
    else if (arg === "--no-scenario") args.play = false;
    else if (arg === "--fault") args.faults.push(value());
    else if (arg === "--verbose") args.verbose = true;
    else if (arg === "--help" || arg === "-h") {
      console.log(
        "npm start -- [--stack staging|prod] [--scenario file.json] [--port 8787] [--no-serve] [--no-scenario] [--fault receiver=500|timeout|reset[xN]] [--verbose]",
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}`);
  }
  if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535)
    throw new Error("--port must be 0-65535");
  return args;
}

async function main(): Promise<number> {
  // The archives model nodejs22.x; on an older local Node the SDK would warn on every client.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const args = parseArgs(process.argv.slice(2));
  const { loadScenario } = await import("./scenario");
  const scenario = args.scenario ? loadScenario(args.scenario) : builtInScenario(args.stack);
  const log = (line: string) => console.log(line);
  log(
    `deploy-notifier sandbox — stack ${args.stack} (no AWS account, no network: everything runs on 127.0.0.1)`,
  );
  const sandbox = await startSandbox({
    stack: args.stack,
    port: args.port,
    serve: args.serve,
    faults: args.faults,
    log,
    verbose: args.verbose,
  });
  const q = sandbox.core.info().queue as {
    declaredVisibilitySeconds: number;
    visibilityTimeoutMs: number;
    maxReceiveCount: number;
    batchSize: number;
  };
  log(
    `ready in ${(sandbox.timings.readyMs / 1000).toFixed(1)} s${sandbox.url ? ` — open ${sandbox.url}` : ""}`,
  );
  log(
    `queue: visibility timeout ${q.declaredVisibilitySeconds} s declared, scaled to ${q.visibilityTimeoutMs} ms here; redrive after ${q.maxReceiveCount} receives; batch ${q.batchSize}`,
  );
  let ok = true;
  if (args.play) {
    const report = await sandbox.runScenario(scenario);
    await sandbox.settle();
    const retried = sandbox.queue.messages.reduce((n, m) => n + Math.max(0, m.receiveCount - 1), 0);
    log(formatSummary(await sandbox.summary(), report, { retried, dlq: sandbox.dlqCount() }));
    ok = report.ok;
  }
  if (!args.serve) {
    await sandbox.close();
    return ok ? 0 : 1;
  }
  log(`\nthe page is live at ${sandbox.url} — approve the pending request there. Ctrl-C to stop.`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await sandbox.close();
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`sandbox: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
