/**
 * The sandbox page in a real browser: headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core) finds the prod approval request in the Slack inbox, a non-approver's click
 * changes nothing, an approver's click approves: the message changes to "Approved by …", the
 * audit trail shows it and the CodePipeline stand-in received PutApprovalResult.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";
import { startSandbox, type Sandbox } from "../../sandbox/start";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = path.resolve(__dirname, "..", "..", ".artifacts");
const available = fs.existsSync(CHROMIUM);
if (!available && process.env.CI) {
  throw new Error(
    `${CHROMIUM} is missing: CI must install Debian's chromium (apt-get install -y chromium)`,
  );
}
if (!available) {
  console.warn(
    `browser test skipped: ${CHROMIUM} is missing (apt-get install -y chromium). In CI it runs.`,
  );
}
const describeBrowser = available ? describe : describe.skip;

describeBrowser("sandbox page (headless Chromium)", () => {
  let sandbox: Sandbox;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    sandbox = await startSandbox({ stack: "prod", port: 0 });
    const report = await sandbox.runScenario();
    if (!report.ok)
      throw new Error(`prod scenario failed: ${JSON.stringify(report.steps.filter((s) => !s.ok))}`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await sandbox?.close();
  });

  function approvalRequest(): Locator {
    return page
      .locator(
        '[data-testid="slack-inbox"][data-channel="slack-releases"] [data-testid="slack-message"]',
      )
      .filter({ hasText: "approval needed" });
  }

  function approvalAction(): { status?: string; lastUpdatedBy?: string } | undefined {
    const pipeline = sandbox.standins.aws.state.codepipeline.pipelines["main-app-production-v3"];
    return pipeline?.stages
      .find((s) => s.name === "Approve")
      ?.actions.find((a) => a.name === "ManualApproval");
  }

  test("a non-approver's click changes nothing; an approver's click approves", async () => {
    // Prepare: the page shows the pending approval request with its buttons.
    await page.goto(sandbox.url as string);
    const request = approvalRequest();
    await request.waitFor();
    await request.locator('button[data-action-id="deploy-notifier.approve"]').waitFor();
    expect(approvalAction()?.status).toBe("InProgress");

    // Act: the non-approver clicks Approve.
    await page.selectOption('[data-testid="user-select"]', "U0SANDBOX00");
    await request.locator('button[data-action-id="deploy-notifier.approve"]').click();

    // Assess: only they are told; the message, the pipeline and the audit trail are unchanged.
    await request.locator('[data-testid="slack-ephemeral"]').waitFor();
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
    ).resolves.toBe(0);

    // Act: an approver clicks Approve.
    await page.selectOption('[data-testid="user-select"]', "U012ABCDEF");
    await request.locator('button[data-action-id="deploy-notifier.approve"]').click();

    // Assess: the message is replaced, the audit row appears, the pipeline continues.
    await page
      .locator(
        '[data-testid="slack-inbox"][data-channel="slack-releases"] [data-testid="slack-message"][data-replaced="true"]',
      )
      .waitFor();
    await expect(request.innerText()).resolves.toMatch(/Approved by @Approver 1/);
    await expect(
      request.locator('button[data-action-id="deploy-notifier.approve"]').count(),
    ).resolves.toBe(0);
    const decided = page.locator('[data-testid="audit-row"][data-action="approval-decided"]');
    await decided.first().waitFor();
    await expect(decided.first().innerText()).resolves.toContain("Approved");
    expect(approvalAction()?.status).toBe("Succeeded");
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const shot = path.join(ARTIFACTS, "sandbox-approval.png");
    await page.screenshot({ path: shot, fullPage: true });
    expect(fs.statSync(shot).size).toBeGreaterThan(10_000);
  }, 60_000);
});
