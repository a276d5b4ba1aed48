/**
 * One Slack thread per execution, bot mode only (issue 11). The first notification of an execution
 * on a channel instance is posted as a message of its own, the parent; every later one (failed →
 * retried → failed again → succeeded, approval steps) is posted as a reply in the parent's thread
 * (`chat.postMessage` with `thread_ts`: "Provide another message's ts value to make this message a
 * reply", https://api.slack.com/methods/chat.postMessage#arg_thread_ts) and, when it is the newest
 * state of the execution, the parent is replaced in place (`chat.update` with the parent's
 * `channel` id and `ts`, https://api.slack.com/methods/chat.update) so that its headline says
 * where the execution is now. Incoming webhooks can neither reply in a thread nor update, so
 * webhook mode keeps sending separate messages (slack.ts).
 *
 * The parent's `ts` and channel id are kept in the table (store/threads.ts); who posts the parent
 * is one conditional write, so two notifications of one execution at once never make two parents.
 * The parent update is best effort: the reply is the delivery, and a failed update is logged, not
 * retried (a retry would post the reply again).
 */
import type { ActionsBlock, KnownBlock } from "@slack/types";
import { pipelineKeyOf } from "../contracts/pipeline-id";
import { deliveryError, scaledMs } from "../http";
import type { ThreadRef, ThreadState, ThreadStore } from "../store/threads";
import type { Notification } from "../types";
import { deliverHttp, requireSecret } from "./common";
import type { SlackConfig, SlackMessage } from "./slack-format";
import type { ChannelContext } from "./types";

const DEFAULT_API_URL = "https://slack.com/api";

/** Waits for a parent still being posted: AWS-time delays (scaled), then a retryable failure. */
const PARENT_WAIT_MS = [100, 200, 400, 800, 1600];

/** What a Web API call answered that the thread needs. */
export interface PostedMessage {
  status: number;
  ts?: string;
  /** The conversation id Slack answered with (chat.postMessage's `channel`). */
  channel?: string;
}

/** Calls Web API `method` with the bot token; Slack's `ok: false` becomes a DeliveryError. */
export async function slackWebApi(
  ctx: ChannelContext<SlackConfig>,
  method: string,
  body: Record<string, unknown>,
): Promise<PostedMessage> {
  const token = requireSecret("slack", ctx, "botToken");
  const base = (ctx.config.apiUrl ?? DEFAULT_API_URL).replace(/\/+$/, "");
  const res = await deliverHttp("slack", ctx, `${base}/${method}`, body, {
    authorization: `Bearer ${token}`,
  });
  try {
    const parsed = JSON.parse(res.body) as { ts?: unknown; channel?: unknown };
    return {
      status: res.status,
      ...(typeof parsed.ts === "string" && { ts: parsed.ts }),
      ...(typeof parsed.channel === "string" && { channel: parsed.channel }),
    };
  } catch {
    return { status: res.status }; // delivered (status says so); the ts is only a convenience
  }
}

/** The thread of `n` on channel instance `channel`. */
export function threadRefOf(n: Notification, channel: string): ThreadRef {
  return { channel, pipeline: pipelineKeyOf(n), executionId: n.executionId };
}

/**
 * The parent as it is updated to show `latest`: the latest notification's message without the
 * approval buttons (they stay on the request in the thread, which the approval flow updates), and
 * a line saying the history is in the thread.
 */
export function parentMessage(latest: SlackMessage): { text: string; blocks: KnownBlock[] } {
  const blocks: KnownBlock[] = [];
  for (const b of latest.blocks) {
    if (b.type !== "actions") {
      blocks.push(b);
      continue;
    }
    const links = (b as ActionsBlock).elements.filter((e) => e.type === "button" && e.url);
    if (links.length > 0) blocks.push({ ...(b as ActionsBlock), elements: links });
  }
  blocks.push({
    type: "context",
    elements: [{ type: "mrkdwn", text: "Updated in place: every step is in the thread." }],
  });
  return { text: latest.text, blocks };
}

/** The parent of `ref` once posted, waiting (bounded) while its owner is still posting it. */
async function parentOf(
  threads: ThreadStore,
  ref: ThreadRef,
  seen: ThreadState | undefined,
  deadline: number,
): Promise<ThreadState | undefined> {
  let state = seen;
  for (const wait of PARENT_WAIT_MS) {
    if (state?.ts) return state;
    const ms = scaledMs(wait);
    if (Date.now() + ms >= deadline) break;
    await new Promise((r) => setTimeout(r, ms));
    state = await threads.read(ref);
  }
  return state?.ts ? state : undefined;
}

/**
 * Posts `message` (the rendered notification `n`, with its metadata) in the execution's thread:
 * as the parent when this is the execution's first notification, else as a reply, updating the
 * parent when `n` is its newest state. Resolves with the posted message (the reply's `ts` for a
 * reply); throws a DeliveryError (retryable while another delivery is still posting the parent).
 */
export async function postThreaded(
  n: Notification,
  ctx: ChannelContext<SlackConfig>,
  threads: ThreadStore,
  body: SlackMessage & Record<string, unknown>,
): Promise<PostedMessage> {
  const ref = threadRefOf(n, ctx.name);
  const claim = await threads.claim(ref, n.id, n.time);
  if (claim.parent) {
    const posted = await slackWebApi(ctx, "chat.postMessage", body);
    const channelId = posted.channel ?? ctx.config.channel;
    if (posted.ts && channelId) {
      // The message is posted: a failure to record it as the parent must not fail the delivery
      // (its retry would post a second parent). Later replies then start a thread of their own.
      try {
        const kept = await threads.setParent(ref, n.id, { ts: posted.ts, channelId });
        if (!kept) ctx.log.warn(`slack ${ctx.name}: thread taken over while posting its parent`);
      } catch (err: unknown) {
        ctx.log.warn(`slack ${ctx.name}: the thread's parent was posted but not recorded`, {
          channel: ctx.name,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
    return posted;
  }
  const thread = await parentOf(threads, ref, claim.thread, ctx.deadline);
  if (!thread?.ts || !thread.channelId) {
    throw deliveryError(ctx.name, `slack ${ctx.name}: the thread's parent is still being posted`, {
      retryable: true,
      retryAfterMs: scaledMs(1000),
    });
  }
  // This notification is the parent already (a redelivery after it was posted): nothing to send.
  if (thread.owner === n.id) return { status: 200, ts: thread.ts, channel: thread.channelId };
  const reply = await slackWebApi(ctx, "chat.postMessage", {
    ...body,
    channel: thread.channelId,
    thread_ts: thread.ts,
  });
  try {
    if (await threads.advance(ref, n.time)) {
      const parent = parentMessage(body);
      await slackWebApi(ctx, "chat.update", {
        channel: thread.channelId,
        ts: thread.ts,
        ...parent,
      });
    }
  } catch (err: unknown) {
    ctx.log.warn(`slack ${ctx.name}: the thread's parent was not updated`, {
      channel: ctx.name,
      error: err instanceof Error ? err.message : String(err),
    });
  }
  return reply;
}
