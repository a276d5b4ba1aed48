/**
 * Slack's acknowledgement budget: Slack waits 3 s for the answer to a click, then shows the user
 * an error (REFERENCE.md, Slack interactivity: "acknowledge within 3 seconds"). The click path's
 * DynamoDB writes (replay guard REPLAY#, decision claim APPROVAL#) are bounded by the click's
 * budget (handlers/approval/budget.ts) and retry throttling with short backoff; its
 * "approval-click" audit record is written by the asynchronous work, never lost.
 */
import { ACK_BUDGET_MS, STORE_BUDGET_MS } from "../../handlers/approval/budget";
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

/** Clicks Approve on a fresh request; resolves with what the click needs and its answer. */
async function click(): Promise<{ executionId: string; responseId: string; status: number }> {
  const { executionId } = pendingApproval(h);
  const { res, responseId } = await clickAs(h, { user: APPROVER_1, executionId });
  return { executionId, responseId, status: res.statusCode };
}

/**
 * "In time" is the handler's budget (budget.ts), counted from the function URL's receipt: its
 * DynamoDB calls end by the store budget (aborted), its answer by the answer budget, both inside
 * Slack's 3 s. The tests below observe what the click did within it (decided, or said it could
 * not record the click), never how long this machine took.
 */
it("the click's budgets end inside Slack's 3 s: the store's calls first, then the answer", () => {
  expect(STORE_BUDGET_MS).toBeLessThan(ACK_BUDGET_MS);
  expect(ACK_BUDGET_MS).toBeLessThan(SLACK_ACK_MS);
});

it("decides in time while DynamoDB throttles each write twice: the retries fit in the store budget; audited", async () => {
  // A first click loads the handler's SDK clients and modules (about half of a cold click's
  // time here), so that the clicks below spend their budget on the throttling.
  await click();
  await h.all.aws.idle();
  const warm = cpCalls(h, "PutApprovalResult").length;
  const clicks = [];
  for (let i = 0; i < 3; i++) {
    throttleDynamo(h, "PutItem", ["REPLAY#", "APPROVAL#", "approval-click"], 2);
    clicks.push(await click());
    await h.all.aws.idle();
    jest.restoreAllMocks();
  }
  // What each clicker was told first: decided, not "could not record your click in time" (the
  // store budget ran out) nor "being recorded" (a write's answer did not come in time).
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
    const clicked = await click();
    await h.all.aws.idle();

    expect(clicked.status).toBe(200);
    expect(postsTo(h, clicked.responseId).map((p) => p.text)).toEqual([
      "⚠️ Could not record your click in time (the decision store was too slow to answer); " +
        "nothing was decided. Please try again.",
    ]);
    expect(await claimOf(h, clicked.executionId)).toBeUndefined();
    expect(cpCalls(h, "PutApprovalResult")).toHaveLength(0);
    const audit = await auditItems(h, clicked.executionId);
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
  // past the store budget (1.8 s), and DynamoDB refuses every claim.
  const COLD_START_MS = 2000;
  const refused = throttleDynamo(h, "PutItem", ["APPROVAL#"], Infinity);
  const { executionId } = pendingApproval(h);
  const { id, url } = responseUrl(h);
  const event = signedEvent(
    formBody(clickPayload({ user: APPROVER_1, executionId, responseUrl: url })),
  );
  event.requestContext.timeEpoch = Date.now() - COLD_START_MS;

  // Act
  const res = (await h.handler(event)) as { statusCode: number };
  await h.all.aws.idle();

  // Assess: the store budget was already spent when the handler ran, so the claim got one
  // attempt and no retry (a budget counted from the handler's start retries the throttled claim
  // for 1.8 s); answered honestly, nothing decided.
  expect(refused["APPROVAL#"] ?? 0).toBeLessThanOrEqual(1);
  expect(res.statusCode).toBe(200);
  expect(postsTo(h, id).map((p) => p.text)).toEqual([
    expect.stringMatching(/^⚠️ Could not record your click in time .*nothing was decided/),
  ]);
  expect(cpCalls(h, "PutApprovalResult")).toHaveLength(0);
});
