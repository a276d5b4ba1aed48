/**
 * A refused reservation says why (issue 12, fewer calls): every pacing UpdateItem asks for
 * `ReturnValuesOnConditionCheckFailure: ALL_OLD` (DynamoDB API reference, UpdateItem: "Use
 * ReturnValuesOnConditionCheckFailure to get the item attributes if the UpdateItem condition
 * fails … valid values are: NONE and ALL_OLD"; the SDK's ConditionalCheckFailedException carries
 * them as `Item`, in attribute-value form). dynalite does not implement the parameter, so this
 * test answers the calls itself, as DynamoDB documents them.
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import * as aws from "../../handlers/aws";
import { paceDelivery } from "../../handlers/fanout/pace";
import { forgetPaceMemo, reserveSlot, windowAttribute } from "../../handlers/store/pacing";

const T0 = 1_800_000_000_000;
const bucket = { intervalMs: 100, burst: 2 };
const allowance = { windowStart: T0 - (T0 % 60_000), windowMs: 60_000, max: 3 };

type Answer = { refusedWith: Record<string, unknown> } | { old: object } | { throttled: true };

/** Answers each UpdateItem with the next of `answers` (an item for a refusal, or Attributes). */
function answering(answers: Answer[]) {
  const sent: string[] = [];
  jest.spyOn(aws, "ddb").mockReturnValue({
    send: async (cmd: { input: { UpdateExpression: string } }) => {
      sent.push(cmd.input.UpdateExpression);
      const next = answers.shift();
      if (!next) throw new Error("unexpected call");
      if ("throttled" in next) {
        // DynamoDB's throttling error (HTTP 400, retryable), as the SDK throws it once its own
        // retries are spent (developer guide, "Error handling with DynamoDB").
        throw Object.assign(new Error("Rate of requests exceeds the allowed throughput."), {
          name: "ThrottlingException",
        });
      }
      if ("refusedWith" in next) {
        throw Object.assign(
          new ConditionalCheckFailedException({
            message: "The conditional request failed",
            $metadata: {},
          }),
          { Item: marshall(next.refusedWith) },
        );
      }
      return { Attributes: next.old };
    },
  } as unknown as ReturnType<typeof aws.ddb>);
  return sent;
}

const saved = process.env.AUDIT_TABLE;
beforeAll(() => {
  process.env.AUDIT_TABLE = "pacing-refusal-test";
});
afterAll(() => {
  if (saved === undefined) delete process.env.AUDIT_TABLE;
  else process.env.AUDIT_TABLE = saved;
});
// Each test answers the pace item anew: what an earlier one taught the container is forgotten.
afterEach(() => {
  jest.restoreAllMocks();
  forgetPaceMemo();
});

describe("a refused pacing call that returns the item", () => {
  it("groups after ONE call when the window's count is at its maximum (no second, refused call)", async () => {
    const sent = answering([
      {
        refusedWith: {
          pk: "PACE#s",
          sk: "PACE",
          tat: T0 + 500,
          [windowAttribute(allowance.windowStart)]: 3,
        },
      },
    ]);
    const slot = await reserveSlot("s", bucket, () => T0, allowance, T0 + 1);
    expect(slot).toEqual({ at: T0, calls: 1, grouped: true });
    expect(sent).toHaveLength(1);
    // …and the invocation's later notifications of that window cost no call at all.
    expect(await reserveSlot("s", bucket, () => T0, allowance, T0 + 1)).toEqual({
      at: T0,
      calls: 0,
      grouped: true,
    });
  });

  it("goes on with the busy form when the idle one was refused by a later `tat`, and the slot follows the GCRA", async () => {
    const sent = answering([
      { refusedWith: { pk: "PACE#s", sk: "PACE", tat: T0 + 300 } },
      { old: { pk: "PACE#s", sk: "PACE", tat: T0 + 300 } },
    ]);
    const slot = await reserveSlot("s", bucket, () => T0, undefined, T0 + 2);
    // τ = T·(burst − 1) = 100: the slot is tat_old − τ = T0 + 200.
    expect(slot).toEqual({ at: T0 + 200, calls: 2 });
    expect(sent[0]).toMatch(/SET tat = :next/);
    expect(sent[1]).toMatch(/SET tat = tat \+ :T/);
  });
});

describe("a throttled pacing call (issue 12: DynamoDB throttling alone never fails a delivery)", () => {
  it("is tried again within the deadline, and the delivery goes", async () => {
    const sent = answering([{ throttled: true }, { old: {} }]);
    const decision = await paceDelivery("slack-t", "slack", Date.now() + 60_000);
    expect(decision).toEqual({ kind: "send", waitMs: 0 });
    expect(sent).toHaveLength(2);
  });

  it("is thrown once the deadline leaves no room for another try (the claim is then released)", async () => {
    answering([{ throttled: true }, { throttled: true }]);
    await expect(paceDelivery("slack-u", "slack", Date.now() + 1)).rejects.toThrow(
      /allowed throughput/,
    );
  });
});
