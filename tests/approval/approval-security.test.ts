import urlVerification from "../events/slack/url-verification.json";
import type { ApprovalResponse as FunctionUrlResponse } from "../../handlers/approval";
import {
  APPROVER_1,
  OUTSIDER,
  SIGNING_SECRET,
  auditItems,
  captureLogs,
  claimOf,
  clickPayload,
  formBody,
  pendingApproval,
  postsTo,
  resetHarness,
  responseUrl,
  signedEvent,
  startHarness,
  type Harness,
} from "./harness";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.all.close();
});
beforeEach(() => resetHarness(h));

/** Asserts that a request changed nothing anywhere: no AWS call, no Slack post, no claim. */
async function assertNothingHappened(executionId: string): Promise<void> {
  await h.all.aws.idle();
  expect(h.all.aws.state.codepipeline.calls).toEqual([]);
  expect(h.all.aws.state.lambda.invocations).toEqual([]);
  expect(h.all.receivers.attempts).toEqual([]);
  expect(await claimOf(h, executionId)).toBeUndefined();
  expect(await auditItems(h, executionId)).toEqual([]);
}

describe("unverified requests", () => {
  const now = () => Math.floor(Date.now() / 1000);
  const cases: [string, (body: string) => ReturnType<typeof signedEvent>][] = [
    [
      "a forged signature (wrong secret)",
      (body) => signedEvent(body, { secret: "not-the-secret" }),
    ],
    [
      "a tampered body",
      (body) => ({ ...signedEvent(body), body: body.replace("U0APPROVER1", "U0APPROVER2") }),
    ],
    ["a stale timestamp (301 s old)", (body) => signedEvent(body, { timestamp: now() - 301 })],
    ["a future timestamp (301 s ahead)", (body) => signedEvent(body, { timestamp: now() + 301 })],
    [
      "a missing signature header",
      (body) => signedEvent(body, { headers: { "x-slack-signature": undefined } }),
    ],
    [
      "a missing timestamp header",
      (body) => signedEvent(body, { headers: { "x-slack-request-timestamp": undefined } }),
    ],
    [
      "a wrong version prefix",
      (body) => {
        const event = signedEvent(body);
        const sig = String(event.headers?.["x-slack-signature"]);
        return {
          ...event,
          headers: { ...event.headers, "x-slack-signature": sig.replace("v0=", "v1=") },
        };
      },
    ],
    [
      "a non-numeric timestamp",
      (body) => signedEvent(body, { headers: { "x-slack-request-timestamp": "soon" } }),
    ],
  ];

  it.each(cases)("%s → opaque 401, nothing else happens", async (_name, forge) => {
    // Prepare
    const { executionId } = pendingApproval(h);
    const { url } = responseUrl(h);
    const body = formBody(clickPayload({ user: APPROVER_1, executionId, responseUrl: url }));
    // Act
    const res = (await h.handler(forge(body))) as FunctionUrlResponse;
    // Assess
    expect(res).toEqual({
      statusCode: 401,
      headers: { "content-type": "text/plain" },
      body: "unauthorized",
    });
    await assertNothingHappened(executionId);
  });

  it("a replay of a used request → 401, and only the first one acts", async () => {
    // Prepare
    const { executionId } = pendingApproval(h);
    const { url } = responseUrl(h);
    const event = signedEvent(
      formBody(clickPayload({ user: APPROVER_1, executionId, responseUrl: url })),
    );
    // Act
    const first = (await h.handler(event)) as FunctionUrlResponse;
    const replay = (await h.handler(structuredClone(event))) as FunctionUrlResponse;
    await h.all.aws.idle();
    // Assess
    expect(first.statusCode).toBe(200);
    expect(replay).toMatchObject({ statusCode: 401, body: "unauthorized" });
    expect(h.all.aws.state.lambda.invocations).toHaveLength(1);
    expect(
      h.all.aws.state.codepipeline.calls.filter((c) => c.operation === "PutApprovalResult"),
    ).toHaveLength(1);
  });

  it("logs the reason of a rejection without the secret or the signature", async () => {
    // Prepare
    const { lines, restore } = captureLogs();
    const { executionId } = pendingApproval(h);
    const event = signedEvent(
      formBody(clickPayload({ user: APPROVER_1, executionId, responseUrl: "http://x" })),
    );
    const tampered = { ...event, body: `${event.body}x` };
    // Act
    await h.handler(tampered);
    restore();
    // Assess
    const output = lines.join("\n");
    expect(output).toContain("signature mismatch");
    expect(output).not.toContain(SIGNING_SECRET);
    expect(output).not.toContain(String(event.headers?.["x-slack-signature"]).slice(3));
  });
});

describe("verified requests that decide nothing", () => {
  it("answers url_verification with the challenge, and a replay of it with 401", async () => {
    // Prepare
    const event = signedEvent(JSON.stringify(urlVerification), { contentType: "application/json" });
    // Act
    const res = (await h.handler(event)) as FunctionUrlResponse;
    const replay = (await h.handler(event)) as FunctionUrlResponse;
    // Assess
    expect(res).toMatchObject({ statusCode: 200, body: urlVerification.challenge });
    expect(replay.statusCode).toBe(401);
  });

  it("does not answer an unsigned url_verification", async () => {
    const event = signedEvent(JSON.stringify(urlVerification), { secret: "wrong" });
    const res = (await h.handler(event)) as FunctionUrlResponse;
    expect(res).toMatchObject({ statusCode: 401, body: "unauthorized" });
  });

  it("answers ssl_check with an empty 200", async () => {
    const res = (await h.handler(signedEvent("ssl_check=1&token=abc"))) as FunctionUrlResponse;
    expect(res).toMatchObject({ statusCode: 200, body: "" });
  });

  it("accepts a base64-encoded body (verifying the decoded bytes)", async () => {
    // A different body from the ssl_check test: the same body in the same second is a replay.
    const event = signedEvent("ssl_check=1&token=base64", { base64: true });
    const res = (await h.handler(event)) as FunctionUrlResponse;
    expect(res).toMatchObject({ statusCode: 200, body: "" });
  });

  it("ignores foreign buttons (audited), invoking nothing", async () => {
    // Prepare
    const { executionId } = pendingApproval(h);
    const { id, url } = responseUrl(h);
    const payload = clickPayload({
      user: APPROVER_1,
      executionId,
      responseUrl: url,
      actionId: "other.button",
    });
    // Act
    const res = (await h.handler(signedEvent(formBody(payload)))) as FunctionUrlResponse;
    await h.all.aws.idle();
    // Assess
    expect(res).toMatchObject({ statusCode: 200, body: "" });
    expect(h.all.aws.state.lambda.invocations).toEqual([]);
    expect(postsTo(h, id)).toEqual([]);
    expect(await auditItems(h, executionId)).toEqual([
      expect.objectContaining({
        action: "ignored",
        result: "unknown action id",
        actor: "Jane Doe (U0APPROVER1)",
      }),
    ]);
  });
});

describe("authorization", () => {
  it("tells a user who is not an approver, audits the denial, and decides nothing", async () => {
    // Prepare
    const { executionId } = pendingApproval(h);
    const { id, url } = responseUrl(h);
    const payload = clickPayload({ user: OUTSIDER, executionId, responseUrl: url });
    // Act
    const res = (await h.handler(signedEvent(formBody(payload)))) as FunctionUrlResponse;
    await h.all.aws.idle();
    // Assess
    expect(res.statusCode).toBe(200);
    expect(postsTo(h, id)).toEqual([
      {
        response_type: "ephemeral",
        replace_original: false,
        text: "You are not an approver for payments-prod.",
      },
    ]);
    expect(h.all.aws.state.codepipeline.calls).toEqual([]);
    expect(h.all.aws.state.lambda.invocations).toEqual([]);
    expect(await claimOf(h, executionId)).toBeUndefined();
    expect(await auditItems(h, executionId)).toEqual([
      expect.objectContaining({
        action: "approval-denied",
        pipeline: "payments-prod",
        executionId,
        actor: "Mallory (U0OUTSIDER)",
        result: "not an approver",
        detail: expect.objectContaining({
          stage: "Approve",
          action: "ManualApproval",
          decision: "Approved",
        }),
      }),
    ]);
  });

  it.each([
    ["a pipeline not in config", "search-prod"],
    ["a configured pipeline without approvals", "payments-staging"],
  ])("refuses %s", async (_name, pipeline) => {
    // Prepare
    const { executionId } = pendingApproval(h);
    const { id, url } = responseUrl(h);
    const payload = clickPayload({ user: APPROVER_1, executionId, responseUrl: url, pipeline });
    // Act
    const res = (await h.handler(signedEvent(formBody(payload)))) as FunctionUrlResponse;
    await h.all.aws.idle();
    // Assess
    expect(res.statusCode).toBe(200);
    expect(postsTo(h, id)).toEqual([
      {
        response_type: "ephemeral",
        replace_original: false,
        text: `${pipeline} is not configured for Slack approvals.`,
      },
    ]);
    expect(h.all.aws.state.codepipeline.calls).toEqual([]);
    expect(await auditItems(h, executionId, pipeline)).toEqual([
      expect.objectContaining({ action: "approval-denied", result: "not configured" }),
    ]);
  });
});
