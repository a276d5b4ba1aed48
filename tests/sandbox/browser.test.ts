/**
 * The sandbox page in a real browser: headless Chromium (driven by playwright-core) finds the prod
 * approval request in the Slack inbox, a non-approver's click changes nothing, an approver's click
 * approves: the message changes to "Approved by …", the audit trail shows it and the CodePipeline
 * stand-in received PutApprovalResult.
 *
 * The Chromium is `CHROMIUM_PATH` when set, else Debian's /usr/bin/chromium when installed, else the
 * Linux x64 build shipped inside the `@sparticuz/chromium` devDependency, so `npm ci && npm test`
 * needs no browser on the machine.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";
import { startSandbox, type Sandbox } from "../../sandbox/start";

const SYSTEM_CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = path.resolve(__dirname, "..", "..", ".artifacts");

/**
 * The Chromium binary to launch: `CHROMIUM_PATH`, else Debian's when installed, else the one inside
 * `@sparticuz/chromium` (Linux x64 only: the package ships no other build). The package unpacks its
 * brotli archives (about 10 s, 200 MB) into `os.tmpdir()` and reuses whatever `chromium` it finds
 * there, of any version. So it unpacks here in a child process whose TMPDIR is a private directory,
 * renamed afterwards to one named after the package version: a later version never launches an
 * older unpack, and a test run started meanwhile never launches a half-written binary.
 *
 * @returns the path of the executable
 * @throws Error on another platform without `CHROMIUM_PATH`, or when the unpack fails (the child's
 *   stderr is in the message)
 */
async function chromiumExecutable(): Promise<string> {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  if (fs.existsSync(SYSTEM_CHROMIUM)) return SYSTEM_CHROMIUM;
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Error(
      `@sparticuz/chromium has no build for ${process.platform}-${process.arch}: ` +
        "set CHROMIUM_PATH to a Chrome or Chromium executable",
    );
  }
  const entry = require.resolve("@sparticuz/chromium");
  // The package's exports map hides package.json; its CommonJS entry is build/cjs/index.cjs.
  const manifest = path.resolve(path.dirname(entry), "..", "..", "package.json");
  const { version } = JSON.parse(fs.readFileSync(manifest, "utf8")) as { version: string };
  const target = path.join(os.tmpdir(), `deploy-notifier-chromium-${version}`);
  const executable = path.join(target, "chromium");
  if (fs.existsSync(executable)) return executable;
  const staging = fs.mkdtempSync(`${target}.partial-`);
  try {
    await promisify(execFile)(
      process.execPath,
      ["-e", "require(process.argv[1]).executablePath().then(() => {})", entry],
      { env: { ...process.env, TMPDIR: staging } },
    );
    fs.renameSync(staging, target);
  } catch (err: unknown) {
    fs.rmSync(staging, { recursive: true, force: true });
    // Another run renamed its unpack into place first: use that one.
    if (fs.existsSync(executable)) return executable;
    throw new Error(`unpacking @sparticuz/chromium ${version} failed: ${String(err)}`, {
      cause: err,
    });
  }
  return executable;
}

describe("sandbox page (headless Chromium)", () => {
  let sandbox: Sandbox;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    // The first unpack of the bundled Chromium runs in a child process while the scenario runs.
    const [executablePath] = await Promise.all([
      chromiumExecutable(),
      (async () => {
        sandbox = await startSandbox({ stack: "prod", port: 0 });
        const report = await sandbox.runScenario();
        if (!report.ok)
          throw new Error(
            `prod scenario failed: ${JSON.stringify(report.steps.filter((s) => !s.ok))}`,
          );
      })(),
    ]);
    browser = await chromium.launch({
      executablePath,
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
  }, 180_000);

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
