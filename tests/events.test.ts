/**
 * Event intake: every fixture under tests/events/codepipeline is either parsed and normalized
 * (snapshot plus explicit assertions) or rejected with its exact reason.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  CODEPIPELINE_DETAIL_TYPES,
  CODEPIPELINE_SOURCE,
  DETAIL_TYPE,
} from "../handlers/contracts/codepipeline";
import {
  classify,
  commitMessageOf,
  consoleUrl,
  describeTrigger,
  isRejectionSummary,
  MAX_TEXT_CHARS,
  normalize,
  notificationId,
  parseEventBridgeEvent,
  rejectedBy,
  safeHttpUrl,
  type CodePipelineEvent,
  type ParseResult,
} from "../handlers/events";
import type {
  EventLevel,
  NotificationKind,
  PipelineRule,
  RuntimeConfig,
  Severity,
} from "../handlers/types";
import { buildRulePattern } from "../infra/patterns";

const FIXTURES = join(__dirname, "events", "codepipeline");

/** The raw text of a fixture: exactly what an SQS record body carries. */
function body(name: string): string {
  return readFileSync(join(FIXTURES, `${name}.json`), "utf8");
}

function parsed(name: string): CodePipelineEvent {
  const result = parseEventBridgeEvent(body(name));
  if (!result.ok) throw new Error(`fixture ${name} was rejected: ${result.reason}`);
  return result.event;
}

/** The route a pipeline would get from stack config. */
function routeOf(pipeline: string): { tier: string; severity: Severity } {
  if (pipeline === "main-app-production-v3") return { tier: "critical", severity: "critical" };
  if (pipeline === "api-gateway-prod-cluster") return { tier: "production", severity: "error" };
  return { tier: "staging", severity: "info" };
}

const VALID: Record<string, { level: EventLevel; state: string; kind: NotificationKind }> = {
  "pipeline-started": { level: "pipeline", state: "STARTED", kind: "status" },
  "pipeline-started-git-trigger": { level: "pipeline", state: "STARTED", kind: "status" },
  "pipeline-succeeded": { level: "pipeline", state: "SUCCEEDED", kind: "success" },
  "pipeline-resumed": { level: "pipeline", state: "RESUMED", kind: "status" },
  "pipeline-failed": { level: "pipeline", state: "FAILED", kind: "failure" },
  "pipeline-canceled": { level: "pipeline", state: "CANCELED", kind: "canceled" },
  "pipeline-stopping": { level: "pipeline", state: "STOPPING", kind: "stopped" },
  "pipeline-stopped": { level: "pipeline", state: "STOPPED", kind: "stopped" },
  "pipeline-superseded": { level: "pipeline", state: "SUPERSEDED", kind: "superseded" },
  "stage-started": { level: "stage", state: "STARTED", kind: "status" },
  "stage-succeeded": { level: "stage", state: "SUCCEEDED", kind: "success" },
  "stage-resumed": { level: "stage", state: "RESUMED", kind: "status" },
  "stage-failed": { level: "stage", state: "FAILED", kind: "failure" },
  "stage-canceled": { level: "stage", state: "CANCELED", kind: "canceled" },
  "stage-stopped": { level: "stage", state: "STOPPED", kind: "stopped" },
  "action-started": { level: "action", state: "STARTED", kind: "status" },
  "action-succeeded": { level: "action", state: "SUCCEEDED", kind: "success" },
  "action-source-succeeded": { level: "action", state: "SUCCEEDED", kind: "success" },
  "action-failed": { level: "action", state: "FAILED", kind: "failure" },
  "action-canceled": { level: "action", state: "CANCELED", kind: "canceled" },
  "action-abandoned": { level: "action", state: "ABANDONED", kind: "status" },
  "action-approval-started": { level: "action", state: "STARTED", kind: "approval-request" },
  "action-approval-failed": { level: "action", state: "FAILED", kind: "rejection" },
  "action-approval-rejected-via-slack": { level: "action", state: "FAILED", kind: "rejection" },
  "action-approval-expired": { level: "action", state: "FAILED", kind: "approval-expired" },
  "pipeline-succeeded-automated-rollback": {
    level: "pipeline",
    state: "SUCCEEDED",
    kind: "success",
  },
  "action-codebuild-failed": { level: "action", state: "FAILED", kind: "failure" },
  "variant-version-string": { level: "pipeline", state: "STARTED", kind: "status" },
  "variant-account-number": { level: "stage", state: "STARTED", kind: "status" },
  "variant-missing-execution-result": { level: "action", state: "FAILED", kind: "failure" },
  "variant-extra-fields": { level: "action", state: "SUCCEEDED", kind: "success" },
  "variant-hostile-summary": { level: "action", state: "FAILED", kind: "failure" },
  "variant-huge-summary": { level: "action", state: "FAILED", kind: "failure" },
  "variant-untrimmed-strings": { level: "stage", state: "SUCCEEDED", kind: "success" },
  "variant-duplicate-pipeline-failed": { level: "pipeline", state: "FAILED", kind: "failure" },
  "variant-double-encoded": { level: "pipeline", state: "SUCCEEDED", kind: "success" },
};

const MAIN_EXECUTION = "3f2b8c1e-7d4a-4e9b-9c61-2a5d8e0f4b17";

const REJECTED: Record<string, Extract<ParseResult, { ok: false }>> = {
  "malformed-missing-execution-id": {
    ok: false,
    kind: "malformed",
    reason: "detail.execution-id: missing",
    pipeline: "main-app-production-v3",
    eventId: "5e1a0022-4c2d-1022-9b7e-0f3a6d8c2022",
  },
  "malformed-wrong-source": {
    ok: false,
    kind: "foreign",
    reason: 'source "aws.ec2" is not aws.codepipeline',
    eventId: "7bf73129-1428-4cd3-a780-95db273d1602",
  },
  "malformed-wrong-detail-type": {
    ok: false,
    kind: "foreign",
    reason:
      'detail-type "CodeBuild Build State Change" is not a CodePipeline execution state change',
    pipeline: "main-app-production-v3",
    executionId: MAIN_EXECUTION,
    eventId: "a1b2c3d4-0000-4000-8000-000000000042",
  },
  "malformed-state-wrong-type": {
    ok: false,
    kind: "malformed",
    reason: "detail.state: expected a string, got number",
    pipeline: "main-app-production-v3",
    executionId: MAIN_EXECUTION,
    eventId: "5e1a0023-4c2d-1023-9b7e-0f3a6d8c2023",
  },
  "malformed-empty-object": { ok: false, kind: "malformed", reason: "source: missing" },
  "malformed-bad-region": {
    ok: false,
    kind: "malformed",
    reason: 'region: "evil.example/x?" is not an AWS region',
    pipeline: "main-app-production-v3",
    executionId: MAIN_EXECUTION,
    eventId: "5e1a0024-4c2d-1024-9b7e-0f3a6d8c2024",
  },
  "malformed-action-missing-action": {
    ok: false,
    kind: "malformed",
    reason: "detail.action: missing",
    pipeline: "main-app-production-v3",
    executionId: MAIN_EXECUTION,
    eventId: "5e1a0025-4c2d-1025-9b7e-0f3a6d8c2025",
  },
};

describe("fixtures", () => {
  it("every fixture on disk has an expectation, and every expectation a fixture", () => {
    // Prepare
    const onDisk = readdirSync(FIXTURES)
      .filter((f) => f.endsWith(".json"))
      .map((f) => f.slice(0, -".json".length))
      .sort();
    // Act
    const expected = [...Object.keys(VALID), ...Object.keys(REJECTED)].sort();
    // Assess
    expect(onDisk).toEqual(expected);
  });

  it.each(Object.entries(REJECTED))("%s is rejected with its reason", (name, expected) => {
    // Act
    const result = parseEventBridgeEvent(body(name));
    // Assess
    expect(result).toEqual(expected);
  });

  describe.each(Object.entries(VALID))("%s", (name, expected) => {
    it("parses with the expected level, state and kind", () => {
      // Act
      const result = parseEventBridgeEvent(body(name));
      // Assess
      expect(result.ok).toBe(true);
      const ev = (result as { ok: true; event: CodePipelineEvent }).event;
      expect(ev.level).toBe(expected.level);
      expect(ev.state).toBe(expected.state);
      expect(classify(ev)).toBe(expected.kind);
      expect(ev.account).toBe("123456789012");
      expect(ev.region).toBe("us-east-1");
    });

    it("normalizes every field the event carries", () => {
      // Prepare
      const ev = parsed(name);
      const route = routeOf(ev.pipeline);
      // Act
      const n = normalize(ev, route);
      // Assess
      expect(n.id).toMatch(/^[0-9a-f]{24}$/);
      expect(n.id).toBe(notificationId(ev));
      expect(n.eventId).toBe(ev.id);
      expect(n.kind).toBe(expected.kind);
      expect(n.level).toBe(expected.level);
      expect(n.state).toBe(expected.state);
      expect(n.pipeline).toBe(ev.pipeline);
      expect(n.executionId).toBe(ev.executionId);
      expect(n.tier).toBe(route.tier);
      expect(n.severity).toBe(route.severity);
      expect(n.consoleUrl).toBe(
        `https://us-east-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/${ev.pipeline}/executions/${ev.executionId}/timeline?region=us-east-1`,
      );
      if (expected.level !== "pipeline") expect(n.stage).toBeTruthy();
      if (expected.level === "action") expect(n.action).toBeTruthy();
      // Long summaries are summarized in the snapshot; their exact length is asserted below.
      const shown =
        n.summary !== undefined && n.summary.length > 1000
          ? { ...n, summary: `<${n.summary.length} characters>` }
          : n;
      expect(shown).toMatchSnapshot();
    });
  });
});

describe("normalize: the important fields", () => {
  it("a CodeBuild failure carries error code, summary, provider and the build link", () => {
    // Act
    const n = normalize(parsed("action-codebuild-failed"), routeOf("api-gateway-prod-cluster"));
    // Assess
    expect(n).toMatchObject({
      kind: "failure",
      pipeline: "api-gateway-prod-cluster",
      stage: "Build",
      action: "BuildAndTest",
      actionCategory: "Build",
      actionProvider: "CodeBuild",
      errorCode: "JobFailed",
      externalUrl:
        "https://console.aws.amazon.com/codebuild/home?region=us-east-1#/builds/api-gateway-prod-build:7c9e2f1a-4b3d-4e5f-8a6b-1c2d3e4f5a6b/view/new",
      tier: "production",
      severity: "error",
    });
    expect(n.summary).toMatch(/^Build terminated with state: FAILED\. Phase: BUILD/);
    expect(n.decidedBy).toBeUndefined();
    expect(n.notes).toBeUndefined();
  });

  it("a rejected approval is a rejection, with who decided (IAM identity)", () => {
    // Act
    const n = normalize(parsed("action-approval-failed"), routeOf("main-app-production-v3"));
    // Assess
    expect(n.kind).toBe("rejection");
    expect(n.stage).toBe("Approve");
    expect(n.action).toBe("ManualApproval");
    expect(n.actionCategory).toBe("Approval");
    expect(n.actionProvider).toBe("Manual");
    expect(n.decidedBy).toBe(
      "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_ReleaseManagers_9b2e/jane.doe@example.com",
    );
  });

  it("a rejection from our Slack approval names the Slack user, without the comment", () => {
    // Act
    const n = normalize(
      parsed("action-approval-rejected-via-slack"),
      routeOf("main-app-production-v3"),
    );
    // Assess
    expect(n.kind).toBe("rejection");
    expect(n.decidedBy).toBe("Jane Doe (U012ABC)");
    expect(n.summary).toBe("Rejected by Jane Doe (U012ABC) via Slack: migration not reviewed yet");
  });

  it("an approval request is recognised from the Approval category", () => {
    // Act
    const n = normalize(parsed("action-approval-started"), routeOf("main-app-production-v3"));
    // Assess
    expect(n.kind).toBe("approval-request");
    expect(n.decidedBy).toBeUndefined();
  });

  it("a manual start says who started it", () => {
    // Act
    const n = normalize(parsed("pipeline-started"), routeOf("main-app-production-v3"));
    // Assess
    expect(n.trigger).toBe(
      "StartPipelineExecution by arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Deployers_4f1c2b/jane.doe@example.com",
    );
    expect(n.revision).toBeUndefined();
  });

  it("a Git-triggered start carries the branch and the commit, with a link to it", () => {
    // Prepare
    const ev = parsed("pipeline-started-git-trigger");
    // Act
    const n = normalize(ev, routeOf("web-staging"));
    // Assess
    expect(ev.trigger?.type).toBe("WebhookV2");
    expect(n.trigger).toBe(
      "WebhookV2 (arn:aws:codeconnections:us-east-1:123456789012:connection/0f5b706a-1a1d-46c5-86b6-f177321bcfb2) on branch main",
    );
    expect(n.revision).toEqual({
      id: "4e1d9a7b2c3f5e6d8a9b0c1d2e3f4a5b6c7d8e9f",
      message: "Fix checkout button alignment on mobile",
      author: "Sam Rivera",
      url: "https://github.com/acme/web-frontend/commit/4e1d9a7b2c3f5e6d8a9b0c1d2e3f4a5b6c7d8e9f",
    });
  });

  it("a source action's result is the revision it fetched", () => {
    // Act
    const n = normalize(parsed("action-source-succeeded"), routeOf("web-staging"));
    // Assess
    expect(n.revision?.id).toBe("4e1d9a7b2c3f5e6d8a9b0c1d2e3f4a5b6c7d8e9f");
    // CodeStarSourceConnection reports JSON; people see the commit message.
    expect(n.revision?.message).toBe("Fix checkout button alignment on mobile");
    expect(n.summary).toBe("Fix checkout button alignment on mobile");
    expect(n.revision?.url).toMatch(/^https:\/\/us-east-1\.console\.aws\.amazon\.com\/codesuite\//);
  });

  it("a stop carries the stop comment as its summary", () => {
    // Act
    const n = normalize(parsed("pipeline-stopping"), routeOf("main-app-production-v3"));
    // Assess
    expect(n.summary).toBe("Stopping: bad migration in this release, see INC-2291");
  });

  it("keeps hostile mrkdwn verbatim (channels escape it) and drops a javascript: link", () => {
    // Act
    const n = normalize(parsed("variant-hostile-summary"), routeOf("web-staging"));
    // Assess
    expect(n.summary).toBe(
      "<!channel> <https://evil.example|click> @here &amp; *bold* `code` <@U999EVIL>",
    );
    expect(n.externalUrl).toBeUndefined();
    expect(n.notes).toEqual(["external link dropped: not a usable http(s) URL"]);
  });

  it("caps a 200 kB summary at 64 KiB instead of rejecting the event, and says so", () => {
    // Prepare
    const raw = JSON.parse(body("variant-huge-summary"));
    const original: string = raw.detail["execution-result"]["external-execution-summary"];
    // Act
    const n = normalize(parsed("variant-huge-summary"), routeOf("api-gateway-prod-cluster"));
    // Assess
    expect(original.length).toBe(200 * 1024);
    expect(n.summary).toHaveLength(MAX_TEXT_CHARS);
    expect(original.startsWith(n.summary ?? "")).toBe(true);
    expect(n.notes).toEqual([
      `detail.execution-result.external-execution-summary truncated to ${MAX_TEXT_CHARS} characters`,
    ]);
  });

  it("a failure without execution-result is still a failure, without invented details", () => {
    // Act
    const n = normalize(
      parsed("variant-missing-execution-result"),
      routeOf("api-gateway-prod-cluster"),
    );
    // Assess
    expect(n.kind).toBe("failure");
    expect(n.errorCode).toBeUndefined();
    expect(n.summary).toBeUndefined();
    expect(n.externalUrl).toBeUndefined();
  });
});

describe("lenient parsing", () => {
  it("reads versions and attempts given as floats or numeric strings", () => {
    // Act
    const fromString = parsed("variant-version-string");
    const fromFloat = parsed("pipeline-resumed");
    const fromDecimal = parsed("variant-account-number");
    // Assess
    expect(fromString.version).toBe(4);
    expect(fromString.attempt).toBe(1);
    expect(fromFloat.version).toBe(7);
    expect(fromFloat.attempt).toBe(2);
    expect(fromDecimal.version).toBe(4.5);
  });

  it("accepts an account id sent as a JSON number", () => {
    // Prepare
    const raw = JSON.parse(body("variant-account-number"));
    // Act
    const ev = parsed("variant-account-number");
    // Assess
    expect(typeof raw.account).toBe("number");
    expect(ev.account).toBe("123456789012");
  });

  it("restores the leading zeros of a numeric account id", () => {
    // Prepare
    const raw = JSON.parse(body("pipeline-failed"));
    raw.account = 12345678901;
    // Act
    const result = parseEventBridgeEvent(JSON.stringify(raw));
    // Assess
    expect(result.ok && result.event.account).toBe("012345678901");
  });

  it("trims strings and upper-cases the state", () => {
    // Act
    const ev = parsed("variant-untrimmed-strings");
    // Assess
    expect(ev.pipeline).toBe("web-staging");
    expect(ev.stage).toBe("Deploy");
    expect(ev.state).toBe("SUCCEEDED");
    expect(ev.region).toBe("us-east-1");
  });

  it("ignores unknown fields and reads known ones of an unexpected type", () => {
    // Act
    const ev = parsed("variant-extra-fields");
    // Assess
    expect(ev.actionType).toEqual({
      owner: "AWS",
      provider: "CodeBuild",
      category: "Build",
      version: "1",
    });
    expect(ev.result).toEqual({ externalExecutionId: "web-staging-build:5d6e" });
    expect(Object.keys(ev)).not.toContain("some-new-flag");
  });

  it("unwraps a double-encoded body exactly once", () => {
    // Prepare
    const fixture = body("variant-double-encoded");
    // Act
    const once = parseEventBridgeEvent(fixture);
    const twice = parseEventBridgeEvent(JSON.stringify(fixture));
    // Assess
    expect(typeof JSON.parse(fixture)).toBe("string");
    expect(once.ok).toBe(true);
    expect(twice).toMatchObject({ ok: false, reason: "body: expected a JSON object, got string" });
  });

  it("keeps the extra fields of real events: start time, attempt, action execution id", () => {
    // Act
    const ev = parsed("action-started");
    // Assess
    expect(ev.startTime).toBe("2024-11-18T14:02:11.482Z");
    expect(ev.attempt).toBe(1);
    expect(ev.actionExecutionId).toBe("b2f6c9d1-8e4a-4f7b-9a3c-5d0e1f2a3b4c");
    expect(ev.actionRegion).toBe("us-east-1");
  });
});

describe("rejected bodies", () => {
  it.each([
    ["", "body: empty"],
    ["   ", "body: empty"],
    ["[]", "body: expected a JSON object, got array"],
    ["null", "body: expected a JSON object, got null"],
    ["42", "body: expected a JSON object, got number"],
    [JSON.stringify("{oops"), /^body: double-encoded string is not JSON \(/],
    ["not json", /^body: not JSON \(Unexpected token/],
    ['{"source": "aws.codepipeline",', /^body: not JSON \(/],
  ])("%j → %s", (input, reason) => {
    // Act
    const result = parseEventBridgeEvent(input);
    // Assess
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.kind).toBe("malformed");
      if (typeof reason === "string") expect(result.reason).toBe(reason);
      else expect(result.reason).toMatch(reason);
    }
  });

  it("a body that is not a string is rejected, not thrown on", () => {
    // Act
    const result = parseEventBridgeEvent(42 as unknown as string);
    // Assess
    expect(result).toEqual({
      ok: false,
      kind: "malformed",
      reason: "body: expected a string, got number",
    });
  });

  it.each([
    ["detail", "oops", "detail: expected an object, got string"],
    ["time", "yesterday", 'time: "yesterday" is not an ISO 8601 timestamp'],
    ["time", undefined, "time: missing"],
    ["id", 7, "id: expected a string, got number"],
    ["detail-type", undefined, "detail-type: missing"],
  ])("envelope field %s = %j → %s", (field, value, reason) => {
    // Prepare
    const raw = JSON.parse(body("pipeline-failed"));
    raw[field] = value;
    // Act
    const result = parseEventBridgeEvent(JSON.stringify(raw));
    // Assess
    expect(result).toMatchObject({ ok: false, kind: "malformed", reason });
  });

  it.each([
    ["pipeline", "", "detail.pipeline: empty"],
    ["pipeline", "x".repeat(2000), "detail.pipeline: longer than 1024 characters"],
    ["execution-id", null, "detail.execution-id: missing"],
    ["execution-id", 12345678, "detail.execution-id: expected a string, got number"],
    ["state", ["FAILED"], "detail.state: expected a string, got array"],
  ])("detail field %s = %j → %s", (field, value, reason) => {
    // Prepare
    const raw = JSON.parse(body("pipeline-failed"));
    raw.detail[field] = value;
    // Act
    const result = parseEventBridgeEvent(JSON.stringify(raw));
    // Assess
    expect(result).toMatchObject({ ok: false, kind: "malformed", reason });
  });

  it("a stage event needs its stage", () => {
    // Prepare
    const raw = JSON.parse(body("stage-failed"));
    delete raw.detail.stage;
    // Act
    const result = parseEventBridgeEvent(JSON.stringify(raw));
    // Assess
    expect(result).toMatchObject({ ok: false, reason: "detail.stage: missing" });
  });

  it("caps the reason, and the quoted value in it, whatever the input", () => {
    // Prepare
    const raw = JSON.parse(body("malformed-wrong-source"));
    raw.source = "aws.".padEnd(1000, "x");
    // Act
    const result = parseEventBridgeEvent(JSON.stringify(raw));
    // Assess
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.kind).toBe("foreign");
      expect(result.reason.length).toBeLessThanOrEqual(300);
      expect(result.reason).toMatch(/^source "aws\.x+…" is not aws\.codepipeline$/);
    }
  });

  it("rejects an over-long identifier instead of truncating it", () => {
    // Prepare
    const raw = JSON.parse(body("malformed-wrong-source"));
    raw.source = "aws.".padEnd(100_000, "x");
    // Act
    const result = parseEventBridgeEvent(JSON.stringify(raw));
    // Assess
    expect(result).toMatchObject({ ok: false, reason: "source: longer than 1024 characters" });
  });

  it("never throws, whatever a known field holds", () => {
    // Prepare: every field of every valid fixture replaced by every kind of JSON value.
    const replacements: unknown[] = [null, 0, -1.5, true, "", " ", [], {}, ["x"], { a: 1 }];
    const paths: string[][] = [];
    const collect = (obj: Record<string, unknown>, prefix: string[]) => {
      for (const [key, value] of Object.entries(obj)) {
        paths.push([...prefix, key]);
        if (value && typeof value === "object" && !Array.isArray(value)) {
          collect(value as Record<string, unknown>, [...prefix, key]);
        }
      }
    };
    const originals = Object.keys(VALID)
      .filter((name) => name !== "variant-double-encoded" && name !== "variant-huge-summary")
      .map((name) => JSON.parse(body(name)) as Record<string, unknown>);
    let outcomes = 0;
    for (const original of originals) {
      paths.length = 0;
      collect(original, []);
      for (const path of paths) {
        for (const replacement of replacements) {
          const copy = structuredClone(original);
          let at: Record<string, unknown> = copy;
          for (const key of path.slice(0, -1)) at = at[key] as Record<string, unknown>;
          at[path[path.length - 1]] = replacement;
          // Act
          const result = parseEventBridgeEvent(JSON.stringify(copy));
          // Assess
          if (result.ok) {
            const n = normalize(result.event, { tier: "t", severity: "info" });
            expect(n.id).toMatch(/^[0-9a-f]{24}$/);
          } else {
            expect(result.reason).not.toMatch(/^internal:/);
          }
          outcomes += 1;
        }
      }
    }
    expect(outcomes).toBeGreaterThan(1000);
  });
});

describe("notificationId", () => {
  it("is stable across a duplicate that carries another event id and time", () => {
    // Prepare
    const first = parsed("pipeline-failed");
    const duplicate = parsed("variant-duplicate-pipeline-failed");
    // Act
    const a = notificationId(first);
    const b = notificationId(duplicate);
    // Assess
    expect(duplicate.id).not.toBe(first.id);
    expect(duplicate.time).not.toBe(first.time);
    expect(b).toBe(a);
  });

  it("ignores the summary, event id and time, which do not make a new notification", () => {
    // Prepare
    const ev = parsed("action-codebuild-failed");
    const variant = { ...ev, id: "other", time: "2030-01-01T00:00:00Z", result: undefined };
    // Act / Assess
    expect(notificationId(variant)).toBe(notificationId(ev));
  });

  it("differs across state, level, stage, action, execution and attempt", () => {
    // Prepare
    const base = parsed("action-failed");
    const variants: CodePipelineEvent[] = [
      { ...base, state: "SUCCEEDED" },
      { ...base, level: "stage", action: undefined },
      { ...base, stage: "Approve" },
      { ...base, action: "DeployECSCanary" },
      { ...base, executionId: "00000000-0000-4000-8000-000000000000" },
      { ...base, pipeline: "web-staging" },
      { ...base, attempt: 2 },
    ];
    // Act
    const ids = [base, ...variants].map(notificationId);
    // Assess
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("pipeline, stage and action events of one execution never collide", () => {
    // Prepare
    const names = Object.keys(VALID).filter((n) => /^(pipeline|stage|action)-/.test(n));
    const key = (e: CodePipelineEvent) =>
      [e.pipeline, e.executionId, e.level, e.stage, e.action, e.state, e.attempt].join("|");
    // Act
    const byId: Record<string, string> = {};
    for (const name of names) {
      const ev = parsed(name);
      const id = notificationId(ev);
      // Assess: equal ids only for equal content (the two rejection fixtures are one event).
      if (byId[id] !== undefined) expect(byId[id]).toBe(key(ev));
      byId[id] = key(ev);
    }
    expect(Object.keys(byId).length).toBe(names.length - 1);
  });
});

describe("classify", () => {
  const base = (): CodePipelineEvent => parsed("action-failed");
  const approval = { owner: "AWS", category: "Approval", provider: "Manual", version: "1" };
  const build = { owner: "AWS", category: "Build", provider: "CodeBuild", version: "1" };
  it.each<[string, Partial<CodePipelineEvent>, NotificationKind]>([
    ["build action FAILED", { state: "FAILED", actionType: build }, "failure"],
    // Issue 10, item 3: an approval nobody answered within its timeout ends as a FAILED Approval
    // action with no "Rejected by" summary (user guide, "Manage approval actions"; REFERENCE.md,
    // CodePipeline's lifecycle). It used to be called a rejection here, which was wrong.
    [
      "approval action FAILED without an execution-result: expired, not rejected",
      { state: "FAILED", actionType: approval, result: undefined },
      "approval-expired",
    ],
    [
      "approval action FAILED whose summary lacks 'Rejected': expired",
      {
        state: "FAILED",
        actionType: approval,
        result: { errorCode: "JobFailed", externalExecutionSummary: "Approval timed out" },
      },
      "approval-expired",
    ],
    [
      "approval action FAILED 'Rejected by …': a rejection",
      {
        state: "FAILED",
        actionType: approval,
        result: { externalExecutionSummary: "Rejected by Jane Doe (U012ABC) via Slack" },
      },
      "rejection",
    ],
    [
      "pipeline FAILED whose summary says Rejected",
      {
        level: "pipeline",
        stage: undefined,
        action: undefined,
        actionType: undefined,
        state: "FAILED",
        result: { externalExecutionSummary: "Rejected by Jane Doe (U012ABC) via Slack" },
      },
      "rejection",
    ],
    [
      "stage FAILED whose summary contains Rejected",
      {
        level: "stage",
        action: undefined,
        actionType: undefined,
        state: "FAILED",
        result: {
          externalExecutionSummary: "Approval Rejected by arn:aws:sts::123:assumed-role/R/j",
        },
      },
      "rejection",
    ],
    [
      "FAILED whose summary only mentions rejection in lower case",
      {
        state: "FAILED",
        actionType: build,
        result: { externalExecutionSummary: "push rejected: 403" },
      },
      "failure",
    ],
    ["SUCCEEDED", { state: "SUCCEEDED" }, "success"],
    ["SUPERSEDED", { level: "pipeline", state: "SUPERSEDED" }, "superseded"],
    ["CANCELED", { state: "CANCELED" }, "canceled"],
    ["STOPPED", { state: "STOPPED" }, "stopped"],
    ["STOPPING", { state: "STOPPING" }, "stopped"],
    ["approval action STARTED", { state: "STARTED", actionType: approval }, "approval-request"],
    [
      "approval category in other case",
      { state: "STARTED", actionType: { category: "approval" } },
      "approval-request",
    ],
    ["deploy action STARTED", { state: "STARTED" }, "status"],
    [
      "stage STARTED of the approval stage",
      {
        level: "stage",
        action: undefined,
        actionType: undefined,
        stage: "Approve",
        state: "STARTED",
      },
      "status",
    ],
    ["RESUMED", { level: "pipeline", state: "RESUMED" }, "status"],
    ["ABANDONED", { state: "ABANDONED" }, "status"],
    ["an unknown future state", { state: "PAUSED" }, "status"],
  ])("%s", (_label, overrides, kind) => {
    // Act / Assess
    expect(classify({ ...base(), ...overrides })).toBe(kind);
  });
});

describe("rejectedBy / isRejectionSummary", () => {
  it.each([
    ["Rejected by Jane Doe (U012ABC) via Slack", "Jane Doe (U012ABC)"],
    ["Rejected by Jane Doe (U012ABC) via Slack: not now", "Jane Doe (U012ABC)"],
    [
      "Rejected by arn:aws:sts::123456789012:assumed-role/Release/jane",
      "arn:aws:sts::123456789012:assumed-role/Release/jane",
    ],
    [
      "Rejected by arn:aws:iam::123456789012:user/bob. Too risky",
      "arn:aws:iam::123456789012:user/bob",
    ],
    ["Rejected by Bob\nsecond line", "Bob"],
    ["Rejected", undefined],
    ["Deployment failed", undefined],
  ])("%j → %j", (summary, who) => {
    // Act / Assess
    expect(rejectedBy(summary)).toBe(who);
  });

  it("only a capitalised 'Rejected' word counts", () => {
    expect(isRejectionSummary("Rejected by x")).toBe(true);
    expect(isRejectionSummary("Approval Rejected")).toBe(true);
    expect(isRejectionSummary("connection rejected")).toBe(false);
    expect(isRejectionSummary("Unrejected")).toBe(false);
    expect(isRejectionSummary(undefined)).toBe(false);
  });
});

describe("consoleUrl", () => {
  it("follows the format in REFERENCE.md", () => {
    // Act
    const url = consoleUrl("us-east-1", "main-app-production-v3", MAIN_EXECUTION);
    // Assess
    expect(url).toBe(
      "https://us-east-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/main-app-production-v3/executions/3f2b8c1e-7d4a-4e9b-9c61-2a5d8e0f4b17/timeline?region=us-east-1",
    );
  });

  it("percent-encodes path segments so a name cannot change the path", () => {
    // Act
    const url = new URL(consoleUrl("eu-west-1", "a/../b?x", "id#frag"));
    // Assess
    expect(url.host).toBe("eu-west-1.console.aws.amazon.com");
    expect(url.pathname).toBe(
      "/codesuite/codepipeline/pipelines/a%2F..%2Fb%3Fx/executions/id%23frag/timeline",
    );
    expect(url.searchParams.get("region")).toBe("eu-west-1");
  });
});

describe("safeHttpUrl", () => {
  it.each([
    [
      "https://console.aws.amazon.com/codebuild/home?region=us-east-1#/builds/x",
      "https://console.aws.amazon.com/codebuild/home?region=us-east-1#/builds/x",
    ],
    ["http://jenkins.internal:8080/job/42/", "http://jenkins.internal:8080/job/42/"],
    ["  https://example.com/x  ", "https://example.com/x"],
    ["https://user:s3cret@example.com/x", "https://example.com/x"],
    ["https://example.com/deployments/<ID>", "https://example.com/deployments/%3CID%3E"],
    ["javascript:alert(1)", undefined],
    ["JAVASCRIPT:alert(1)", undefined],
    ["data:text/html,<script>alert(1)</script>", undefined],
    ["vbscript:msgbox", undefined],
    ["file:///etc/passwd", undefined],
    ["/relative/path", undefined],
    ["not a url", undefined],
    [`https://example.com/${"a".repeat(3000)}`, undefined],
    [undefined, undefined],
  ])("%j → %j", (raw, expected) => {
    // Act / Assess
    expect(safeHttpUrl(raw)).toBe(expected);
  });
});

describe("describeTrigger", () => {
  it.each<[CodePipelineEvent["trigger"], string | undefined]>([
    [undefined, undefined],
    [{ type: "Webhook" }, "Webhook"],
    [{ type: "PollForSourceChanges", detail: "Source" }, "PollForSourceChanges (Source)"],
    [
      { type: "ManualRollback", detail: "arn:aws:iam::1:user/ops" },
      "ManualRollback by arn:aws:iam::1:user/ops",
    ],
    [{ providerType: "GitLab", tag: "v4.2.1", commitId: "abc1234" }, "GitLab change on tag v4.2.1"],
    [{ commitId: "abc1234" }, "source change"],
  ])("%j → %j", (trigger, words) => {
    // Act / Assess
    expect(describeTrigger(trigger)).toBe(words);
  });
});

describe("commitMessageOf: the one source-revision summary parser", () => {
  it.each([
    ['{"ProviderType":"GitHub","CommitMessage":"Fix checkout\\n"}', "Fix checkout"],
    [
      '{"ProviderType":"GitHub","CommitMessage":""}',
      '{"ProviderType":"GitHub","CommitMessage":""}',
    ],
    [
      '{"ProviderType":"GitHub","CommitMessage":"cut by the ca',
      '{"ProviderType":"GitHub","CommitMessage":"cut by the ca',
    ],
    ["Release 3.42: new checkout flow", "Release 3.42: new checkout flow"],
    ["", ""],
    [undefined, undefined],
  ])("%j → %j", (summary, message) => {
    // Act / Assess
    expect(commitMessageOf(summary)).toBe(message);
  });
});

describe("the CodePipeline contract (handlers/contracts/codepipeline.ts)", () => {
  it("names each level's detail-type once, and the parser accepts exactly those", () => {
    // Prepare
    const levels = Object.keys(DETAIL_TYPE) as EventLevel[];
    const template = JSON.parse(body("action-succeeded")) as Record<string, unknown>;

    // Act
    const accepted = levels.map((level) => {
      const result = parseEventBridgeEvent(
        JSON.stringify({ ...template, "detail-type": DETAIL_TYPE[level] }),
      );
      return result.ok ? result.event.level : result.reason;
    });

    // Assess
    expect(accepted).toEqual(levels);
    expect(Object.entries(CODEPIPELINE_DETAIL_TYPES)).toEqual(
      levels.map((level) => [DETAIL_TYPE[level], level]),
    );
  });

  it("is what the EventBridge rule matches: its source and only its detail-types", () => {
    // Prepare: one pipeline that uses every branch of the rule (all states, approvals).
    const pipelines: PipelineRule[] = [
      {
        match: { name: "web" },
        tier: "critical",
        states: ["STARTED", "SUCCEEDED", "FAILED"],
        approvals: { channel: "slack-eng", approvers: ["U012ABC"] },
      },
    ];
    // The rule reads the pipelines, and the routing only to see whether a tier pages.
    const runtime = { pipelines, routing: {}, channels: {} } as unknown as RuntimeConfig;

    // Act
    const rule = buildRulePattern(runtime);

    // Assess
    expect(JSON.parse(rule.pattern)).toMatchObject({ source: [CODEPIPELINE_SOURCE] });
    const matched = new Set(rule.branches.flatMap((b) => b.detailTypes));
    expect([...matched].every((t) => t in CODEPIPELINE_DETAIL_TYPES)).toBe(true);
    expect(matched.size).toBe(3);
  });
});

describe("SQS batch", () => {
  it("parses each record body on its own: good, truncated, double-encoded, foreign, garbage", () => {
    // Prepare
    const batch = JSON.parse(
      readFileSync(join(__dirname, "events", "sqs", "batch-mixed.json"), "utf8"),
    ) as { Records: { messageId: string; body: string }[] };
    // Act
    const results = batch.Records.map((r) => parseEventBridgeEvent(r.body));
    // Assess
    expect(results.map((r) => (r.ok ? "ok" : r.kind))).toEqual([
      "ok",
      "malformed",
      "ok",
      "foreign",
      "malformed",
    ]);
    expect(results[1]).toMatchObject({ reason: expect.stringMatching(/^body: not JSON \(/) });
    expect(results[4]).toMatchObject({ reason: expect.stringMatching(/^body: not JSON \(/) });
    const [first, third] = [results[0], results[2]];
    expect(first.ok && third.ok && notificationId(first.event)).toBe(
      third.ok && notificationId(third.event),
    );
  });
});
