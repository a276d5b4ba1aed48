/**
 * The sandbox page in a real browser: headless Chromium (driven by playwright-core) after the prod
 * scenario. A release's approval request: a non-approver's click changes nothing and only they see
 * the ephemeral refusal, an approver's click approves (the header says who and when, the audit
 * trail shows it, the CodePipeline stand-in received PutApprovalResult). Reject: the request says
 * who rejected it, #eng is told, and nothing pages (no PagerDuty event, no SMS: issue 10 item 3).
 * A retried approval (a new run with a new token, REFERENCE.md "CodePipeline's lifecycle"): the old
 * request, rejected before the retry (in Slack or in the console), says it was rejected and is not
 * marked "replaced" (round 17); Approve on the new request approves with the new run's token
 * (issue 10 item 2). A request whose run expired, or whose execution was stopped or superseded,
 * shows its Approve / Reject disabled and says how it ended (a click could only be told "no longer
 * pending"). Also: every time on the page is 24-hour UTC; email is drawn as an email; cards
 * show their whole content and nothing overflows a 390 px window. Screenshots at 1280 and 390 px go
 * to `.artifacts/`, those of the lifecycle flows to `/tmp/sandbox-*.png`.
 *
 * The Chromium is `CHROMIUM_PATH` when set, else Debian's /usr/bin/chromium when installed, else the
 * Linux x64 build shipped inside the `@sparticuz/chromium` devDependency, so `npm ci && npm test`
 * needs no browser on the machine.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Browser, Page } from "playwright-core";
import { randomUUID } from "node:crypto";
import { startSandbox, type Sandbox } from "../../sandbox/start";
import { codePipelineView, putApprovalResult, stopExecution } from "../../testing";
import { chromiumExecutable, launchChromium } from "../support/chromium";

const ARTIFACTS = path.resolve(__dirname, "..", "..", ".artifacts");

describe("sandbox page (headless Chromium)", () => {
  let sandbox: Sandbox;
  let browser: Browser;
  let page: Page;

  /** Chromium's launch and the sandbox's start, closed by afterAll whenever they end. */
  let launching: Promise<Browser> | undefined;
  let starting: Promise<Sandbox> | undefined;

  beforeAll(async () => {
    // The first unpack of the bundled Chromium runs in a child process, and Chromium starts,
    // while the sandbox evaluates the program and plays the scenario.
    launching = chromiumExecutable().then(launchChromium);
    starting = startSandbox({ stack: "prod", port: 0 });
    const [launched, played] = await Promise.allSettled([
      launching,
      (async () => {
        sandbox = await starting!;
        const report = await sandbox.runScenario();
        if (!report.ok)
          throw new Error(
            `prod scenario failed: ${JSON.stringify(report.steps.filter((s) => !s.ok))}`,
          );
      })(),
    ]);
    if (launched.status === "fulfilled") browser = launched.value;
    for (const result of [played, launched]) if (result.status === "rejected") throw result.reason;
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  }, 180_000);

  // Also what is still starting when beforeAll failed or timed out: a browser or sandbox left
  // running keeps jest from exiting.
  afterAll(async () => {
    await launching?.then(
      (b) => b.close(),
      () => undefined,
    );
    await starting?.then(
      (s) => s.close(),
      () => undefined,
    );
  });

  function screenshot(name: string): Promise<Buffer> {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    return page.screenshot({ path: path.join(ARTIFACTS, name), fullPage: true });
  }

  /** Inbox cards whose content is cut off (they would scroll inside), by test id. */
  function clippedCards(): Promise<string[]> {
    return page.evaluate(() =>
      Array.from(document.querySelectorAll<HTMLElement>(".inbox"))
        .filter((c) => c.scrollHeight > c.clientHeight || c.scrollWidth > c.clientWidth)
        .map((c) => `${c.dataset.testid}/${c.dataset.channel ?? ""}`),
    );
  }

  function approvalAction(): { status?: string; lastUpdatedBy?: string } | undefined {
    const pipeline = sandbox.standins.aws.state.codepipeline.pipelines["main-app-production-v3"];
    return pipeline?.stages
      .find((s) => s.name === "Approve")
      ?.actions.find((a) => a.name === "ManualApproval");
  }

  test("a non-approver's click changes nothing; an approver's click approves", async () => {
    // Prepare: a release waits in the Approve stage; the page shows its request with buttons
    // (the scenario decided or let expire every request it posted).
    await approvalStarted(randomUUID(), randomUUID(), 1);
    const id = await newestMessage("slack-releases");
    await page.goto(sandbox.url as string);
    // The request changes its text once decided: follow it by its message id.
    const request = page.locator(`[data-testid="slack-message"][data-message-id="${id}"]`);
    await request.locator('button[data-action-id="deploy-notifier.approve"]').waitFor();
    expect(approvalAction()?.status).toBe("InProgress");
    const decisionsBefore = await page
      .locator('[data-testid="audit-row"][data-action="approval-decided"]')
      .count();

    // Act: the non-approver clicks Approve.
    await page.selectOption('[data-testid="user-select"]', "U0SANDBOX00");
    await request.locator('button[data-action-id="deploy-notifier.approve"]').click();

    // Assess: only they are told; the message, the pipeline and the audit trail are unchanged.
    const refusal = request.locator('[data-testid="slack-ephemeral"]');
    await refusal.waitFor();
    await expect(refusal.innerText()).resolves.toMatch(
      /^Only visible to you \(Casey Visitor\) · \d\d:\d\d:\d\d UTC · You are not an approver/,
    );
    await expect(request.getAttribute("data-replaced")).resolves.toBe("false");
    await expect(
      request.locator('button[data-action-id="deploy-notifier.approve"]').count(),
    ).resolves.toBe(1);
    expect(approvalAction()?.status).toBe("InProgress");
    await page
      .locator('[data-testid="audit-row"][data-action="approval-denied"]')
      .first()
      .waitFor();
    await expect(
      page.locator('[data-testid="audit-row"][data-action="approval-decided"]').count(),
    ).resolves.toBe(decisionsBefore);

    // Act: an approver clicks Approve.
    await page.selectOption('[data-testid="user-select"]', "U012ABCDEF");
    // (The refusal was only for Casey Visitor: the approver does not see it.)
    await expect(refusal.count()).resolves.toBe(0);
    await request.locator('button[data-action-id="deploy-notifier.approve"]').click();

    // Assess: the message is replaced, the audit row appears, the pipeline continues.
    await page
      .locator(`[data-testid="slack-message"][data-message-id="${id}"][data-replaced="true"]`)
      .waitFor();
    await expect(request.innerText()).resolves.toMatch(/Approved by @Approver 1/);
    // The header says who decided what and when; nothing reads as pending any more.
    await expect(request.locator(".sk-header").innerText()).resolves.toMatch(
      /^✅ main-app-production-v3: approved by Approver 1 at \d{4}-\d\d-\d\d \d\d:\d\d UTC$/,
    );
    const decidedText = await request.innerText();
    expect(decidedText).toMatch(
      /Decision\n✅ Approved by @Approver 1 at \d{4}-\d\d-\d\d \d\d:\d\d UTC/,
    );
    expect(decidedText).not.toMatch(/approval needed|STARTED|Expires/);
    await expect(
      request.locator('button[data-action-id="deploy-notifier.approve"]').count(),
    ).resolves.toBe(0);
    const decided = page.locator('[data-testid="audit-row"][data-action="approval-decided"]');
    await decided.first().waitFor();
    await expect(decided.first().innerText()).resolves.toContain("Approved");
    expect(approvalAction()?.status).toBe("Succeeded");
    expect((await screenshot("sandbox-approval.png")).length).toBeGreaterThan(10_000);
  }, 60_000);

  /** Posts one CodePipeline event to the sandbox, as CodePipeline would emit it, and settles. */
  async function emit(detailType: string, detail: Record<string, unknown>): Promise<void> {
    await sandbox.postEvent({
      "detail-type": `CodePipeline ${detailType} Execution State Change`,
      source: "aws.codepipeline",
      resources: [`arn:aws:codepipeline:us-east-1:123456789012:${String(detail.pipeline)}`],
      detail: { region: "us-east-1", version: 1, ...detail },
    });
    await sandbox.settle();
  }

  /** An approval action's STARTED event: one run of ManualApproval (REFERENCE.md lifecycle). */
  function approvalStarted(executionId: string, runId: string, attempt: number) {
    return emit("Action", {
      pipeline: "main-app-production-v3",
      "execution-id": executionId,
      stage: "Approve",
      action: "ManualApproval",
      "action-execution-id": runId,
      state: "STARTED",
      "pipeline-execution-attempt": attempt,
      type: { owner: "AWS", provider: "Manual", category: "Approval", version: "1" },
    });
  }

  /** The id of the newest Slack message of a channel, as the page names it. */
  async function newestMessage(channel: string): Promise<string> {
    const state = (await sandbox.core.state()) as { slack: Array<{ id: string; channel: string }> };
    const id = state.slack.filter((m) => m.channel === channel).at(-1)?.id;
    if (!id) throw new Error(`no Slack message in ${channel}`);
    return id;
  }

  /** Everything the on-call's paging channels (PagerDuty, SMS) have received so far. */
  function pages(): number {
    const { receivers, aws } = sandbox.standins;
    return (
      receivers.deliveries.filter((d) => d.receiver === "pagerduty").length +
      aws.state.sns.published.length
    );
  }

  /** A new approval request for `executionId` (attempt 1), the page opened: its message. */
  async function newRequestOnPage(executionId: string) {
    await approvalStarted(executionId, randomUUID(), 1);
    const id = await newestMessage("slack-releases");
    await page.goto(sandbox.url as string);
    return page.locator(`[data-testid="slack-message"][data-message-id="${id}"]`);
  }

  test("Reject in Slack: the request says who rejected it, #eng is told, nothing pages", async () => {
    // Prepare: a new release waits in the Approve stage.
    const request = await newRequestOnPage(randomUUID());
    await request.locator('button[data-action-id="deploy-notifier.reject"]').waitFor();
    const pagesBefore = pages();
    const engBefore = sandbox.standins.receivers.byReceiver("slack", "slack-eng").length;

    // Act: an approver clicks Reject (the prod Slack app has no bot token: no reason modal).
    await page.selectOption('[data-testid="user-select"]', "U012ABCDEF");
    await request.locator('button[data-action-id="deploy-notifier.reject"]').click();

    // Assess: the request is replaced by the decision, without buttons.
    await request.locator(".sk-header", { hasText: /rejected by Approver 1/i }).waitFor();
    await expect(
      request.locator('button[data-action-id="deploy-notifier.approve"]').count(),
    ).resolves.toBe(0);
    // CodePipeline fails the approval action and the execution (its own FAILED events): #eng is
    // told it was rejected, and a rejection never pages: no PagerDuty event, no SMS (issue 10.3).
    await sandbox.settle();
    const eng = sandbox.standins.receivers.byReceiver("slack", "slack-eng").slice(engBefore);
    expect(eng.map((d) => JSON.stringify(d.body))).toEqual([expect.stringMatching(/rejected by/i)]);
    expect(pages()).toBe(pagesBefore);
    await page.reload();
    await request.locator(".sk-header").waitFor();
    await page.screenshot({ path: "/tmp/sandbox-rejected.png", fullPage: true });
    await request.screenshot({ path: "/tmp/sandbox-rejected-request.png" });
    await page
      .locator(
        '[data-testid="slack-inbox"][data-channel="slack-eng"] [data-testid="slack-message"]',
      )
      .first()
      .screenshot({ path: "/tmp/sandbox-rejected-eng.png" });
  }, 60_000);

  test("a request rejected in Slack, then retried: the old one says who rejected it and is not 'replaced'", async () => {
    // Prepare: an approver rejects a request in Slack (CodePipeline fails the approval and the
    // execution); the stage is retried: attempt 2 runs the approval again with a new action
    // execution id (REFERENCE.md, CodePipeline's lifecycle). New-user report, round 17: the old
    // request carried "replaced by a newer action execution" above "rejected by Approver 1".
    const executionId = randomUUID();
    const request = await newRequestOnPage(executionId);
    await page.selectOption('[data-testid="user-select"]', "U012ABCDEF");
    await request.locator('button[data-action-id="deploy-notifier.reject"]').click();
    await request.locator(".sk-header", { hasText: /rejected by Approver 1/i }).waitFor();
    await sandbox.settle();
    await emit("Pipeline", {
      pipeline: "main-app-production-v3",
      "execution-id": executionId,
      state: "RESUMED",
      "pipeline-execution-attempt": 2,
    });
    await approvalStarted(executionId, randomUUID(), 2);
    const fresh = page.locator(
      `[data-testid="slack-message"][data-message-id="${await newestMessage("slack-releases")}"]`,
    );

    // Act
    await page.reload();
    await fresh.locator('button[data-action-id="deploy-notifier.approve"]').waitFor();

    // Assess: the old request is decided (its header says by whom), with no "replaced" badge;
    // the CodePipeline table calls its run rejected, not replaced.
    await expect(request.getAttribute("data-run-state")).resolves.toBe("decided");
    await expect(request.locator(".sk-header").innerText()).resolves.toMatch(
      /rejected by Approver 1/i,
    );
    await expect(request.locator(".badge", { hasText: /replaced/i }).count()).resolves.toBe(0);
    const rows = page.locator('[data-testid="cp-approval"]', {
      hasText: executionId.slice(0, 8),
    });
    await expect(rows.count()).resolves.toBe(2);
    await expect(
      rows.evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.outcome).sort()),
    ).resolves.toEqual(["Rejected", "pending"]);
    await request.screenshot({ path: "/tmp/sandbox-rejected-then-retried.png" });
    // The stage is left to the next tests (SUPERSEDED mode: one execution in it at a time).
    stopExecution(sandbox.standins.aws.state, "main-app-production-v3", executionId);
    await sandbox.settle();
  }, 60_000);

  test("a retried approval: the old request shows its console rejection, not 'replaced'; the new one approves with the new token", async () => {
    // Prepare: run 1 of the approval is rejected in the CodePipeline console (not in Slack, so
    // its request keeps live buttons); RetryStageExecution runs the action again: attempt 2, a
    // new action execution id and a new token (REFERENCE.md, CodePipeline's lifecycle).
    const executionId = randomUUID();
    const [run1, run2] = [randomUUID(), randomUUID()];
    await approvalStarted(executionId, run1, 1);
    const oldId = await newestMessage("slack-releases");
    await emit("Action", {
      pipeline: "main-app-production-v3",
      "execution-id": executionId,
      stage: "Approve",
      action: "ManualApproval",
      "action-execution-id": run1,
      state: "FAILED",
      "pipeline-execution-attempt": 1,
      type: { owner: "AWS", provider: "Manual", category: "Approval", version: "1" },
      "execution-result": {
        "external-execution-summary": "Wrong build",
        "error-code": "JobFailed",
      },
    });
    await emit("Pipeline", {
      pipeline: "main-app-production-v3",
      "execution-id": executionId,
      state: "FAILED",
      "pipeline-execution-attempt": 1,
    });
    await emit("Pipeline", {
      pipeline: "main-app-production-v3",
      "execution-id": executionId,
      state: "RESUMED",
      "pipeline-execution-attempt": 2,
    });
    await approvalStarted(executionId, run2, 2);
    const newId = await newestMessage("slack-releases");
    expect(newId).not.toBe(oldId);
    await page.goto(sandbox.url as string);
    await page.selectOption('[data-testid="user-select"]', "U012ABCDEF");
    const old = page.locator(`[data-testid="slack-message"][data-message-id="${oldId}"]`);
    const fresh = page.locator(`[data-testid="slack-message"][data-message-id="${newId}"]`);
    await fresh.locator('button[data-action-id="deploy-notifier.approve"]').waitFor();
    // The old request's run was decided (rejected in the console) before the retry: the page
    // says so and disables its buttons; it was not "replaced" (that is an undecided run's end).
    await expect(old.getAttribute("data-run-state")).resolves.toBe("decided");
    await expect(
      old.locator(".badge", { hasText: "replaced by a newer action execution" }).count(),
    ).resolves.toBe(0);
    await expect(old.locator('[data-testid="request-ended"]').innerText()).resolves.toMatch(
      /^❌ Already rejected in CodePipeline at \d{4}-\d\d-\d\d \d\d:\d\d UTC: Wrong build/,
    );
    await expect(
      old.locator('button[data-action-id="deploy-notifier.approve"]').isDisabled(),
    ).resolves.toBe(true);
    await expect(fresh.locator(".badge", { hasText: "attempt 2" }).count()).resolves.toBe(1);
    const calls = () =>
      sandbox.standins.aws.state.codepipeline.calls.filter(
        (c) => c.operation === "PutApprovalResult",
      );
    const callsBefore = calls().length;
    await page.screenshot({ path: "/tmp/sandbox-superseded.png", fullPage: true });
    await old.screenshot({ path: "/tmp/sandbox-superseded-old-request.png" });

    // Act: Approve on the NEW request.
    await fresh.locator('button[data-action-id="deploy-notifier.approve"]').click();

    // Assess: approved, and CodePipeline got PutApprovalResult with run 2's token.
    await fresh
      .locator(".sk-header", {
        hasText: /approved by Approver 1 at \d{4}-\d\d-\d\d \d\d:\d\d UTC$/,
      })
      .waitFor();
    await sandbox.settle();
    const approvals = codePipelineView(sandbox.standins.aws.state)["main-app-production-v3"]
      .approvals;
    const runs = [...approvals.pending, ...approvals.decided];
    const token1 = runs.find((r) => r.actionExecutionId === run1)?.token;
    const token2 = runs.find((r) => r.actionExecutionId === run2)?.token;
    expect(token2).toBeDefined();
    expect(token2).not.toBe(token1);
    expect(
      calls()
        .slice(callsBefore)
        .map((c) => [c.input.token, (c.input.result as { status: string }).status]),
    ).toEqual([[token2, "Approved"]]);
    await page.reload();
    await fresh.locator(".sk-header").waitFor();
    await page.screenshot({ path: "/tmp/sandbox-approved-run2.png", fullPage: true });
    await fresh.screenshot({ path: "/tmp/sandbox-approved-run2-request.png" });
    await page
      .locator('[data-testid="cp-pipeline"][data-pipeline="main-app-production-v3"]')
      .screenshot({ path: "/tmp/sandbox-codepipeline.png" });
    // Every click's response_url (one per click, as Slack mints them) stayed within Slack's
    // budget of 5 uses within 30 minutes (testing/receivers/slack-webhook.ts).
    expect(sandbox.standins.receivers.responseUrlOveruse).toEqual([]);
  }, 90_000);

  test("the page shows the scenario's lifecycle: attempt 2, a rollback with its target, an expired request", async () => {
    await page.goto(sandbox.url as string);
    await page.locator('[data-testid="cp-pipeline"]').first().waitFor();

    // The rollback: an execution of type ROLLBACK, named with the execution it went back to.
    const gateway = page.locator(
      '[data-testid="cp-pipeline"][data-pipeline="api-gateway-prod-cluster"]',
    );
    const rollback = gateway.locator('[data-testid="cp-execution"][data-type="ROLLBACK"]');
    await expect(rollback.count()).resolves.toBe(1);
    await expect(rollback.innerText()).resolves.toMatch(
      /rollback to [0-9a-f]{8}\s+AutomatedRollback\s+1/,
    );
    // #eng was told in words (the PagerDuty resolve carries none).
    await expect(
      page
        .locator(
          '[data-testid="slack-inbox"][data-channel="slack-eng"] [data-testid="slack-message"]',
        )
        .filter({ hasText: /automatic rollback to execution/ })
        .count(),
    ).resolves.toBe(1);

    // Attempt 2: the retried Deploy's events and the retried approval's request.
    await expect(page.locator("#events td", { hasText: /^2$/ }).count()).resolves.toBeGreaterThan(
      0,
    );
    const releases = '[data-testid="slack-inbox"][data-channel="slack-releases"]';
    await expect(
      page.locator(`${releases} .badge`, { hasText: "attempt 2" }).count(),
    ).resolves.toBeGreaterThan(0);

    // The request nobody answered: its run expired (the stand-in's view), marked on the page.
    const expired = page.locator(
      `${releases} [data-testid="slack-message"][data-run-state="expired"]`,
    );
    await expect(expired.count()).resolves.toBe(1);
    await expect(expired.locator(".badge", { hasText: "expired" }).count()).resolves.toBe(1);
    await expect(
      page.locator('[data-testid="cp-approval"][data-outcome="Expired"]').count(),
    ).resolves.toBe(1);
    // A decided run names PutApprovalResult's IAM caller as CodePipeline records it (it read
    // "approved by approver", the role's last segment alone).
    await expect(
      page.locator('[data-testid="cp-approval"][data-outcome="Approved"]').first().innerText(),
    ).resolves.toContain("approved by role/approver");
    await gateway.screenshot({ path: "/tmp/sandbox-rollback.png" });
    await expired.screenshot({ path: "/tmp/sandbox-expired-request.png" });
  }, 30_000);

  test("a request whose run expired, or whose execution was stopped or superseded, shows no live buttons and says why", async () => {
    // Prepare: a release waits at the approval and its execution is stopped; then another one
    // waits and is superseded (their Pipeline events, as CodePipeline emits them: the runs end
    // Abandoned in the stand-in). The scenario left one request whose run expired. A click on
    // any of them could only be answered "this approval is no longer pending".
    const pipeline = "main-app-production-v3";
    const ended: Record<string, string> = {};
    for (const state of ["STOPPED", "SUPERSEDED"]) {
      const executionId = randomUUID();
      await approvalStarted(executionId, randomUUID(), 1);
      ended[state] = await newestMessage("slack-releases");
      await emit("Pipeline", {
        pipeline,
        "execution-id": executionId,
        state,
        "pipeline-execution-attempt": 1,
      });
    }

    // Act
    await page.goto(sandbox.url as string);
    await page.locator('[data-testid="slack-message"]').first().waitFor();
    const request = (id: string) =>
      page.locator(`[data-testid="slack-message"][data-message-id="${id}"]`);
    const expired = page.locator(
      '[data-testid="slack-inbox"][data-channel="slack-releases"] [data-testid="slack-message"][data-run-state="expired"]',
    );

    // Assess: each says how its run ended; Approve and Reject are there but disabled, with the
    // reason as their title (they were live, and a click was told "no longer pending").
    const cases = [
      [
        request(ended.STOPPED),
        "stopped",
        /ended at \d{4}-\d\d-\d\d \d\d:\d\d UTC: execution [0-9a-f]{8} was stopped\./,
      ],
      [
        request(ended.SUPERSEDED),
        "superseded",
        /ended at \d{4}-\d\d-\d\d \d\d:\d\d UTC: execution [0-9a-f]{8} was superseded by a newer execution\./,
      ],
      [expired, "expired", /expired at \d{4}-\d\d-\d\d \d\d:\d\d UTC — no decision in time\./],
    ] as const;
    for (const [item, state, reason] of cases) {
      await expect(item.count()).resolves.toBe(1);
      await expect(item.getAttribute("data-run-state")).resolves.toBe(state);
      const notice = item.locator('[data-testid="request-ended"]');
      await expect(notice.innerText()).resolves.toMatch(reason);
      await expect(notice.innerText()).resolves.toMatch(
        /^🚫 Approval of main-app-production-v3 › Approve › ManualApproval /,
      );
      for (const action of ["approve", "reject"]) {
        const button = item.locator(`button[data-action-id="deploy-notifier.${action}"]`);
        await expect(button.isDisabled()).resolves.toBe(true);
        await expect(button.getAttribute("title")).resolves.toMatch(reason);
      }
    }
    // A pending request keeps live buttons.
    await approvalStarted(randomUUID(), randomUUID(), 1);
    const live = request(await newestMessage("slack-releases"));
    await live.locator('button[data-action-id="deploy-notifier.approve"]').waitFor();
    await expect(live.getAttribute("data-run-state")).resolves.toBe("pending");
    await expect(
      live.locator('button[data-action-id="deploy-notifier.approve"]').isEnabled(),
    ).resolves.toBe(true);
    await expect(live.locator('[data-testid="request-ended"]').count()).resolves.toBe(0);
    await page.locator('[data-testid="slack-inbox"][data-channel="slack-releases"]').screenshot({
      path: "/tmp/sandbox-ended-requests.png",
    });
    await request(ended.STOPPED).screenshot({ path: "/tmp/sandbox-stopped-request.png" });
    await expired.screenshot({ path: "/tmp/sandbox-expired-request-ended.png" });
  }, 60_000);

  /** The executions of main-app-production-v3 the stand-in holds InProgress. */
  function inProgress(): string[] {
    const view = codePipelineView(sandbox.standins.aws.state)["main-app-production-v3"];
    return view.executions.filter((e) => e.status === "InProgress").map((e) => e.executionId);
  }

  test("a request decided in the CodePipeline console shows its buttons disabled, saying who decided and when", async () => {
    // Prepare: a release waits at the approval; someone approves it in the console (their own
    // PutApprovalResult, not a Slack click), so the Slack request still has its buttons.
    // An earlier test's request may still hold the stage (SUPERSEDED mode: one execution at a
    // time), which would keep this one waiting: its executions are stopped first.
    const pipeline = "main-app-production-v3";
    const { state } = sandbox.standins.aws;
    // Stopping one lets a waiting one in: stop again until none is left (a bounded loop).
    for (let round = 0; round < 10 && inProgress().length > 0; round += 1) {
      inProgress().forEach((e) => stopExecution(state, pipeline, e));
    }
    expect(inProgress()).toEqual([]);
    await sandbox.settle();
    const executionId = randomUUID();
    await approvalStarted(executionId, randomUUID(), 1);
    const id = await newestMessage("slack-releases");
    const run = codePipelineView(state)[pipeline].approvals.pending.find(
      (r) => r.executionId === executionId,
    );
    expect(run?.token).toEqual(expect.any(String));
    putApprovalResult(state, {
      pipelineName: pipeline,
      stageName: "Approve",
      actionName: "ManualApproval",
      result: { status: "Approved", summary: "Looks good from the console" },
      token: run?.token,
    });
    await sandbox.settle();

    // Act
    await page.goto(sandbox.url as string);
    const item = page.locator(`[data-testid="slack-message"][data-message-id="${id}"]`);
    await item.locator('[data-testid="request-ended"]').waitFor();

    // Assess: what a click would be told (handlers/approval/ended.ts), and no live button.
    const reason =
      /Already approved in CodePipeline by role\/approver at \d{4}-\d\d-\d\d \d\d:\d\d UTC: Looks good from the console/;
    await expect(item.getAttribute("data-run-state")).resolves.toBe("decided");
    const notice = await item.locator('[data-testid="request-ended"]').innerText();
    expect(notice).toMatch(/^✅ /);
    expect(notice).toMatch(reason);
    for (const action of ["approve", "reject"]) {
      const button = item.locator(`button[data-action-id="deploy-notifier.${action}"]`);
      await expect(button.isDisabled()).resolves.toBe(true);
      await expect(button.getAttribute("title")).resolves.toMatch(reason);
    }
    await item.screenshot({ path: "/tmp/sandbox-console-approved-request.png" });
  }, 60_000);

  test("the fault selector offers the receivers the stack uses, and only those", async () => {
    // It listed teams, discord and webhook on every stack (prod has none: refused) and never
    // slack-response, the approval replies (a new-user finding).
    await page.goto(sandbox.url as string);
    const options = page.locator('[data-testid="fault-receiver"] option');
    await options.first().waitFor({ state: "attached" });
    const values = await options.evaluateAll((nodes) =>
      nodes.map((n) => (n as HTMLOptionElement).value),
    );
    expect([...values].sort()).toEqual(["pagerduty", "slack", "slack-response", "sns"]);
    await expect(options.allInnerTexts()).resolves.toContain("sns (SMS and email)");
  }, 30_000);

  test("the fault selector shows the fault set on the chosen receiver, also after a reload", async () => {
    // Prepare: a fault set outside the page (as --fault or POST /api/faults would).
    sandbox.core.setFault("pagerduty", "429");
    try {
      // Act
      await page.goto(sandbox.url as string);
      await page
        .locator('[data-testid="fault-receiver"] option')
        .first()
        .waitFor({ state: "attached" });
      const kind = page.locator("#fault-kind");

      // Assess: it said "none" for every receiver after a reload.
      await page.selectOption('[data-testid="fault-receiver"]', "pagerduty");
      await expect(kind.inputValue()).resolves.toBe("429");
      await page.selectOption('[data-testid="fault-receiver"]', "slack");
      await expect(kind.inputValue()).resolves.toBe("off");
    } finally {
      sandbox.core.setFault("pagerduty", null);
    }
  }, 30_000);

  test("the fault menu offers every fault the sandbox lists, 503x2 included, and shows one set through the API", async () => {
    // It had its own list without 503x2: a 503x2 set through POST /api/faults read "none".
    await page.goto(sandbox.url as string);
    const kinds = page.locator('[data-testid="fault-kind"] option');
    await page
      .locator('[data-testid="fault-receiver"] option')
      .first()
      .waitFor({ state: "attached" });
    const menu = (sandbox.core.info() as { faultMenu: string[] }).faultMenu;
    expect(menu).toContain("503x2");
    await expect(
      kinds.evaluateAll((nodes) => nodes.map((n) => (n as HTMLOptionElement).value)),
    ).resolves.toEqual(["off", ...menu]);

    const api = (receiver: string, fault: string | null) =>
      fetch(`${sandbox.url}/api/faults`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ receiver, fault }),
      });
    try {
      // Act: a listed fault and one the menu does not list, set while the page is open.
      expect((await api("pagerduty", "503x2")).status).toBe(200);
      expect((await api("slack", "502x3")).status).toBe(200);

      // Assess: the menu follows (the page polls); the unlisted fault is added, not "none".
      const kind = page.locator('[data-testid="fault-kind"]');
      await page.locator("#facts .chip", { hasText: "fault slack: 502 ×3" }).waitFor();
      await page.selectOption('[data-testid="fault-receiver"]', "pagerduty");
      await expect(kind.inputValue()).resolves.toBe("503x2");
      await page.selectOption('[data-testid="fault-receiver"]', "slack");
      await expect(kind.inputValue()).resolves.toBe("502x3");
      await expect(kind.locator("option:checked").innerText()).resolves.toBe("502 ×3");
      await page.selectOption('[data-testid="fault-receiver"]', "sns");
      await expect(kind.inputValue()).resolves.toBe("off");
    } finally {
      await api("pagerduty", null);
      await api("slack", null);
    }
  }, 30_000);

  test("every time on the page, Block Kit dates included, is 24-hour UTC", async () => {
    await page.goto(sandbox.url as string);
    await page.locator('[data-testid="slack-message"]').first().waitFor();
    const text = await page.locator("main").innerText();
    // Slack's `<!date>` was rendered in local 12-hour time ("11/30/2026, 5:14:02 AM") before.
    expect(text).not.toMatch(/\b(AM|PM)\b|\d{1,2}\/\d{1,2}\/\d{4}/);
    const times = await page.locator(".meta .muted, time").allInnerTexts();
    expect(times.length).toBeGreaterThan(5);
    for (const t of times) expect(t).toMatch(/\b\d\d:\d\d(:\d\d)? UTC\b/);
    // Instants quoted in audit results ("already sent at …") too.
    await expect(page.locator("#audit").innerText()).resolves.not.toMatch(/\dT\d\d:\d\d/);
    // The event time column: the ISO instant in the same format.
    await expect(page.locator("#events td").nth(4).innerText()).resolves.toMatch(
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/,
    );
  }, 30_000);

  test("email is drawn as an email: subject, from, to, body; no SMS segment count", async () => {
    // Prepare: the prod stack has no email channel; add one SNS email publish (as views.ts
    // reports it, SMS length facts included) to the state the page reads.
    const email = {
      channel: "email-platform",
      at: "2026-01-05T14:02:09.000Z",
      subject: "[deploy-notifier] FAILED main-app-production-v3 Deploy/DeployECS",
      message:
        "main-app-production-v3 failed at Deploy/DeployECS\n\nPipeline: main-app-production-v3",
      chars: 80,
      encoding: "GSM-7",
      segments: 1,
    };
    await page.route("**/api/state", async (route) => {
      const state = (await (await route.fetch()).json()) as {
        info: { channels: Array<Record<string, unknown>> };
        email: unknown[];
      };
      state.info.channels.push({
        name: "email-platform",
        type: "email",
        addresses: ["platform-team@example.com"],
      });
      state.email = [email];
      await route.fulfill({ json: state });
    });
    try {
      // Act
      await page.goto(sandbox.url as string);
      const mail = page.locator('[data-testid="email-inbox"] [data-testid="email-message"]');
      await mail.waitFor();
      // Assess
      await expect(mail.locator(".email-subject").innerText()).resolves.toBe(email.subject);
      const text = await mail.innerText();
      expect(text).toContain("From\nAWS Notifications <no-reply@sns.amazonaws.com>");
      expect(text).toContain("To\nplatform-team@example.com");
      expect(text).toContain("Date\n14:02:09 UTC");
      await expect(mail.locator(".email-body").innerText()).resolves.toBe(email.message);
      expect(text).not.toMatch(/segment|GSM-7|chars/);
      await page.locator('[data-testid="email-inbox"]').screenshot({
        path: path.join(ARTIFACTS, "sandbox-email.png"),
      });
      await expect(mail.locator(".bubble").count()).resolves.toBe(0);
      // SMS stays SMS, with its length facts.
      await expect(
        page.locator('[data-testid="sms-message"]').first().innerText(),
      ).resolves.toMatch(/GSM-7 · 1 segment/);
    } finally {
      // The page polls /api/state: a handler still fulfilling a poll when the route is removed
      // threw "Route is already handled" into the next test once it navigated (a CI run). What
      // this test asserts is on the page; a late poll's handler has nothing left to say.
      await page.unrouteAll({ behavior: "ignoreErrors" });
    }
  }, 30_000);

  test("cards show their whole content; nothing overflows a 1280 or a 390 px window", async () => {
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 900 });
      await page.goto(sandbox.url as string);
      await page.locator('[data-testid="slack-message"]').first().waitFor();
      // The failure with a commit shows its commit and its "View logs" button inside the card.
      await page.locator('button[data-action-id="deploy-notifier.link.logs"]').first().waitFor();
      await expect(clippedCards()).resolves.toEqual([]);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
      expect(overflow).toBeLessThanOrEqual(width);
      expect((await screenshot(`sandbox-${width}.png`)).length).toBeGreaterThan(10_000);
    }
    await page.setViewportSize({ width: 1280, height: 1000 });
  }, 60_000);
});
