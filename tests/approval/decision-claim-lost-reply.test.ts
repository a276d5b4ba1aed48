/**
 * Red team (issue 12 review, approvals): a decision claim whose PutItem was applied but whose
 * reply was lost. The DynamoDB client retries it (`maxAttempts: 3`, handlers/aws.ts; the SDK
 * retries timeouts and connection resets), and the retry's `attribute_not_exists(pk)` fails
 * against the item the first attempt wrote: the clicker's own claim. Taken for someone else's,
 * the approver would be told the request is already being decided and the work would never
 * start (the claim then holds the request until a later click takes it over). The lost reply is
 * modelled at the client: ConditionalCheckFailedException carrying the item just written
 * (ReturnValuesOnConditionCheckFailure ALL_OLD; API reference, PutItem).
 */
import { marshall } from "@aws-sdk/util-dynamodb";
import { ddb } from "../../handlers/aws";
import type { ApprovalClaim } from "../../handlers/approval/types";
import { claimDecision } from "../../handlers/store/approvals";

beforeAll(() => {
  process.env.AUDIT_TABLE ??= "audit-test";
});
afterEach(() => jest.restoreAllMocks());

function conditionFailed(item: Record<string, unknown>): Error {
  const err = new Error("The conditional request failed") as Error & Record<string, unknown>;
  err.name = "ConditionalCheckFailedException";
  err.$fault = "client";
  err.Item = marshall(item, { removeUndefinedValues: true });
  return err;
}

const CLAIM: ApprovalClaim = {
  pipeline: "payments-prod",
  stage: "Approve",
  action: "ManualApproval",
  executionId: "e-1",
  actionExecutionId: "run-1",
  decision: "Approved",
  user: { id: "U012ABCDEF", name: "jane" },
  at: "2026-11-30T11:00:00.123Z",
};

describe("claimDecision when DynamoDB applied the claim but its reply was lost", () => {
  it("wins with its own claim (the retry found the item it wrote itself)", async () => {
    jest.spyOn(ddb(), "send").mockImplementation((async (cmd: any) => {
      throw conditionFailed(cmd.input.Item);
    }) as any);

    await expect(claimDecision(CLAIM, 30)).resolves.toEqual({ won: true });
  });

  it("still loses to another approver's claim", async () => {
    jest.spyOn(ddb(), "send").mockImplementation((async (cmd: any) => {
      throw conditionFailed({
        ...cmd.input.Item,
        user: { id: "U034GHIJKL", name: "bob" },
        at: "2026-11-30T10:59:59.000Z",
      });
    }) as any);

    const result = await claimDecision(CLAIM, 30);
    expect(result.won).toBe(false);
  });
});
