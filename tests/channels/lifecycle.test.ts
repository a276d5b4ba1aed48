/**
 * What every medium says about CodePipeline's lifecycle (issue 10): a retried stage that fails
 * again, an approval that expired, a rollback, and what the execution mode did to a superseded
 * or stopped execution. The right values come from AWS's documentation, cited per test.
 */
import { parseApprovalButtonValue } from "../../handlers/contracts/slack-approval";
import { formatDiscord } from "../../handlers/channels/discord";
import { formatEmail } from "../../handlers/channels/email";
import { formatPagerDuty, pagerdutyDedupKey } from "../../handlers/channels/pagerduty";
import { formatSlack } from "../../handlers/channels/slack-format";
import { formatSms } from "../../handlers/channels/sms";
import { formatTeams } from "../../handlers/channels/teams";
import { headline } from "../../handlers/channels/common";
import type { Notification } from "../../handlers/types";
import { fixture } from "./helpers";

/** Every text a person reads, per medium (JSON of the payload is enough to search). */
function everyMedium(n: Notification): Record<string, string> {
  return {
    slack: JSON.stringify(formatSlack(n, { type: "slack", mode: "webhook" })),
    teams: JSON.stringify(formatTeams(n)),
    discord: JSON.stringify(formatDiscord(n, { type: "discord" })),
    email: JSON.stringify(formatEmail(n)),
    sms: formatSms(n).message,
  };
}

describe("a retried stage that fails again (pipeline-execution-attempt 2)", () => {
  // RetryStageExecution keeps the execution id and raises `pipeline-execution-attempt`
  // (user guide, "Monitoring CodePipeline events"; API reference, RetryStageExecution).
  const retry = fixture("failure-retry");

  it("says 'failed again (attempt 2)' on every medium", () => {
    expect(headline(retry)).toBe(
      "main-app-production-v3 failed again (attempt 2) at Build/UnitTests",
    );
    for (const [medium, text] of Object.entries(everyMedium(retry))) {
      // Teams escapes the parentheses (Markdown: handlers/channels/markdown.ts).
      expect([medium, /failed again \\*\(attempt 2\\*\)/i.test(text)]).toEqual([medium, true]);
    }
    expect(formatSms(retry).message).toMatch(/^FAILED AGAIN \(attempt 2\) main-app-production-v3/);
  });

  it("re-triggers PagerDuty with the SAME dedup_key, saying it is attempt 2", () => {
    // Events API v2: a trigger with the dedup_key of an open incident adds to it; of a resolved
    // one opens a new incident (developer.pagerduty.com, events-api-v2/trigger-events).
    const first = formatPagerDuty({ ...retry, attempt: 1 }, { type: "pagerduty" }) as any;
    const again = formatPagerDuty(retry, { type: "pagerduty" }) as any;
    expect(again.dedup_key).toBe(first.dedup_key);
    expect(again.dedup_key).toBe(`deploy-notifier/main-app-production-v3/${retry.executionId}`);
    expect(again.dedup_key).toBe(pagerdutyDedupKey(retry));
    expect(again.payload.summary).toMatch(/^FAILED AGAIN \(attempt 2\) main-app-production-v3/);
    expect(again.payload.custom_details).toMatchObject({ Attempt: "2" });
    expect(first.payload.summary).toMatch(/^FAILED main-app-production-v3/);
  });

  it("the first attempt reads as before: no 'again'", () => {
    const once = { ...retry, attempt: 1, executionMode: undefined };
    for (const text of Object.values(everyMedium(once))) expect(text).not.toMatch(/again/i);
  });
});

describe("an approval that expired (issue 10, item 3)", () => {
  // No answer within the timeout (7 days by default): a FAILED Approval action with no
  // "Rejected by" summary (user guide, "Manage approval actions"; REFERENCE.md).
  const expired = fixture("approval-expired");

  it("says 'approval expired — no decision in 7 days', never 'rejected' nor 'failed'", () => {
    expect(headline(expired)).toBe(
      "main-app-production-v3: approval expired — no decision in 7 days at Approve/ManualApproval",
    );
    for (const [medium, text] of Object.entries(everyMedium(expired))) {
      expect([medium, /expired/i.test(text)]).toEqual([medium, true]);
      expect([
        medium,
        /reject|fail(ed)?\b/i.test(text.replace(/"state":"FAILED"|FAILED/g, "")),
      ]).toEqual([medium, false]);
    }
  });

  it("takes the days from the action's timeoutInMinutes when known (ActionDeclaration)", () => {
    const short = { ...expired, approval: { approvers: [], timeoutMinutes: 3 * 24 * 60 } };
    expect(headline(short)).toContain("no decision in 3 days");
    expect(headline({ ...expired, approval: { approvers: [], timeoutMinutes: 90 } })).toContain(
      "no decision in 90 minutes",
    );
    expect(headline({ ...expired, approval: { approvers: [], timeoutMinutes: 60 } })).toContain(
      "no decision in 1 hour",
    );
  });

  it("never pages: PagerDuty refuses it", () => {
    expect(() => formatPagerDuty(expired, { type: "pagerduty" })).toThrow(/approval-expired/);
  });

  it("has its own look per medium: hourglass in Slack, warning colors in Teams and Discord", () => {
    const slack = formatSlack(expired, { type: "slack", mode: "webhook" });
    expect(slack.text.startsWith(":hourglass: ")).toBe(true);
    const teams = formatTeams(expired) as any;
    expect(teams.attachments[0].content.body[0].color).toBe("Warning");
    expect(formatDiscord(expired, { type: "discord" }).embeds[0].color).toBe(0xe99a00);
    expect(formatEmail(expired).subject).toBe(
      "[deploy-notifier] APPROVAL EXPIRED main-app-production-v3 Approve/ManualApproval",
    );
  });

  it("escapes hostile text per medium in an expiry too", () => {
    const hostile = {
      ...expired,
      summary: "<!channel> *bold* [x](https://evil.example) @everyone",
    };
    const m = everyMedium(hostile);
    expect(m.slack).not.toContain("<!channel>");
    expect(m.slack).toContain("&lt;!channel&gt;");
    expect(m.teams).toContain("\\\\[x\\\\]\\\\(https://evil.example\\\\)");
    expect(m.discord).toContain("\\\\@everyone");
  });
});

describe("a rollback (pipeline type V2, executionType ROLLBACK)", () => {
  // GetPipelineExecution of a rollback: trigger AutomatedRollback / ManualRollback and
  // rollbackMetadata.rollbackTargetPipelineExecutionId (API reference, ExecutionTrigger,
  // PipelineRollbackMetadata; user guide, "View rollback status details").
  const rolled = fixture("rollback-success");

  it("says 'rolled back to execution …, after … failed' on every medium", () => {
    expect(headline(rolled)).toBe(
      "main-app-production-v3: automatic rollback to execution 4f47bed9, after 3f1c2b7e failed (succeeded)",
    );
    for (const [medium, text] of Object.entries(everyMedium(rolled))) {
      if (medium === "sms") continue; // a success never reaches the on-call phone (plan.ts)
      expect([
        medium,
        text.includes("rollback to execution 4f47bed9-6998-476c-a49d-e60be0000001"),
      ]).toEqual([medium, true]);
      expect([medium, text.includes("after 3f1c2b7e-9a4d-4e2b-8c6f-1d2e3f4a5b6c failed")]).toEqual([
        medium,
        true,
      ]);
    }
  });

  it("a manual rollback says so, and leaves out what CodePipeline did not say", () => {
    const manual = { ...rolled, rollback: { trigger: "ManualRollback" as const } };
    expect(headline(manual)).toBe("main-app-production-v3: manual rollback (succeeded)");
  });

  it("a failed rollback is a failure that says it was the rollback that failed", () => {
    const failed = { ...rolled, kind: "failure" as const, state: "FAILED" };
    expect(headline(failed)).toMatch(
      /automatic rollback to execution 4f47bed9.*the rollback failed/,
    );
    expect((formatPagerDuty(failed, { type: "pagerduty" }) as any).payload.summary).toMatch(
      /^ROLLBACK FAILED main-app-production-v3/,
    );
  });
});

describe("execution modes (PipelineExecution.executionMode: SUPERSEDED | QUEUED | PARALLEL)", () => {
  it("a superseded execution says it was replaced by a newer one", () => {
    // PipelineExecution.status Superseded: "While this pipeline execution was waiting for the
    // next stage to be completed, a newer pipeline execution advanced and continued through the
    // pipeline instead" (API reference, PipelineExecution).
    const n = { ...fixture("superseded"), executionMode: "SUPERSEDED" as const };
    expect(headline(n)).toBe("main-app-production-v3: superseded — replaced by a newer execution");
    const m = everyMedium(n);
    for (const medium of ["slack", "teams", "discord", "email"]) {
      expect([medium, m[medium].includes("a newer execution advanced")]).toEqual([medium, true]);
    }
  });

  it("a stopped execution in QUEUED or PARALLEL mode says what became of the others", () => {
    const stopped = fixture("stopped");
    const queued = everyMedium({ ...stopped, executionMode: "QUEUED" }).slack;
    expect(queued).toContain("QUEUED mode");
    expect(queued).toContain("the next one in the queue runs now");
    const parallel = everyMedium({ ...stopped, executionMode: "PARALLEL" }).email;
    expect(parallel).toContain("PARALLEL mode");
  });

  it("a STOPPING execution is stopping, not stopped: its actions may still run (stop and wait)", () => {
    // userguide pipelines-stop.html: "The execution is in a Stopping state until the in-progress
    // actions are complete. Then the execution is in a Stopped state. The stage unlocks after
    // the actions are complete."
    const stopping = { ...fixture("stopped"), state: "STOPPING", executionMode: "QUEUED" as const };
    expect(headline(stopping)).toBe("main-app-production-v3 stopping");
    const m = everyMedium(stopping);
    for (const medium of ["slack", "teams", "discord", "email"]) {
      const says = (text: string) => m[medium].includes(text);
      expect([medium, says("v3 stopping"), says("v3 stopped")]).toEqual([medium, true, false]);
    }
    expect(m.email).toContain("STOPPING");
    expect(m.email).not.toContain("STOPPED");
    expect(m.slack).toContain("the next one in the queue runs once this one has stopped");
    expect(headline(fixture("stopped"))).toBe("main-app-production-v3 stopped");
  });
});

describe("approval requests carry their run (issue 10, item 2)", () => {
  it("the Slack button value names the action execution id, and parses back", () => {
    const n = fixture("approval-request");
    const message = formatSlack(n, { type: "slack", mode: "webhook" }) as any;
    const actions = message.blocks.find((b: any) => b.type === "actions");
    const values = actions.elements.filter((e: any) => e.value).map((e: any) => e.value);
    expect(values).toHaveLength(2);
    for (const value of values) {
      expect(parseApprovalButtonValue(value)).toEqual({
        pipeline: n.pipeline,
        stage: "Approve",
        action: "ManualApproval",
        executionId: n.executionId,
        actionExecutionId: "6c1f0e2d-3a4b-4c5d-9e6f-7a8b9c0d1e2f",
      });
    }
  });

  it("a request of attempt 2 says so, and buttons without a run id carry none (the attempt they do)", () => {
    const n = { ...fixture("approval-request"), attempt: 2, actionExecutionId: undefined };
    expect(headline(n)).toBe(
      "main-app-production-v3: approval needed at Approve/ManualApproval (attempt 2)",
    );
    const message = formatSlack(n, { type: "slack", mode: "webhook" }) as any;
    const value = message.blocks.find((b: any) => b.type === "actions").elements[0].value;
    expect(JSON.parse(value)).toEqual({
      pipeline: n.pipeline,
      stage: "Approve",
      action: "ManualApproval",
      executionId: n.executionId,
      attempt: 2,
    });
  });
});
