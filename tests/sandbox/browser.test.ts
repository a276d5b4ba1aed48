/**
 * The sandbox page in a real browser: headless Chromium (driven by playwright-core) finds the prod
 * approval request in the Slack inbox, a non-approver's click changes nothing and only they see the
 * ephemeral refusal, an approver's click approves: the message's header says who approved and when
 * (nothing pending is left), the audit trail shows it and the CodePipeline stand-in received
 * PutApprovalResult. Also: every time on the page is 24-hour UTC; email is drawn as an email; cards
 * show their whole content and nothing overflows a 390 px window. Screenshots at 1280 and 390 px go
 * to `.artifacts/`.
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
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
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
    // Prepare: the page shows the pending approval request with its buttons.
    await page.goto(sandbox.url as string);
    await approvalRequest().waitFor();
    // The request changes its text once decided: follow it by its message id.
    const id = await approvalRequest().getAttribute("data-message-id");
    const request = page.locator(`[data-testid="slack-message"][data-message-id="${id}"]`);
    await request.locator('button[data-action-id="deploy-notifier.approve"]').waitFor();
    expect(approvalAction()?.status).toBe("InProgress");

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
    ).resolves.toBe(0);

    // Act: an approver clicks Approve.
    await page.selectOption('[data-testid="user-select"]', "U012ABCDEF");
    // (The refusal was only for Casey Visitor: the approver does not see it.)
    await expect(refusal.count()).resolves.toBe(0);
    await request.locator('button[data-action-id="deploy-notifier.approve"]').click();

    // Assess: the message is replaced, the audit row appears, the pipeline continues.
    await page
      .locator(
        '[data-testid="slack-inbox"][data-channel="slack-releases"] [data-testid="slack-message"][data-replaced="true"]',
      )
      .waitFor();
    await expect(request.innerText()).resolves.toMatch(/Approved by @Approver 1/);
    // The header says who decided what and when; nothing reads as pending any more.
    await expect(request.locator(".sk-header").innerText()).resolves.toMatch(
      /^✅ main-app-production-v3: approved by Approver 1 at \d\d:\d\d UTC$/,
    );
    const decidedText = await request.innerText();
    expect(decidedText).toMatch(/Decision\n✅ Approved by @Approver 1 at \d\d:\d\d UTC/);
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
      await page.unroute("**/api/state");
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
