/**
 * The parts of the scenario host (run.ts) that act for people and read CodePipeline: a click on
 * a Slack button, sent exactly as Slack sends it (a signed `block_actions` payload to the
 * approval function's URL, with a `response_url` minted for the clicking user, like the page),
 * a decision in the CodePipeline console, and the approval tokens the CodePipeline stand-in issued.
 */
import { randomUUID } from "node:crypto";
import { computeSlackSignature } from "../handlers/approval/signature";
import { putApprovalResult } from "../testing";
import { callApprovalUrl, type FunctionUrlAnswer } from "./function-url";
import type { DecideInConsoleAction, IssuedToken } from "./scenario-actions";
import type { ApprovalRef, ApprovalRunState } from "./scenario-events";
import { sandboxUsers, slackMessages } from "./views";
import type { World } from "./wiring";

interface Button {
  type?: string;
  action_id?: string;
  text?: unknown;
  value?: string;
  style?: string;
}

/** The actions block and button of `actionId` in a Block Kit payload, if it has one. */
function findButton(
  payload: unknown,
  actionId: string,
): { blockId?: string; button: Button } | undefined {
  const blocks = (payload as { blocks?: unknown[] } | undefined)?.blocks ?? [];
  for (const b of blocks) {
    const block = b as { type?: string; block_id?: string; elements?: Button[] };
    if (block.type !== "actions") continue;
    const button = (block.elements ?? []).find((e) => e.action_id === actionId);
    if (button) return { blockId: block.block_id, button };
  }
  return undefined;
}

/**
 * Clicks button `actionId` of Slack message `messageId` (a `msg-<n>` id of views.ts) as Slack
 * user `userId`: the `block_actions` payload Slack sends
 * (https://api.slack.com/reference/interaction-payloads/block-actions), form-encoded and signed
 * with the app's signing secret (https://api.slack.com/authentication/verifying-requests-from-slack).
 * @throws when the message does not exist or has no such button (any more).
 */
export async function clickSlackButton(
  world: World,
  messageId: string,
  actionId: string,
  userId: string,
): Promise<FunctionUrlAnswer> {
  const message = slackMessages(world).find((m) => m.id === messageId);
  if (!message) throw new Error(`no Slack message ${messageId}`);
  // A message that was replaced keeps its old buttons in the original: people click what they
  // see, and an old message may still show them (that is what a superseded request is).
  const found = findButton(message.payload, actionId) ?? findButton(message.original, actionId);
  if (!found) throw new Error(`Slack message ${messageId} has no ${actionId} button`);
  const user = sandboxUsers(world.runtime).users.find((u) => u.id === userId) ?? {
    id: userId,
    name: userId,
    username: userId.toLowerCase(),
  };
  const payload = {
    type: "block_actions",
    user: { id: user.id, username: user.username, name: user.name, team_id: "T0SANDBOX" },
    api_app_id: "A0SANDBOX",
    token: "unused-verification-token",
    container: {
      type: "message",
      message_ts: message.ts,
      channel_id: `C-${message.channel}`,
      is_ephemeral: false,
    },
    trigger_id: `${Date.now()}.sandbox`,
    team: { id: "T0SANDBOX", domain: "sandbox" },
    channel: { id: `C-${message.channel}`, name: message.channel },
    message: {
      type: "message",
      ts: message.ts,
      text: (message.payload as { text?: unknown }).text,
      blocks: (message.payload as { blocks?: unknown }).blocks,
    },
    // Slack mints a response_url per click (views.ts `responseTarget`): an ephemeral reply
    // reaches only the clicker, and each click has its own 5 uses within 30 minutes.
    response_url: message.responseUrls[user.id]
      ? `${message.responseUrls[user.id]}~${randomUUID()}`
      : message.responseUrl,
    actions: [
      {
        type: "button",
        action_id: actionId,
        block_id: found.blockId,
        text: found.button.text,
        value: found.button.value,
        style: found.button.style,
        action_ts: String(Date.now() / 1000),
      },
    ],
  };
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const timestamp = String(Math.floor(Date.now() / 1000));
  return callApprovalUrl(world, body, {
    "content-type": "application/x-www-form-urlencoded",
    "x-slack-request-timestamp": timestamp,
    "x-slack-signature": computeSlackSignature(world.signingSecret, timestamp, body),
  });
}

/** Every approval token the CodePipeline stand-in holds (one per run of an approval action). */
export function approvalTokens(world: World): IssuedToken[] {
  const out: IssuedToken[] = [];
  const pipelines = world.standins.aws.state.codepipeline.pipelines;
  for (const [pipeline, model] of Object.entries(pipelines)) {
    for (const stage of model.stages) {
      for (const action of stage.actions) {
        const runs = (action as { runs?: Array<{ token?: string }> }).runs ?? [];
        for (const token of [action.token, ...runs.map((r) => r.token)]) {
          if (token) out.push({ pipeline, stage: stage.name, action: action.name, token });
        }
      }
    }
  }
  return out;
}

/**
 * The latest run of approval action `ref.stage`/`ref.action` of `ref.pipeline` for execution
 * `ref.executionId` in the CodePipeline stand-in (the home account's pipelines), if it has one.
 */
export function approvalRunOf(world: World, ref: ApprovalRef): ApprovalRunState | undefined {
  const pipeline = world.standins.aws.state.codepipeline.pipelines[ref.pipeline];
  const stage = pipeline?.stages.find((s) => s.name === ref.stage);
  const action = stage?.actions.find((a) => a.name === ref.action);
  const run = (action?.runs ?? []).filter((r) => r.pipelineExecutionId === ref.executionId).at(-1);
  if (!run) return undefined;
  return {
    status: run.status,
    expiresAt: run.expiresAt?.getTime(),
    startedAt: run.startTime.getTime(),
  };
}

/**
 * How many events the CodePipeline stand-in has emitted itself (its outbox, which the sandbox
 * routes like `POST /events`); 0 for a stand-in without one.
 */
export function emittedCount(world: World): number {
  const codepipeline = world.standins.aws.state.codepipeline as { outbox?: unknown[] };
  return codepipeline.outbox?.length ?? 0;
}

/**
 * Why a step's setup may not end execution `executionId` of `pipeline` with `status` in the
 * CodePipeline stand-in: one of its approval runs still waits for a decision (InProgress), and
 * CodePipeline ends no execution while an action of it runs (user guide, "How pipeline executions
 * work"; an approval ends by PutApprovalResult or its timeout). Undefined when it may (no such
 * execution yet, or none of its runs waits).
 */
export function endRefusal(
  world: World,
  input: { pipeline: string; executionId: string; status: string },
): string | undefined {
  if (input.status === "InProgress") return undefined;
  const pipeline = world.standins.aws.state.codepipeline.pipelines[input.pipeline];
  for (const stage of pipeline?.stages ?? []) {
    for (const action of stage.actions) {
      const run = (action.runs ?? []).filter((r) => r.pipelineExecutionId === input.executionId);
      if (run.at(-1)?.status !== "InProgress" || run.at(-1)?.token === undefined) continue;
      return (
        `execution ${input.executionId} still waits for a decision at ` +
        `${stage.name}/${action.name}: CodePipeline would not end it ${input.status}`
      );
    }
  }
  return undefined;
}

/**
 * A decision in the CodePipeline console: PutApprovalResult with the token of the execution's
 * pending run of the action, as the caller `input.by` (CodePipeline records it as the run's
 * `lastUpdatedBy`, which the fan-out's enrichment reads: handlers/enrich.ts). The stand-in emits
 * the decision's events.
 * @throws when no run of the execution waits at the action, or the stand-in's service error.
 */
export function decideInConsole(
  world: World,
  input: DecideInConsoleAction["decideInConsole"],
): void {
  const { state } = world.standins.aws;
  const pipeline = state.codepipeline.pipelines[input.pipeline];
  const stage = pipeline?.stages.find((s) => s.name === input.stage);
  const action = stage?.actions.find((a) => a.name === input.action);
  const run = (action?.runs ?? [])
    .filter((r) => r.pipelineExecutionId === input.executionId && r.status === "InProgress")
    .at(-1);
  if (!run?.token) {
    throw new Error(
      `no approval of execution ${input.executionId} waits at ${input.pipeline}/${input.stage}/${input.action}`,
    );
  }
  putApprovalResult(
    state,
    {
      pipelineName: input.pipeline,
      stageName: input.stage,
      actionName: input.action,
      result: { status: input.status, summary: input.summary },
      token: run.token,
    },
    new Date(),
    input.by,
  );
}
