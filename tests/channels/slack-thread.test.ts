/**
 * One Slack thread per execution in bot mode (issue 11; handlers/channels/slack-thread.ts,
 * handlers/store/threads.ts), against the Slack Web API stand-in (testing/receivers/slack-api.ts)
 * and DynamoDB (dynalite, through the fan-out test world):
 * - the first notification of an execution is the parent; later ones are replies
 *   (chat.postMessage `thread_ts` = the parent's `ts`, https://api.slack.com/methods/chat.postMessage#arg_thread_ts)
 *   and update the parent in place (chat.update with its `channel` and `ts`,
 *   https://api.slack.com/methods/chat.update) so its headline shows the current state;
 * - two notifications of one execution at once make one parent (a conditional PutItem);
 * - webhook mode (no bot token) sends separate messages, as before.
 */
import { randomUUID } from "node:crypto";
import { ddb } from "../../handlers/aws";
import { slackDriver } from "../../handlers/channels/slack";
import type { SlackConfig } from "../../handlers/channels/slack-format";
import { pipelineKeyOf } from "../../handlers/contracts/pipeline-id";
import { threadKey } from "../../handlers/store/keys";
import { threadStore } from "../../handlers/store/threads";
import type { Notification } from "../../handlers/types";
import type { SlackApiMessage } from "../../testing/receivers";
import { startFanoutWorld, type FanoutWorld } from "../support/fanout";
import { fixture, makeContext } from "./helpers";

let world: FanoutWorld;
beforeAll(async () => {
  world = await startFanoutWorld();
});
afterEach(() => {
  world.reset();
  jest.restoreAllMocks();
});
afterAll(() => world.close());

const CHANNEL_ID = "C0THREADS";

function botContext() {
  const config = {
    type: "slack",
    mode: "bot",
    channel: CHANNEL_ID,
    apiUrl: world.standins.receivers.slackApiUrl,
  } as SlackConfig;
  return makeContext(config, { botToken: "xoxb-local-test" }, { threads: threadStore(30) });
}

/** Notifications of one fresh execution: failed, failed again (attempt 2), succeeded. */
function execution(): { failed: Notification; again: Notification; succeeded: Notification } {
  const executionId = randomUUID();
  const base = { ...fixture("failure-revision"), executionId, pipeline: `p-${executionId}` };
  return {
    failed: { ...base, id: `n1-${executionId}`, time: "2026-11-30T12:00:00Z" },
    again: {
      ...base,
      id: `n2-${executionId}`,
      time: "2026-11-30T12:05:00Z",
      attempt: 2,
      summary: "failed again",
    },
    succeeded: {
      ...fixture("success"),
      executionId,
      pipeline: base.pipeline,
      id: `n3-${executionId}`,
      time: "2026-11-30T12:10:00Z",
    },
  };
}

function messages(): SlackApiMessage[] {
  return Object.values(world.standins.receivers.slackMessages).filter(
    (m) => m.channel === CHANNEL_ID,
  );
}

function headerOf(m: SlackApiMessage | undefined): string {
  const header = (m?.blocks ?? []).find((b: any) => b.type === "header") as any;
  return String(header?.text?.text ?? "");
}

describe("bot mode: one thread per execution", () => {
  it("parent, then a reply in its thread, then the parent updated to the newest state", async () => {
    const { ctx } = botContext();
    const { failed, again, succeeded } = execution();

    const parent = await slackDriver.send(failed, ctx);
    const reply = await slackDriver.send(again, ctx);
    const last = await slackDriver.send(succeeded, ctx);

    const all = messages();
    expect(all).toHaveLength(3);
    const top = all.find((m) => m.threadTs === undefined);
    expect(top?.ts).toBe(parent.id);
    // Both later notifications are replies in the parent's thread, with their own details.
    const replies = all.filter((m) => m.threadTs !== undefined);
    expect(replies.map((m) => [m.ts, m.threadTs])).toEqual([
      [reply.id, parent.id],
      [last.id, parent.id],
    ]);
    expect(headerOf(replies[0])).toContain("failed again (attempt 2)");
    // The parent was updated in place twice; its headline is the execution's current state.
    expect(top?.updates).toBe(2);
    expect(headerOf(top)).toBe(`:large_green_circle: ${succeeded.pipeline} succeeded`);
    // The parent keeps no approval buttons; it says where the history is.
    expect(JSON.stringify(top?.blocks)).toContain("every step is in the thread");
    // What the table keeps: the parent's ts and channel id, the newest time it shows, a TTL.
    const items = await world.items();
    const key = threadKey(ctx.name, pipelineKeyOf(failed), failed.executionId);
    const item = items.find((i) => i.pk === key.pk && i.sk === key.sk);
    expect(item).toMatchObject({
      owner: failed.id,
      ts: parent.id,
      channelId: CHANNEL_ID,
      latestAt: succeeded.time,
    });
    expect(item?.leaseUntil).toBeUndefined();
    expect(typeof item?.expiresAt).toBe("number");
  });

  it("an older notification arriving late replies but does not roll the parent back", async () => {
    const { ctx } = botContext();
    const { failed, again, succeeded } = execution();
    await slackDriver.send(failed, ctx);
    await slackDriver.send(succeeded, ctx);
    await slackDriver.send(again, ctx); // 12:05, older than the success at 12:10

    const top = messages().find((m) => m.threadTs === undefined);
    expect(messages()).toHaveLength(3);
    expect(top?.updates).toBe(1);
    expect(headerOf(top)).toContain("succeeded");
  });

  it("two first notifications of one execution at once: exactly one parent, the other replies", async () => {
    const { ctx } = botContext();
    const { failed, again } = execution();

    const [a, b] = await Promise.all([slackDriver.send(failed, ctx), slackDriver.send(again, ctx)]);

    const all = messages();
    expect(all).toHaveLength(2);
    const parents = all.filter((m) => m.threadTs === undefined);
    expect(parents).toHaveLength(1);
    const child = all.find((m) => m.threadTs !== undefined);
    expect(child?.threadTs).toBe(parents[0].ts);
    expect([a.id, b.id].sort()).toEqual(all.map((m) => m.ts).sort());
  });

  it("a redelivered parent notification posts nothing new", async () => {
    const { ctx } = botContext();
    const { failed } = execution();
    const first = await slackDriver.send(failed, ctx);
    const again = await slackDriver.send(failed, ctx);
    expect(again.id).toBe(first.id);
    expect(messages()).toHaveLength(1);
  });

  it("a parent whose post failed is posted by the same notification's retry, not left waiting", async () => {
    const { ctx } = botContext();
    const { failed, again } = execution();
    world.standins.receivers.setFault("slack-api", { status: 503, times: 1 });

    await expect(slackDriver.send(failed, ctx)).rejects.toMatchObject({ retryable: true });
    const parent = await slackDriver.send(failed, ctx);
    const reply = await slackDriver.send(again, ctx);

    const all = messages();
    expect(all.filter((m) => m.threadTs === undefined).map((m) => m.ts)).toEqual([parent.id]);
    expect(all.find((m) => m.ts === reply.id)?.threadTs).toBe(parent.id);
  });

  it("two executions of one pipeline are two threads", async () => {
    const { ctx } = botContext();
    const one = execution();
    const two = { ...one.again, executionId: randomUUID(), id: `other-${randomUUID()}` };
    await slackDriver.send(one.failed, ctx);
    await slackDriver.send(two, ctx);
    expect(messages().filter((m) => m.threadTs === undefined)).toHaveLength(2);
  });

  it("DynamoDB calls per notification: 2 for the parent, 2 for a reply", async () => {
    const { ctx } = botContext();
    const { failed, again } = execution();
    const calls: string[] = [];
    const client = ddb();
    const send = client.send.bind(client);
    jest.spyOn(client, "send").mockImplementation(((cmd: any, ...rest: any[]) => {
      calls.push(cmd.constructor.name);
      return (send as any)(cmd, ...rest);
    }) as any);

    await slackDriver.send(failed, ctx);
    const parentCalls = calls.splice(0);
    await slackDriver.send(again, ctx);
    const replyCalls = calls.splice(0);

    expect(parentCalls).toEqual(["PutCommand", "UpdateCommand"]);
    // The lost claim returns the item (ReturnValuesOnConditionCheckFailure), else one GetItem.
    expect(replyCalls.filter((c) => c !== "GetCommand")).toEqual(["PutCommand", "UpdateCommand"]);
    expect(replyCalls.length).toBeLessThanOrEqual(3);
  });
});

describe("without threads", () => {
  it("webhook mode: separate messages, no thread items, even with a thread store", async () => {
    const url = world.standins.receivers.urlFor("slack", "thread-test");
    const { ctx } = makeContext(
      { type: "slack", mode: "webhook" } as SlackConfig,
      { webhookUrl: url },
      { threads: threadStore(30) },
    );
    const { failed, again } = execution();
    await slackDriver.send(failed, ctx);
    await slackDriver.send(again, ctx);
    const posted = world.standins.receivers.byReceiver("slack", "thread-test");
    expect(posted).toHaveLength(2);
    expect(posted.every((p) => (p.body as any).thread_ts === undefined)).toBe(true);
    const items = await world.items();
    const threads = items.filter((i) => String(i.pk).startsWith("THREAD#"));
    expect(threads.filter((i) => String(i.pk).includes(failed.executionId))).toEqual([]);
  });

  it("bot mode without a thread store (reminders, older callers): one message each, as before", async () => {
    const config = {
      type: "slack",
      mode: "bot",
      channel: CHANNEL_ID,
      apiUrl: world.standins.receivers.slackApiUrl,
    } as SlackConfig;
    const { ctx } = makeContext(config, { botToken: "xoxb-local-test" });
    const { failed, again } = execution();
    await slackDriver.send(failed, ctx);
    await slackDriver.send(again, ctx);
    expect(messages().filter((m) => m.threadTs === undefined)).toHaveLength(2);
  });
});

describe("the Web API stand-in's threads (testing/receivers/slack-api.ts)", () => {
  async function call(method: string, body: Record<string, unknown>): Promise<any> {
    const res = await fetch(`${world.standins.receivers.slackApiUrl}/${method}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer xoxb-t" },
      body: JSON.stringify(body),
    });
    return res.json();
  }

  it("thread_ts must name a message of that channel; a reply's ts joins its parent's thread", async () => {
    const parent = await call("chat.postMessage", { channel: "C1", text: "parent" });
    const reply = await call("chat.postMessage", {
      channel: "C1",
      text: "r",
      thread_ts: parent.ts,
    });
    const viaReply = await call("chat.postMessage", {
      channel: "C1",
      text: "r2",
      thread_ts: reply.ts,
    });
    const elsewhere = await call("chat.postMessage", {
      channel: "C2",
      text: "x",
      thread_ts: parent.ts,
    });

    expect(reply.message.thread_ts).toBe(parent.ts);
    expect(viaReply.message.thread_ts).toBe(parent.ts);
    expect(elsewhere).toEqual({ ok: false, error: "message_not_found" });
    // conversations.history lists parents only (replies: conversations.replies).
    const history = await call("conversations.history", { channel: "C1" });
    expect(history.messages.map((m: any) => m.ts)).toEqual([parent.ts]);
  });

  it("chat.update needs the channel and the ts of an existing message (message_not_found)", async () => {
    const posted = await call("chat.postMessage", { channel: "C1", text: "v1" });
    expect(await call("chat.update", { channel: "C1", ts: "1.000000", text: "v2" })).toEqual({
      ok: false,
      error: "message_not_found",
    });
    expect(await call("chat.update", { channel: "C2", ts: posted.ts, text: "v2" })).toEqual({
      ok: false,
      error: "message_not_found",
    });
    expect(await call("chat.update", { ts: posted.ts, text: "v2" })).toEqual({
      ok: false,
      error: "channel_not_found",
    });
    expect(await call("chat.update", { channel: "C1", ts: posted.ts, text: "v2" })).toMatchObject({
      ok: true,
      ts: posted.ts,
    });
  });
});
