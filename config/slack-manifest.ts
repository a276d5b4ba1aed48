/**
 * The Slack app manifest that matches a stack: paste it at https://api.slack.com/apps → "Create
 * New App" → "From a manifest" (or into an existing app's "App Manifest" page) instead of setting
 * the interactivity URL and the scopes by hand.
 *
 * Only what the stack's configured features need (Slack app manifest reference,
 * docs.slack.dev/reference/app-manifest; scopes reference, docs.slack.dev/reference/scopes):
 * - a Slack channel in `webhook` mode posts to an incoming webhook: bot scope `incoming-webhook`
 *   ("enables incoming webhooks and triggers a user-facing channel picker" at install);
 * - a Slack channel in `bot` mode posts with `chat.postMessage`: bot scope `chat:write`, and a bot
 *   user (invite it to the channel);
 * - approvals need interactivity, with the request URL = the stack output `slackInteractivityUrl`
 *   (the approval Lambda's function URL);
 * - the reject-with-reason modal (`secrets.slackApp.botToken` set) calls `views.open`, which needs
 *   no scope ("No scopes required") but a bot token: the manifest gets a bot user so that
 *   installing the app yields one.
 *
 * Pure: no Pulumi, no secrets (the manifest only says whether a bot token is expected).
 */
import type { RuntimeConfig } from "../handlers/types";

/** Slack's limit on `display_information.name` (app manifest reference): 35 characters. */
export const SLACK_APP_NAME_MAX = 35;

/** The subset of Slack's app manifest (schema version 1) that this program fills in. */
export interface SlackAppManifest {
  _metadata: { major_version: 1; minor_version: 1 };
  display_information: { name: string; description: string };
  features?: { bot_user: { display_name: string; always_online: boolean } };
  oauth_config: { scopes: { bot: string[] } };
  settings: {
    interactivity?: { is_enabled: true; request_url: string };
    org_deploy_enabled: false;
    socket_mode_enabled: false;
    token_rotation_enabled: false;
  };
}

/** What the manifest depends on. */
export interface SlackManifestInput {
  runtime: Pick<RuntimeConfig, "project" | "stack" | "channels" | "pipelines">;
  /** The stack output `slackInteractivityUrl`; required when a pipeline has approvals. */
  interactivityUrl?: string;
  /** `secrets.slackApp.botToken` is set: Reject opens the reason modal (`views.open`). */
  rejectReasonModal: boolean;
}

/**
 * The manifest for a stack, or undefined when the stack uses no Slack at all (no Slack channel,
 * no approvals).
 * @throws Error when a pipeline has approvals and `interactivityUrl` is missing.
 */
export function slackManifest(input: SlackManifestInput): SlackAppManifest | undefined {
  const { runtime } = input;
  const slack = Object.values(runtime.channels).filter((c) => c.type === "slack");
  const approvals = runtime.pipelines.some((p) => p.approvals);
  if (slack.length === 0 && !approvals) return undefined;
  const scopes = new Set<string>();
  for (const channel of slack) {
    scopes.add(channel.mode === "bot" ? "chat:write" : "incoming-webhook");
  }
  const botUser = scopes.has("chat:write") || (approvals && input.rejectReasonModal);
  if (approvals && !input.interactivityUrl) {
    throw new Error("a pipeline has approvals: the manifest needs the slackInteractivityUrl");
  }
  const name = `Deploy notifier ${runtime.stack}`.slice(0, SLACK_APP_NAME_MAX);
  return {
    _metadata: { major_version: 1, minor_version: 1 },
    display_information: {
      name,
      description: `CodePipeline notifications${approvals ? " and approvals" : ""} (${runtime.project}/${runtime.stack})`,
    },
    ...(botUser
      ? { features: { bot_user: { display_name: "deploy-notifier", always_online: false } } }
      : {}),
    oauth_config: { scopes: { bot: [...scopes].sort() } },
    settings: {
      ...(approvals
        ? { interactivity: { is_enabled: true as const, request_url: input.interactivityUrl! } }
        : {}),
      org_deploy_enabled: false,
      socket_mode_enabled: false,
      token_rotation_enabled: false,
    },
  };
}
