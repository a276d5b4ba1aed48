/**
 * One Slack thread per execution through the whole fan-out (handlers/fanout/deliver.ts gives the
 * Slack driver the thread store): a failure and the later success of one execution on a bot-mode
 * channel become a parent and a reply in its thread, the parent updated to "succeeded"; and the
 * DynamoDB calls this costs per Slack notification, measured on the THREAD# items.
 */
import { randomUUID } from "node:crypto";
import { ddb } from "../../handlers/aws";
import type { SlackApiMessage } from "../../testing/receivers";
import { addDeployFailure, event, startSlackBotWorld, type FanoutWorld } from "../support/fanout";

const CHANNEL_ID = "C0ENGTHREAD";
let world: FanoutWorld;

beforeAll(async () => {
  world = await startSlackBotWorld(CHANNEL_ID, (raw) => {
    const rule = raw.pipelines.find((p: any) => p.name === "main-app-production-v3");
    rule.states = ["FAILED", "SUCCEEDED"];
  });
}, 60_000);
afterAll(() => world.close());
afterEach(() => jest.restoreAllMocks());

function messages(): SlackApiMessage[] {
  return Object.values(world.standins.receivers.slackMessages).filter(
    (m) => m.channel === CHANNEL_ID,
  );
}

it("failure then success of one execution: a parent, a reply, the parent updated; 2 + 2 DynamoDB calls", async () => {
  const executionId = randomUUID();
  addDeployFailure(world.standins.aws, executionId);
  const threadCalls: string[] = [];
  const client = ddb();
  const send = client.send.bind(client);
  jest.spyOn(client, "send").mockImplementation(((cmd: any, ...rest: any[]) => {
    const pk = String(cmd.input?.Key?.pk ?? cmd.input?.Item?.pk ?? "");
    if (pk.startsWith("THREAD#")) threadCalls.push(cmd.constructor.name);
    return (send as any)(cmd, ...rest);
  }) as any);

  const failed = await world.drain([event("pipeline-failed", { "execution-id": executionId })]);
  const afterFailure = threadCalls.splice(0);
  const succeeded = await world.drain([
    event("pipeline-succeeded", { "execution-id": executionId }),
  ]);
  const afterSuccess = threadCalls.splice(0);

  expect([failed, succeeded]).toEqual([[], []]);
  const all = messages();
  expect(all).toHaveLength(2);
  const parent = all.find((m) => m.threadTs === undefined)!;
  const reply = all.find((m) => m.threadTs !== undefined)!;
  expect(reply.threadTs).toBe(parent.ts);
  expect(parent.updates).toBe(1);
  expect(JSON.stringify(parent.blocks)).toContain("main-app-production-v3 succeeded");
  // Extra DynamoDB calls per Slack notification in bot mode (on top of the ledger's).
  expect(afterFailure).toEqual(["PutCommand", "UpdateCommand"]);
  // A reply: the lost claim, then `advance`. DynamoDB returns the winner's item with the failed
  // condition (ReturnValuesOnConditionCheckFailure: ALL_OLD; API reference, PutItem, and the
  // ConditionalCheckFailedException's `Item`), so no GetItem: 2 calls, as in AWS. (This was 3
  // while the local DynamoDB ignored the parameter and claimOrRead fell back to a GetItem;
  // testing/dynamo-return-on-condition.ts now answers it.)
  expect(afterSuccess).toEqual(["PutCommand", "UpdateCommand"]);
});
