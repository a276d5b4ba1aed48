/**
 * The sandbox's HTTP API on a real port: PutEvents-shaped and plain events are routed by the
 * rule, deliveries and the audit trail are readable, faults switch per receiver, and the
 * approval endpoint verifies Slack signatures exactly like the deployed function URL.
 */
import { computeSlackSignature } from "../../handlers/approval/signature";
import { startSandbox, type Sandbox } from "../../sandbox/sandbox";

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox({ stack: "prod", port: 0 });
}, 90_000);

afterAll(async () => {
  await sandbox?.close();
});

async function api<T>(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const res = await fetch(`${sandbox.url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as T };
}

const failedDetail = (executionId: string) =>
  JSON.stringify({
    pipeline: "api-gateway-prod-cluster",
    "execution-id": executionId,
    state: "FAILED",
    version: 1,
  });

describe("sandbox HTTP API", () => {
  test("GET /api/sandbox names the stack, the signing secret and the approvers", async () => {
    const { json } = await api<{
      stack: string;
      signingSecret: string;
      approvers: Record<string, string[]>;
    }>("GET", "/api/sandbox");
    expect(json.stack).toBe("prod");
    expect(json.signingSecret).toMatch(/^[0-9a-f]{32}$/);
    expect(json.approvers).toEqual({ "main-app-production-v3": ["U012ABCDEF", "U034GHIJKL"] });
  });

  test("POST /events with PutEvents Entries is routed to every channel of the tier", async () => {
    // Prepare
    const entries = {
      Entries: [
        {
          Source: "aws.codepipeline",
          DetailType: "CodePipeline Pipeline Execution State Change",
          Detail: failedDetail("11111111-aaaa-4bbb-8ccc-000000000001"),
        },
      ],
    };

    // Act
    const posted = await api<{ events: Array<{ matched: boolean }> }>("POST", "/events", entries);
    await sandbox.settle();
    const deliveries = await api<Record<string, Array<{ channel: string }>>>(
      "GET",
      "/api/deliveries",
    );
    const audit = await api<Array<{ action: string; channel?: string; executionId?: string }>>(
      "GET",
      "/api/audit",
    );

    // Assess
    expect(posted.json.events[0].matched).toBe(true);
    expect(deliveries.json.slack.map((d) => d.channel)).toContain("slack-eng");
    expect(deliveries.json.pagerduty.map((d) => d.channel)).toContain("pagerduty-oncall");
    expect(deliveries.json.sns.map((d) => d.channel)).toContain("sms-oncall");
    const sent = audit.json.filter(
      (a) => a.executionId === "11111111-aaaa-4bbb-8ccc-000000000001" && a.action === "sent",
    );
    expect(sent.map((a) => a.channel).sort()).toEqual([
      "pagerduty-oncall",
      "slack-eng",
      "sms-oncall",
    ]);
  });

  test("an event the rule does not match is dropped before the queue", async () => {
    const event = {
      source: "aws.codepipeline",
      "detail-type": "CodePipeline Pipeline Execution State Change",
      time: new Date().toISOString(),
      detail: { pipeline: "someone-elses-pipeline", "execution-id": "x", state: "FAILED" },
    };
    const { json } = await api<{ events: Array<{ matched: boolean; messageId?: string }> }>(
      "POST",
      "/events",
      event,
    );
    expect(json.events[0]).toMatchObject({ matched: false });
    expect(json.events[0].messageId).toBeUndefined();
  });

  test("a PagerDuty fault set through POST /api/faults makes the fan-out retry only PagerDuty", async () => {
    // Prepare
    const before = sandbox.standins.receivers.attemptsOf("pagerduty").length;
    const slackBefore = sandbox.standins.receivers.byReceiver("slack", "slack-eng").length;
    await api("POST", "/api/faults", { receiver: "pagerduty", fault: "500" });

    // Act
    await api("POST", "/events", {
      Entries: [
        {
          Source: "aws.codepipeline",
          DetailType: "CodePipeline Pipeline Execution State Change",
          Detail: failedDetail("11111111-aaaa-4bbb-8ccc-000000000002"),
        },
      ],
    });
    // Clear the fault once PagerDuty has refused the event at least once (however long that takes).
    const faulted = () =>
      sandbox.standins.receivers
        .attemptsOf("pagerduty")
        .slice(before)
        .some((a) => a.outcome === "fault");
    for (let waited = 0; !faulted() && waited < 30_000; waited += 25) {
      await new Promise((r) => setTimeout(r, 25));
    }
    await api("POST", "/api/faults", { receiver: "pagerduty", fault: null });
    await sandbox.settle();

    // Assess: PagerDuty failed then got it; Slack got it once.
    const attempts = sandbox.standins.receivers.attemptsOf("pagerduty").slice(before);
    expect(attempts.some((a) => a.outcome === "fault")).toBe(true);
    expect(attempts.at(-1)?.outcome).toBe("delivered");
    expect(sandbox.standins.receivers.byReceiver("slack", "slack-eng").length - slackBefore).toBe(
      1,
    );
  });

  test("POST /slack/interactions answers an opaque 401 to a wrong signature and 200 to a right one", async () => {
    // Prepare
    const { json: info } = await api<{ signingSecret: string }>("GET", "/api/sandbox");
    const body = new URLSearchParams({
      payload: JSON.stringify({ type: "url_verification_probe" }),
    }).toString();
    const ts = String(Math.floor(Date.now() / 1000));
    const post = (signature: string) =>
      fetch(`${sandbox.url}/slack/interactions`, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "x-slack-request-timestamp": ts,
          "x-slack-signature": signature,
        },
        body,
      });

    // Act
    const forged = await post(computeSlackSignature("not-the-secret", ts, body));
    const signed = await post(computeSlackSignature(info.signingSecret, ts, body));

    // Assess
    expect(forged.status).toBe(401);
    expect(signed.status).toBe(200);
  });
});
