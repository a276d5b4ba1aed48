/**
 * A lost claim costs no read when DynamoDB returns the item that made the condition fail
 * (`ReturnValuesOnConditionCheckFailure: ALL_OLD`, API reference PutItem / UpdateItem: the
 * ConditionalCheckFailedException then carries `Item`, in attribute-value form). A service or
 * stand-in that returns no item still gets the consistent GetItem.
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

  it("falls back to a consistent GetItem when the failure carries no item", async () => {
    const names: string[] = [];
    jest.spyOn(ddb(), "send").mockImplementation((async (cmd: any) => {
      names.push(cmd.constructor.name);
      if (cmd.constructor.name === "GetCommand") {
        expect(cmd.input.ConsistentRead).toBe(true);
        return { Item: { pk: "OUTCOME#p#e", sk: "FAILED", notificationId: "n-1" } };
      }
      throw conditionFailed();
    }) as any);

    const result = await claimOrRead(WRITE);

    expect(result).toEqual({
      claimed: false,
      existing: { pk: "OUTCOME#p#e", sk: "FAILED", notificationId: "n-1" },
    });
    expect(names).toEqual(["PutCommand", "GetCommand"]);
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
