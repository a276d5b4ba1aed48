/**
 * A claim whose release DynamoDB throttles (ProvisionedThroughputExceededException on every
 * attempt the SDK makes: maxAttempts 3, handlers/aws.ts; REFERENCE.md, DynamoDB: "the SDK
 * retries them a few times, then throws"). CodePipeline fails transiently, so the work releases
 * the claim and tells the clicker that nothing was decided. What they are told must be true: the
 * release is retried until the work's deadline, and when it still fails they learn how long the
 * claim holds the request, the audit says "claim not released", and a Rejected claim left
 * `claimed` is not reported by the fan-out as a rejection once its lease is over
 * (store/approvals.ts `slackRejection`).
 */
import { CLAIM_MARGIN_MS } from "../../handlers/approval/decision";
import { slackRejection } from "../../handlers/store/decision-reads";
import {
  APPROVER_1,
  APPROVER_2,
  auditItems,
  claimOf,
  clickAs,
  config,
  cpCalls,
  PIPELINE,
  pendingApproval,
  postsTo,
  throttleDynamo,
  useHarness,
  workWithRemainingTime,
  type Harness,
} from "./harness";

let h: Harness;
useHarness((x) => (h = x));
afterEach(() => jest.restoreAllMocks());

/** CodePipeline fails the run's lookup (a 500): the work decides nothing and releases the claim. */
function codePipelineDown(): void {
  h.all.aws.faults.codepipeline = {
    code: "InternalServiceError",
    status: 500,
    operation: "GetPipelineState",
  };
}

/** The text of every post to one response_url, joined. */
function toldAt(responseId: string): string {
  return postsTo(h, responseId)
    .map((p) => String(p.text))
    .join("\n");
}

/** The results of the audit records of one execution with `action`. */
async function auditResults(executionId: string, action: string): Promise<string[]> {
  const items = await auditItems(h, executionId);
  return items.filter((a) => a.action === action).map((a) => String(a.result));
}

describe("a release DynamoDB throttles through all of the SDK's attempts", () => {
  it("is retried: the clicker told 'nothing was decided, please try again' can try again at once", async () => {
    const { executionId } = pendingApproval(h);
    codePipelineDown();
    const throttled = throttleDynamo(h, "DeleteItem", ["APPROVAL#"], 3);
    const first = await clickAs(h, { user: APPROVER_1, executionId });
    await h.all.aws.idle();

    expect(throttled["APPROVAL#"]).toBe(3);
    expect(toldAt(first.responseId)).toContain("nothing was decided. Please try again.");
    expect(await auditResults(executionId, "approval-error")).toEqual([
      "CodePipeline error InternalServiceError; claim released",
    ]);
    expect(await claimOf(h, executionId)).toBeUndefined();

    // CodePipeline is back; another approver does what the first was told.
    h.all.aws.faults.codepipeline = null;
    const retry = await clickAs(h, { user: APPROVER_2, executionId });
    await h.all.aws.idle();
    expect(toldAt(retry.responseId)).not.toContain("Already being approved");
    expect(cpCalls(h, "PutApprovalResult")).toHaveLength(1);
    expect(await claimOf(h, executionId)).toMatchObject({
      status: "decided",
      decision: "Approved",
    });
  });

  it("is retried for a Rejected claim too: no claim is left that the fan-out could take for a rejection", async () => {
    const { executionId } = pendingApproval(h);
    codePipelineDown();
    throttleDynamo(h, "DeleteItem", ["APPROVAL#"], 3);
    await clickAs(h, { user: APPROVER_1, executionId, actionId: "deploy-notifier.reject" });
    await h.all.aws.idle();

    expect(cpCalls(h, "PutApprovalResult")).toHaveLength(0);
    expect(await auditResults(executionId, "approval-error")).toEqual([
      "CodePipeline error InternalServiceError; claim released",
    ]);
    expect(await claimOf(h, executionId)).toBeUndefined();
    expect(await slackRejection(PIPELINE, executionId)).toBeUndefined();
  });
});

describe("a release DynamoDB refuses until the work's deadline", () => {
  it("tells the clicker in how many seconds to try again and audits 'claim not released'", async () => {
    const { executionId } = pendingApproval(h);
    codePipelineDown();
    // 8 s left in the work: the release is retried for ~2 s (6 s kept for the post and the audit).
    const restore = workWithRemainingTime(h, 8000);
    try {
      throttleDynamo(h, "DeleteItem", ["APPROVAL#"], Infinity);
      const clickedAt = Date.now();
      const first = await clickAs(h, { user: APPROVER_1, executionId });
      await h.all.aws.idle();

      const claim = await claimOf(h, executionId);
      expect(claim).toMatchObject({ status: "claimed", user: { id: APPROVER_1.id } });
      const staleAt =
        Date.parse(String(claim?.at)) + config.workTimeoutSeconds! * 1000 + CLAIM_MARGIN_MS;
      const told = toldAt(first.responseId);
      expect(told).toContain("nothing was decided");
      expect(told).not.toContain("Please try again.");
      const seconds = Number(/please try again in (\d+) s\./.exec(told)?.[1]);
      // The wait it names ends when the claim goes stale (lease.ts retryText: rounded up to the
      // second from when the text was made, which is after the click and before the post arrived),
      // bounded by those two instants, not by how long this machine took.
      const postedAt = h.all.receivers
        .byReceiver("slack-response", first.responseId)
        .find((d) => String((d.body as { text?: unknown }).text).includes("please try again in"))!
        .at.getTime();
      expect(seconds * 1000).toBeGreaterThanOrEqual(staleAt - postedAt);
      expect(seconds * 1000).toBeLessThan(staleAt - clickedAt + 1000);
      expect(told).toContain("ProvisionedThroughputExceededException");
      expect(await auditResults(executionId, "approval-error")).toEqual([
        "CodePipeline error InternalServiceError; claim not released: ProvisionedThroughputExceededException",
      ]);
      expect(cpCalls(h, "PutApprovalResult")).toHaveLength(0);

      // Another approver meanwhile is refused, and told from when the request can be decided
      // (the claim's lease end, rounded up to the minute the message shows).
      const other = await clickAs(h, { user: APPROVER_2, executionId });
      const minute = new Date(Math.ceil(staleAt / 60_000) * 60_000);
      const when = `${minute.toISOString().slice(0, 16).replace("T", " ")} UTC`;
      expect(toldAt(other.responseId)).toContain(`Already being approved by <@${APPROVER_1.id}>`);
      expect(toldAt(other.responseId)).toContain(
        `If it has not by <!date^${minute.getTime() / 1000}^{date_num} {time}|${when}>, you can decide then.`,
      );
    } finally {
      restore();
    }
  });

  it("leaves a Rejected claim the fan-out reports as a rejection only while its work may still be deciding it", async () => {
    const { executionId } = pendingApproval(h);
    codePipelineDown();
    const restore = workWithRemainingTime(h, 7000);
    try {
      throttleDynamo(h, "DeleteItem", ["APPROVAL#"], Infinity);
      await clickAs(h, { user: APPROVER_1, executionId, actionId: "deploy-notifier.reject" });
      await h.all.aws.idle();
    } finally {
      restore();
    }
    const claim = await claimOf(h, executionId);
    expect(claim).toMatchObject({ status: "claimed", decision: "Rejected" });
    const leaseEnd = Date.parse(String(claim?.leaseUntil));
    expect(leaseEnd).toBe(
      Date.parse(String(claim?.at)) + config.workTimeoutSeconds! * 1000 + CLAIM_MARGIN_MS,
    );
    // While the work may still be running, the stage's FAILED can be its rejection arriving
    // before the claim settles; after the lease nothing says anything was rejected.
    const now = jest.spyOn(Date, "now").mockReturnValue(leaseEnd - 1000);
    expect(await slackRejection(PIPELINE, executionId)).toMatchObject({
      by: `${APPROVER_1.name} (${APPROVER_1.id})`,
    });
    now.mockReturnValue(leaseEnd + 1);
    expect(await slackRejection(PIPELINE, executionId)).toBeUndefined();
  });
});
