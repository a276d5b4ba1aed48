/**
 * The Slack app manifest that matches a stack (config/slack-manifest.ts) and the command that
 * prints it (scripts/slack-manifest.ts). Scopes per Slack's scope reference: incoming webhooks need
 * `incoming-webhook`, `chat.postMessage` needs `chat:write`, `views.open` needs no scope.
 */
import { parseConfig } from "../config";
import { slackManifest } from "../config/slack-manifest";
import { main, URL_PLACEHOLDER } from "../scripts/slack-manifest";
import { placeholderSecrets, readStackConfig } from "../testing";

const URL = "https://abc123.lambda-url.us-east-1.on.aws/";

/** The prod stack's runtime config, with `change` applied to the raw config first. */
function prodRuntime(change: (raw: Record<string, any>) => void = () => undefined) {
  const { raw } = readStackConfig("prod");
  change(raw);
  return parseConfig({ ...raw, secrets: placeholderSecrets(raw) }, { stack: "prod" }).runtime;
}

/** Runs the command in-process; `deployed` answers the `pulumi stack output` look-up. */
function run(argv: string[], deployed?: string) {
  const out: string[] = [];
  const err: string[] = [];
  const code = main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) }, () => deployed);
  return { code, out: out.join(""), err: err.join("") };
}

describe("slackManifest", () => {
  it("prod (webhook channels, approvals): incoming-webhook only, interactivity at the URL", () => {
    const manifest = slackManifest({
      runtime: prodRuntime(),
      interactivityUrl: URL,
      rejectReasonModal: false,
    });

    expect(manifest?.oauth_config.scopes.bot).toEqual(["incoming-webhook"]);
    expect(manifest?.settings.interactivity).toEqual({ is_enabled: true, request_url: URL });
    expect(manifest?.features).toBeUndefined();
  });

  it("bot mode: chat:write and a bot user; webhook mode alongside adds incoming-webhook", () => {
    const runtime = prodRuntime((raw) => {
      raw.channels["slack-eng"] = { type: "slack", mode: "bot", channel: "C012AB3CD" };
    });
    const manifest = slackManifest({ runtime, interactivityUrl: URL, rejectReasonModal: false });

    expect(manifest?.oauth_config.scopes.bot).toEqual(["chat:write", "incoming-webhook"]);
    expect(manifest?.features?.bot_user.display_name).toBe("deploy-notifier");
  });

  it("the reject-with-reason modal adds a bot user (for a bot token) but no scope", () => {
    const manifest = slackManifest({
      runtime: prodRuntime(),
      interactivityUrl: URL,
      rejectReasonModal: true,
    });

    expect(manifest?.oauth_config.scopes.bot).toEqual(["incoming-webhook"]);
    expect(manifest?.features?.bot_user).toBeDefined();
  });

  it("no approvals: no interactivity; no Slack at all: no manifest", () => {
    const { raw } = readStackConfig("staging");
    const staging = parseConfig({ ...raw, secrets: placeholderSecrets(raw) }, { stack: "staging" });
    expect(
      slackManifest({ runtime: staging.runtime, rejectReasonModal: false })?.settings.interactivity,
    ).toBeUndefined();

    const noSlack = {
      ...staging.runtime,
      channels: { pd: { type: "pagerduty" as const } },
    };
    expect(slackManifest({ runtime: noSlack, rejectReasonModal: false })).toBeUndefined();
  });

  it("the app name fits Slack's 35-character limit", () => {
    const runtime = { ...prodRuntime(), stack: "a-very-long-stack-name-for-testing-limits" };
    const manifest = slackManifest({ runtime, interactivityUrl: URL, rejectReasonModal: false });

    expect(manifest?.display_information.name).toHaveLength(35);
  });
});

describe("npm run slack-manifest", () => {
  it("fills in the deployed stack's slackInteractivityUrl", () => {
    const result = run(["--stack", "prod"], URL);

    expect(result.code).toBe(0);
    expect(result.err).toBe("");
    expect(JSON.parse(result.out).settings.interactivity.request_url).toBe(URL);
  });

  it("--url overrides; a stack that is not deployed gets a placeholder and a note", () => {
    expect(JSON.parse(run(["--stack", "prod", "--url", URL]).out).settings.interactivity).toEqual({
      is_enabled: true,
      request_url: URL,
    });

    const undeployed = run(["--stack", "prod"], undefined);
    expect(undeployed.code).toBe(0);
    expect(JSON.parse(undeployed.out).settings.interactivity.request_url).toBe(URL_PLACEHOLDER);
    expect(undeployed.err).toMatch(/^note: stack prod is not deployed here/);
  });

  it("refuses an http URL and an unknown stack", () => {
    expect(run(["--stack", "prod", "--url", "http://example.com/"]).err).toBe(
      "error: --url http://example.com/: must be an https URL\n",
    );
    expect(run(["--stack", "qa"]).err).toMatch(/^error: no stack named "qa"; available stacks: /);
  });
});
