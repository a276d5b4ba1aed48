/**
 * Slack's acknowledgement budget: Slack waits 3 s for the answer to a click, then shows the user
 * an error (REFERENCE.md, Slack interactivity: "acknowledge within 3 seconds"). The click path's
 * DynamoDB writes (replay guard REPLAY#, decision claim APPROVAL#) are bounded by the click's
 * budget (handlers/approval/budget.ts) and retry throttling with short backoff; its
 * "approval-click" audit record is written by the asynchronous work, never lost.
 */
import {
  APPROVER_1,
  auditItems,
  claimOf,
  clickAs,
  clickPayload,
  cpCalls,
  formBody,
  pendingApproval,
  postsTo,
  responseUrl,
  signedEvent,
  throttleDynamo,
  useHarness,
  type Harness,
} from "./harness";

/** Slack's limit, ms. */
const SLACK_ACK_MS = 3000;

let h: Harness;
useHarness((x) => (h = x));
afterEach(() => jest.restoreAllMocks());

/** Clicks Approve on a fresh request; resolves with what the click needs and its answer's time. */
async function timedClick(): Promise<{
  executionId: string;
  responseId: string;
  ms: number;
  status: number;
}> {
  const { executionId } = pendingApproval(h);
  const t0 = Date.now();
  const { res, responseId } = await clickAs(h, { user: APPROVER_1, executionId });
  return { executionId, responseId, ms: Date.now() - t0, status: res.statusCode };
}

it("answers within Slack's 3 s while DynamoDB throttles each write twice; the click is decided and audited", async () => {
  // A first click loads the handler's SDK clients and modules (about half of a cold click's time
  // here); the cold path's budget is the third test's subject, this one's is throttling.
  await timedClick();
  await h.all.aws.idle();
  const warm = cpCalls(h, "PutApprovalResult").length;
  const clicks = [];
  for (let i = 0; i < 3; i++) {
    throttleDynamo(h, "PutItem", ["REPLAY#", "APPROVAL#", "approval-click"], 2);
    const click = await timedClick();
    await h.all.aws.idle();
    jest.restoreAllMocks();
    clicks.push(click);
  }
  expect(Math.max(...clicks.map((c) => c.ms))).toBeLessThan(SLACK_ACK_MS);
  // What each clicker was told first: a failure then says which path the click took.
  for (const click of clicks) {
    expect(postsTo(h, click.responseId).map((p) => p.text)).toEqual([
      expect.stringMatching(/^Approval needed: .*\n✅ Approved by <@U0APPROVER1> at /),
    ]);
  }
  expect(cpCalls(h, "PutApprovalResult")).toHaveLength(warm + 3);
  for (const click of clicks) {
    expect(click.status).toBe(200);
    expect(await claimOf(h, click.executionId)).toMatchObject({ status: "decided" });
    const audit = await auditItems(h, click.executionId);
    expect(audit.filter((a) => a.action === "approval-click").map((a) => a.result)).toEqual([
      "claimed",
    ]);
    expect(audit.map((a) => a.action)).toContain("approval-decided");
  }
});

it.each([
  ["the decision claim (APPROVAL#)", "APPROVAL#"],
  ["the replay guard (REPLAY#)", "REPLAY#"],
])(
  "answers in time, honestly and deciding nothing, when DynamoDB does not accept %s within the budget",
  async (_name, marker) => {
    throttleDynamo(h, "PutItem", [marker], Infinity);
    const click = await timedClick();
    await h.all.aws.idle();

    expect(click.ms).toBeLessThan(SLACK_ACK_MS);
    expect(click.status).toBe(200);
    expect(postsTo(h, click.responseId).map((p) => p.text)).toEqual([
      "⚠️ Could not record your click in time (the decision store was too slow to answer); " +
        "nothing was decided. Please try again.",
    ]);
    expect(await claimOf(h, click.executionId)).toBeUndefined();
    expect(cpCalls(h, "PutApprovalResult")).toHaveLength(0);
    const audit = await auditItems(h, click.executionId);
    expect(audit.map((a) => [a.action, a.result])).toEqual([
      [
        "approval-error",
        "click not recorded in time (ProvisionedThroughputExceededException); nothing was decided",
      ],
    ]);
  },
);

it("counts the time before the handler ran (a cold start) against Slack's 3 s: the budget starts at the function URL's receipt", async () => {
  // Prepare: the function URL received the click 2 s before the handler ran (its
  // requestContext.timeEpoch, epoch ms; Lambda, "Invoking Lambda function URLs", request payload),
  // and DynamoDB refuses the claim until the budget runs out.
  const COLD_START_MS = 2000;
  throttleDynamo(h, "PutItem", ["APPROVAL#"], Infinity);
  const { executionId } = pendingApproval(h);
  const { id, url } = responseUrl(h);
  const event = signedEvent(
    formBody(clickPayload({ user: APPROVER_1, executionId, responseUrl: url })),
  );
  event.requestContext.timeEpoch = Date.now() - COLD_START_MS;

  // Act
  const t0 = Date.now();
  const res = (await h.handler(event)) as { statusCode: number };
  const sinceReceipt = COLD_START_MS + (Date.now() - t0);
  await h.all.aws.idle();

  // Assess: answered within Slack's 3 s of the receipt, honestly, nothing decided.
  expect(sinceReceipt).toBeLessThan(SLACK_ACK_MS);
  expect(res.statusCode).toBe(200);
  expect(postsTo(h, id).map((p) => p.text)).toEqual([
    expect.stringMatching(/^⚠️ Could not record your click in time .*nothing was decided/),
  ]);
  expect(cpCalls(h, "PutApprovalResult")).toHaveLength(0);
});
