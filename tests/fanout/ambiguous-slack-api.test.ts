/**
 * Slack's Web API answers HTTP 200 `{ ok: false, error }`; for `internal_error` and `fatal_error`
 * Slack's method reference says "It's possible some aspect of the operation succeeded before the
 * error was raised" (chat.postMessage). So a retried chat.postMessage after either is recorded as
 * a possible duplicate (`ambiguous`), like a lost reply (handlers/http-response.ts
 * `answerMayHideDelivery`). Found by this session's red team: the retry was recorded clean.
 */
import { randomUUID } from "node:crypto";
import {
  addDeployFailure,
  deliveryRecordOf,
  event,
  record,
  startSlackBotWorld,
  type FanoutWorld,
} from "../support/fanout";

function prodFailure(world: FanoutWorld) {
  const executionId = randomUUID();
  addDeployFailure(world.standins.aws, executionId);
  const ev = event("pipeline-failed", { "execution-id": executionId }, { id: randomUUID() });
  return { executionId, ev };
}

describe("Slack bot world (chat.postMessage)", () => {
  let world: FanoutWorld;
  beforeAll(async () => {
    world = await startSlackBotWorld("C0REDTEAM");
  }, 60_000);
  afterAll(() => world.close());
  beforeEach(() => world.standins.receivers.setFault("slack-api", null));

  it.each(["internal_error", "fatal_error"])(
    "chat.postMessage answered 200 {ok:false,error:%s} (Slack: 'It's possible some aspect of the operation succeeded'), then sent: recorded ambiguous",
    async (error) => {
      world.standins.receivers.setFault("slack-api", {
        status: 200,
        body: { ok: false, error },
        times: 1,
      });
      const { executionId, ev } = prodFailure(world);
      await world.invoke([record(ev, "m-1")], 30_000);
      expect(await deliveryRecordOf(world, executionId, "slack-eng")).toMatchObject({
        status: "sent",
        ambiguous: true,
      });
    },
  );
});
