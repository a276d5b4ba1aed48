/**
 * The sandbox page renders Discord's and Teams' Markdown as the clients do (sandbox/page/markdown.js),
 * in headless Chromium: the page showed `[**svc-02**](https://…)`, `\(OOM\)` and `<t:1796137205:f>`
 * raw where Discord shows a bold link, "(OOM)" and a date, and ran a Teams card's paragraphs into
 * one line. The payloads are the real formatters' (handlers/channels), plus hostile Markdown: only
 * http(s) links become links and no markup becomes HTML. The renderer is the page's own module,
 * loaded from the sandbox's own server; the rendered cards are drawn with the page's style sheet to
 * `.artifacts/sandbox-markdown.png`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Browser, Page } from "playwright-core";
import { formatDiscord, formatDiscordDigest } from "../../handlers/channels/discord";
import { formatTeamsDigest } from "../../handlers/channels/teams";
import { startSandboxServer, type SandboxCore, type SandboxServer } from "../../sandbox/server";
import { stormOf, useHome } from "../channels/digest-support";
import { fixture } from "../channels/helpers";
import { chromiumExecutable, launchChromium } from "../support/chromium";

const ARTIFACTS = path.resolve(__dirname, "..", "..", ".artifacts");

/**
 * The sandbox's server for its static files only: this test loads the page's modules, never the
 * page itself, so nothing asks the sandbox for state.
 */
const STATIC_ONLY = new Proxy({} as SandboxCore, {
  get: (_target, name) => () => {
    throw new Error(`page-markdown test: the server asked for ${String(name)}`);
  },
});

let server: SandboxServer;
let browser: Browser;
let page: Page;
let restore: () => void;

beforeAll(async () => {
  restore = useHome();
  const [executablePath, started] = await Promise.all([
    chromiumExecutable(),
    startSandboxServer(STATIC_ONLY, 0),
  ]);
  server = started;
  browser = await launchChromium(executablePath);
  page = await browser.newPage({ viewport: { width: 700, height: 900 } });
  // A blank document of the server's origin with the page's style sheet: modules load from it.
  await page.goto(`${server.url}/style.css`);
  await page.setContent(
    `<!doctype html><html><head><link rel="stylesheet" href="${server.url}/style.css"></head><body></body></html>`,
  );
  // The page's renderer, as the page imports it (a module script: the test's own code is
  // transpiled to CommonJS, whose import() would not run in the browser).
  await page.addScriptTag({
    type: "module",
    content: `import * as m from "${server.url}/blockkit.js"; window.blockkit = m;`,
  });
  await page.waitForFunction(() => "blockkit" in window);
}, 120_000);

afterAll(async () => {
  restore?.();
  await browser?.close();
  await server?.close();
});

/** Renders `payload` with blockkit.js `renderer` into the page; returns the card's test id. */
async function render(renderer: "renderDiscord" | "renderTeams", payload: unknown) {
  const id = `card-${Math.random().toString(36).slice(2)}`;
  await page.evaluate(
    ({ renderer, payload, id }) => {
      const m = (window as unknown as { blockkit: Record<string, (p: unknown) => Node> }).blockkit;
      const box = document.createElement("article");
      box.className = "message";
      box.dataset.testid = id;
      box.append(m[renderer](payload));
      document.body.append(box);
    },
    { renderer, payload, id },
  );
  return page.locator(`[data-testid="${id}"]`);
}

/** The links in a part of the page: [text, href]. */
function linksOf(root: ReturnType<Page["locator"]>) {
  return root
    .locator("a")
    .evaluateAll((as) => as.map((a) => [a.textContent, (a as HTMLAnchorElement).href]));
}

const URL_1 =
  "https://console.aws.amazon.com/codesuite/codepipeline/pipelines/svc-02/executions/e-2-1/timeline";
const URL_0 =
  "https://console.aws.amazon.com/codesuite/codepipeline/pipelines/svc-02/executions/e-2-0/timeline";

describe("discord", () => {
  it("a digest line: the pipeline a bold link, its time a date, 'earlier' a link", async () => {
    const payload = formatDiscordDigest(stormOf(2, 2), { type: "discord" } as never);
    const card = await render("renderDiscord", payload);
    const description = card.locator(".sk-text");
    // stormOf(2, 2): svc-02's latest is e-2-1 at 15:00:04Z (1796137204).
    await expect(description.locator("a").first().innerHTML()).resolves.toBe(
      "<strong>svc-02</strong>",
    );
    await expect(description.innerText()).resolves.toBe(
      [
        "svc-02 ×2 · Deploy · last 1 December 2026 15:00 UTC",
        "Deployment failed for svc-02 in execution e-2-1",
        "earlier: 15:00:02 UTC e-2-0",
        "svc-01 ×2 · Deploy · last 1 December 2026 15:00 UTC",
        "Deployment failed for svc-01 in execution e-1-1",
        "earlier: 15:00:01 UTC e-1-0",
      ].join("\n"),
    );
    await expect(description.locator("time").first().getAttribute("datetime")).resolves.toBe(
      "2026-12-01T15:00:04.000Z",
    );
    const links = await linksOf(description);
    expect(links.slice(0, 2)).toEqual([
      ["svc-02", URL_1],
      ["e-2-0", URL_0],
    ]);
  });

  it("a notification: escaped user text reads as typed and stays text; 'View logs' is a link", async () => {
    const card = await render(
      "renderDiscord",
      formatDiscord(fixture("failure-hostile"), {
        type: "discord",
      } as never),
    );
    const description = card.locator(".sk-text");
    await expect(description.innerText()).resolves.toBe(
      "<!channel> Deployment failed & rolled back: see <https://evil.example|click> or ask <@U123>.\n" +
        "Task “web” — exited with code 137 (OOM) 🚀 @everyone @here\n```\nstack trace line 1\n```",
    );
    await expect(description.locator("a, code, strong, em").count()).resolves.toBe(0);
    // The embed's timestamp (the notification's time, 2024-05-01T12:34:56Z) follows the footer's
    // text, as Discord shows it (discord.com, embed object `timestamp`); the page left it out.
    const footer = card.locator(".sk-context");
    await expect(footer.innerText()).resolves.toBe("deploy-notifier • 1 May 2024 12:34 UTC");
    await expect(footer.locator("time").getAttribute("datetime")).resolves.toBe(
      "2024-05-01T12:34:56.000Z",
    );
    const logs = card.locator(".sk-field", { hasText: "Logs" });
    await expect(logs.innerText()).resolves.toBe("Logs\nView logs");
    await expect(linksOf(logs)).resolves.toEqual([
      [
        "View logs",
        "https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/prod/services/web/deployments?region=eu-west-1&tab=events",
      ],
    ]);
  });

  it("bold, italic, code and links as Discord documents them; other markup and schemes stay text", async () => {
    const card = await render("renderDiscord", {
      embeds: [
        {
          title: "**deploy** [x](https://evil.example)",
          description:
            "**bold** *it* _it2_ `a*b*c` [ok](https://example.com/a_b) [js](javascript:alert%281%29)\n" +
            "<img src=x onerror=alert(1)> \\*not\\* UPDATE_ROLLBACK_COMPLETE <t:1796137204:t>",
        },
      ],
    });
    await expect(card.locator("strong").first().innerHTML()).resolves.toBe(
      "<strong>deploy</strong> <span>x</span>",
    );
    await expect(card.locator(".sk-text").innerHTML()).resolves.toBe(
      '<div class="md-p"><strong>bold</strong> <em>it</em> <em>it2</em> <code>a*b*c</code> ' +
        '<a href="https://example.com/a_b" target="_blank" rel="noopener noreferrer">ok</a> ' +
        "<span>js</span><br>&lt;img src=x onerror=alert(1)&gt; *not* UPDATE_ROLLBACK_COMPLETE " +
        '<time datetime="2026-12-01T15:00:04.000Z">15:00 UTC</time></div>',
    );
  });

  it("text holding private-use characters reads as typed (the page's placeholders are its own)", async () => {
    // U+E000–U+E07F were the page's placeholders for escaped punctuation: a commit message with
    // an icon font's glyph in that range came out as ASCII (U+E02A as "*", U+E000 as NUL).
    // U+F0041 is in the range the placeholders use now.
    const typed = "glyphs \uE02A\uE02Anot bold\uE02A\uE02A \uE041 \uE000 \uE0A0 \u{F0041} end";
    const description = `${typed} \\*escaped\\* **bold** \`a\\*b\``;
    const card = await render("renderDiscord", { embeds: [{ description }] });
    await expect(card.locator(".sk-text").innerHTML()).resolves.toBe(
      `<div class="md-p">${typed} *escaped* <strong>bold</strong> <code>a\\*b</code></div>`,
    );
  });
});

/**
 * Slack mrkdwn (blockkit.js renderMrkdwn). A link's label is everything after the first `|` up to
 * the `>` (api.slack.com, "Formatting text for app surfaces": `<http://www.example.com|This
 * message *is* a link>`; nothing there splits the label again); a date may be a link, its
 * optional_link (`<!date^timestamp^token_string^optional_link|fallback_text>`, same page).
 */
describe("slack mrkdwn", () => {
  async function mrkdwn(text: string) {
    const id = `mrkdwn-${Math.random().toString(36).slice(2)}`;
    await page.evaluate(
      ({ text, id }) => {
        const m = (
          window as unknown as {
            blockkit: { renderMrkdwn: (t: string, p: HTMLElement) => HTMLElement };
          }
        ).blockkit;
        const box = m.renderMrkdwn(text, document.createElement("div"));
        box.dataset.testid = id;
        document.body.append(box);
      },
      { text, id },
    );
    return page.locator(`[data-testid="${id}"]`);
  }

  it("a link whose label holds a '|' shows the whole label", async () => {
    const box = await mrkdwn("see <https://example.com/run|deploy | prod|eu-west-1> now");
    await expect(box.innerText()).resolves.toBe("see deploy | prod|eu-west-1 now");
    await expect(linksOf(box)).resolves.toEqual([
      ["deploy | prod|eu-west-1", "https://example.com/run"],
    ]);
  });

  it("a date with a link is a link, its time in the page's way", async () => {
    // 1796137203 is 2026-12-01T15:00:03Z.
    const box = await mrkdwn(
      "earlier: <!date^1796137203^{time_secs} · 4f2a9c1e^https://example.com/e|15:00:03 UTC · 4f2a9c1e>",
    );
    await expect(box.innerHTML()).resolves.toBe(
      'earlier: <a href="https://example.com/e" target="_blank" rel="noopener noreferrer">' +
        '<time datetime="2026-12-01T15:00:03.000Z">15:00:03 UTC · 4f2a9c1e</time></a>',
    );
  });
});

describe("teams", () => {
  it("a digest block: paragraphs, the pipeline a bold link, 'earlier' a link", async () => {
    const card = await render("renderTeams", formatTeamsDigest(stormOf(2, 2)));
    const block = card.locator(".ac-text").nth(2);
    await expect(block.locator(".md-p").allInnerTexts()).resolves.toEqual([
      "svc-02 ×2 · Deploy · last 15:00:04 UTC",
      "Deployment failed for svc-02 in execution e-2-1",
      "earlier: 15:00:02 UTC",
    ]);
    await expect(block.locator("a").first().innerHTML()).resolves.toBe("<strong>svc-02</strong>");
    await expect(linksOf(block)).resolves.toEqual([
      ["svc-02", URL_1],
      ["15:00:02 UTC", URL_0],
    ]);
  });

  it("bold, italic, lists and links as Adaptive Cards document them; escapes and schemes stay text", async () => {
    const card = await render("renderTeams", {
      attachments: [
        {
          contentType: "application/vnd.microsoft.card.adaptive",
          content: {
            type: "AdaptiveCard",
            body: [
              {
                type: "TextBlock",
                text:
                  "**Bold** _italic_ \\*not\\* [a](https://example.com) [b](ftp://example.com)\r" +
                  "- one\r- **two**\r1. three\r2. four\r\\- not a list",
              },
              { type: "FactSet", facts: [{ title: "**T**", value: "[v](https://example.com/v)" }] },
            ],
          },
        },
      ],
    });
    await expect(card.locator(".ac-text").innerHTML()).resolves.toBe(
      '<div class="md-p"><strong>Bold</strong> <em>italic</em> *not* ' +
        '<a href="https://example.com/" target="_blank" rel="noopener noreferrer">a</a> ' +
        "<span>b</span>" +
        '<ul class="md-list"><li>one</li><li><strong>two</strong></li></ul>' +
        '<ol class="md-list"><li>three</li><li>four</li></ol>- not a list</div>',
    );
    await expect(card.locator(".ac-facts th").innerHTML()).resolves.toBe("<strong>T</strong>");
    await expect(linksOf(card.locator(".ac-facts td"))).resolves.toEqual([
      ["v", "https://example.com/v"],
    ]);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, "sandbox-markdown.png"), fullPage: true });
  });
});
