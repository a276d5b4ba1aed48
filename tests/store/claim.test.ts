/**
 * A lost claim costs no read when DynamoDB returns the item that made the condition fail
 * (`ReturnValuesOnConditionCheckFailure: ALL_OLD`, API reference PutItem / UpdateItem: the
 * ConditionalCheckFailedException then carries `Item`, in attribute-value form). A refusal with
 * no `Item` means no item exists under the key (the condition failed on a missing item): nothing
 * to read. The same against the local DynamoDB, which answers the parameter as DynamoDB does:
 * tests/testing/dynamo-return-on-condition.test.ts.
 */
import { ddb } from "../../handlers/aws";
import { claimOrRead } from "../../handlers/store/claim";

afterEach(() => jest.restoreAllMocks());

/** The exception as DynamoDB returns it for a failed condition with ALL_OLD. */
function conditionFailed(item?: Record<string, unknown>): Error {
  const err = new Error("The conditional request failed") as Error & Record<string, unknown>;
  err.name = "ConditionalCheckFailedException";
  err.$fault = "client";
  if (item) err.Item = item;
  return err;
}

const WRITE = {
  kind: "put" as const,
  TableName: "t",
  Item: { pk: "OUTCOME#p#e", sk: "FAILED", notificationId: "n-2" },
  ConditionExpression: "attribute_not_exists(pk) OR notificationId = :id",
  ExpressionAttributeValues: { ":id": "n-2" },
};

describe("claimOrRead", () => {
  it("reads the winner from the failed write itself: one call, no GetItem", async () => {
    const inputs: Array<{ name: string; input: any }> = [];
    jest.spyOn(ddb(), "send").mockImplementation((async (cmd: any) => {
      inputs.push({ name: cmd.constructor.name, input: cmd.input });
      throw conditionFailed({
        pk: { S: "OUTCOME#p#e" },
        sk: { S: "FAILED" },
        notificationId: { S: "n-1" },
      });
    }) as any);

    const result = await claimOrRead(WRITE);

    expect(result).toEqual({
      claimed: false,
      existing: { pk: "OUTCOME#p#e", sk: "FAILED", notificationId: "n-1" },
    });
    expect(inputs.map((i) => i.name)).toEqual(["PutCommand"]);
    expect(inputs[0].input.ReturnValuesOnConditionCheckFailure).toBe("ALL_OLD");
  });

  it("a refusal that carries no item means there is none: no GetItem follows (before round 8 one did)", async () => {
    const names: string[] = [];
    jest.spyOn(ddb(), "send").mockImplementation((async (cmd: any) => {
      names.push(cmd.constructor.name);
      throw conditionFailed();
    }) as any);

    const result = await claimOrRead(WRITE);

    expect(result).toEqual({ claimed: false, existing: undefined });
    expect(names).toEqual(["PutCommand"]);
  });

  it("asks for nothing back when the caller only needs to know it lost (read: false)", async () => {
    const inputs: any[] = [];
    jest.spyOn(ddb(), "send").mockImplementation((async (cmd: any) => {
      inputs.push(cmd.input);
      throw conditionFailed();
    }) as any);

    const result = await claimOrRead(WRITE, { read: false });

    expect(result).toEqual({ claimed: false, existing: undefined });
    expect(inputs).toHaveLength(1);
    expect(inputs[0].ReturnValuesOnConditionCheckFailure).toBeUndefined();
  });
});
