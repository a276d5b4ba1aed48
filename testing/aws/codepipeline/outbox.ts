/**
 * The events the CodePipeline model emits, shaped like the EventBridge events CodePipeline sends
 * (EventBridge event reference, "AWS CodePipeline events", and userguide
 * detect-state-changes-cloudwatch-events.html): `version`, `id`, `detail-type`, `source`
 * `aws.codepipeline`, `account`, `time`, `region`, `resources` [pipeline ARN], and `detail` with
 * `pipeline`, `execution-id`, `start-time`, `state`, `version` (the pipeline version),
 * `pipeline-execution-attempt`; action events add `stage`, `action`, `action-execution-id`,
 * `region`, `type` and, when there is one, `execution-result`; RESUMED pipeline events add
 * `last-retry-attempt-time`; STARTED pipeline events add `execution-trigger`; STOPPING pipeline
 * events add `stop-execution-comments` when the stop gave a reason.
 *
 * Every emitted event is appended to `state.codepipeline.outbox` and announced to the listeners
 * registered with {@link onCodePipelineEvent} (the sandbox routes them like `POST /events`).
 */
import { randomUUID } from "node:crypto";
import { STANDIN_ACCOUNT, type AwsState } from "../core";
import type { ActionRun, ModelAction, ModelExecution } from "./model";

/** An EventBridge event as CodePipeline emits it. */
export interface CodePipelineEvent {
  version: "0";
  id: string;
  "detail-type": string;
  source: "aws.codepipeline";
  account: string;
  /** ISO 8601 to the second, like EventBridge. */
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

/** Called with each emitted event, synchronously, in emission order. */
export type CodePipelineEventListener = (event: CodePipelineEvent) => void;

/** Listeners per state object (the state is reset in place, so they survive a reset). */
const listeners = new WeakMap<AwsState, Set<CodePipelineEventListener>>();

/**
 * Subscribes to the events the model emits from now on.
 * @returns an unsubscribe function.
 */
export function onCodePipelineEvent(
  state: AwsState,
  listener: CodePipelineEventListener,
): () => void {
  const set = listeners.get(state) ?? new Set();
  listeners.set(state, set);
  set.add(listener);
  return () => void set.delete(listener);
}

/** The events emitted so far, oldest first. */
export function codePipelineOutbox(state: AwsState): CodePipelineEvent[] {
  state.codepipeline.outbox ??= [];
  return state.codepipeline.outbox;
}

/** The stand-in's pipeline version in events and answers. */
export const PIPELINE_VERSION = 1;

const DETAIL_TYPES = {
  pipeline: "CodePipeline Pipeline Execution State Change",
  stage: "CodePipeline Stage Execution State Change",
  action: "CodePipeline Action Execution State Change",
} as const;

/** EventBridge's `time`: ISO 8601 to the second. */
function eventTime(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function emit(
  state: AwsState,
  level: keyof typeof DETAIL_TYPES,
  pipeline: string,
  detail: Record<string, unknown>,
  at: Date,
): CodePipelineEvent {
  const region = state.codepipeline.region ?? "us-east-1";
  const account = state.codepipeline.account ?? STANDIN_ACCOUNT;
  const event: CodePipelineEvent = {
    version: "0",
    id: randomUUID(),
    "detail-type": DETAIL_TYPES[level],
    source: "aws.codepipeline",
    account,
    time: eventTime(at),
    region,
    resources: [`arn:aws:codepipeline:${region}:${account}:${pipeline}`],
    detail: { pipeline, ...detail, version: PIPELINE_VERSION },
  };
  codePipelineOutbox(state).push(event);
  // A scope view (accounts.ts) announces to the listeners of the state it was made from.
  const root = (state as { root?: AwsState }).root ?? state;
  for (const listener of [...(listeners.get(root) ?? [])]) {
    try {
      listener(event);
    } catch {
      // A listener's failure is its own; the model's state change stands.
    }
  }
  return event;
}

/** Emits a Pipeline Execution State Change. */
export function emitPipelineEvent(
  state: AwsState,
  input: { pipeline: string; executionId: string; execution: ModelExecution; state: string },
  at: Date,
): CodePipelineEvent {
  const { execution } = input;
  const detail: Record<string, unknown> = {
    "execution-id": input.executionId,
    "start-time": execution.startTime?.toISOString(),
    state: input.state,
    "pipeline-execution-attempt": execution.attempt ?? 1,
  };
  if (input.state === "RESUMED" && execution.lastRetryAt)
    detail["last-retry-attempt-time"] = execution.lastRetryAt.toISOString();
  // The Pipeline STOPPING event carries the stop request's reason (user guide, "Monitoring
  // CodePipeline events", Pipeline STOPPING event; stops.ts).
  if (input.state === "STOPPING" && execution.stop?.reason !== undefined)
    detail["stop-execution-comments"] = execution.stop.reason;
  if (input.state === "STARTED" && execution.trigger) {
    detail["execution-trigger"] = {
      "trigger-type": execution.trigger.triggerType,
      "trigger-detail": execution.trigger.triggerDetail,
    };
  }
  return emit(state, "pipeline", input.pipeline, detail, at);
}

/** Emits a Stage Execution State Change. */
export function emitStageEvent(
  state: AwsState,
  input: {
    pipeline: string;
    executionId: string;
    execution: ModelExecution;
    stage: string;
    state: string;
  },
  at: Date,
): CodePipelineEvent {
  return emit(
    state,
    "stage",
    input.pipeline,
    {
      "execution-id": input.executionId,
      "start-time": input.execution.startTime?.toISOString(),
      stage: input.stage,
      state: input.state,
      "pipeline-execution-attempt": input.execution.attempt ?? 1,
    },
    at,
  );
}

/**
 * Emits an Action Execution State Change for one run. `execution-result` carries the run's
 * summary, URL, error code (FAILED) and external id; an expired approval has none (issue 10 item 3:
 * "state FAILED, no execution-result").
 */
export function emitActionEvent(
  state: AwsState,
  input: {
    pipeline: string;
    execution: ModelExecution;
    stage: string;
    action: ModelAction;
    run: ActionRun;
    state: string;
    withResult?: boolean;
  },
  at: Date,
): CodePipelineEvent {
  const { action, run } = input;
  const detail: Record<string, unknown> = {
    "execution-id": run.pipelineExecutionId,
    "start-time": input.execution.startTime?.toISOString(),
    stage: input.stage,
    "action-execution-id": run.actionExecutionId,
    action: action.name,
    state: input.state,
    region: state.codepipeline.region ?? "us-east-1",
    type: {
      owner: "AWS",
      provider: action.provider ?? (action.category === "Approval" ? "Manual" : "Unknown"),
      category: action.category,
      version: "1",
    },
    "pipeline-execution-attempt": run.attempt,
  };
  if (input.withResult ?? input.state !== "STARTED") {
    const result: Record<string, unknown> = {};
    if (run.summary !== undefined) result["external-execution-summary"] = run.summary;
    if (run.externalExecutionUrl !== undefined)
      result["external-execution-url"] = run.externalExecutionUrl;
    if (input.state === "FAILED" && run.errorCode) result["error-code"] = run.errorCode;
    if (Object.keys(result).length > 0) detail["execution-result"] = result;
  }
  return emit(state, "action", input.pipeline, detail, at);
}
