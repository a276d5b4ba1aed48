/**
 * Running the program's archives locally: a stack's config pointed at the local receivers, and
 * the resources the archives name (audit table, secrets) made real in the stand-ins. Shared by
 * `npm start`, the benchmark and the archive tests.
 */
import { createHash } from "node:crypto";
import type { ProgramResult } from "./program";
import { createAuditTable } from "./dynamo";
import { declaredIam } from "./iam/declared";
import type { Receivers } from "./receivers";
import type { AllStandins } from "./standins";

/** Secret settings by channel name (and `slackApp`), as in `deploy-notifier:secrets`. */
export type Secrets = Record<string, Record<string, string>>;

/** A 32-character PagerDuty routing key derived from a label (stable, and not a real key). */
export function localRoutingKey(label: string): string {
  return createHash("sha256").update(label).digest("hex").slice(0, 32);
}

/**
 * The environment variable listing a test run's receiver ports (comma-separated ports on
 * 127.0.0.1; tests/support/global-setup.js picks them for each jest run).
 */
export const RECEIVER_PORTS_ENV = "DEPLOY_NOTIFIER_RECEIVER_PORTS";

/**
 * The ports the receivers of a world whose program is evaluated try first (`startAll({ receivers:
 * { ports } })`): the run's ports from {@link RECEIVER_PORTS_ENV}, none when it is unset (outside
 * a test run: a random port). The evaluation names the receivers' port ({@link pointAtReceivers}
 * puts PagerDuty's endpoint in the channel's config, which the fan-out archive captures), so
 * worlds whose receivers listen on the same port, one after the other, with the same config are
 * one evaluation, made once per run (testing/program-cache.ts); worlds open at the same time take
 * different ports, each its own evaluation. The same archives still run in fresh processes
 * against each world's own receivers. Throws, naming the value, when it is not a list of ports.
 */
export function worldReceiverPorts(env: NodeJS.ProcessEnv = process.env): number[] {
  const text = env[RECEIVER_PORTS_ENV];
  if (!text) return [];
  return text.split(",").map((part) => {
    const port = Number(part);
    if (!/^\d+$/.test(part) || port < 1 || port > 65535)
      throw new Error(`${RECEIVER_PORTS_ENV}="${text}": "${part}" is not a port (1-65535)`);
    return port;
  });
}

/**
 * A copy of a stack's raw config whose channels deliver to `receivers`: webhook URLs as secrets,
 * PagerDuty's endpoint in its (non-secret) channel config, a routing key per PagerDuty channel,
 * and the Slack app's signing secret. SMS and email need nothing: they go
 * through the SNS stand-in.
 */
export function pointAtReceivers(
  stackRaw: Record<string, unknown>,
  receivers: Receivers,
  signingSecret: string,
): { raw: Record<string, any>; secrets: Secrets } {
  const raw = structuredClone(stackRaw) as Record<string, any>;
  const secrets: Secrets = {};
  for (const [name, channel] of Object.entries((raw.channels ?? {}) as Record<string, any>)) {
    switch (channel.type) {
      case "slack":
        secrets[name] = { webhookUrl: receivers.urlFor("slack", name) };
        break;
      case "pagerduty":
        secrets[name] = { routingKey: localRoutingKey(`local:${name}`) };
        raw.channels[name] = { ...channel, endpoint: receivers.pagerdutyEndpoint };
        break;
      case "teams":
      case "discord":
        secrets[name] = { webhookUrl: receivers.urlFor(channel.type, name) };
        break;
      case "webhook":
        secrets[name] = { url: receivers.urlFor("webhook", name) };
        break;
      default:
        break;
    }
  }
  secrets.slackApp = { signingSecret };
  return { raw, secrets };
}

/**
 * Creates what the evaluated program's Lambdas name in their environment: the audit table, the
 * channel secrets and the Slack app secret, in the stand-ins; and turns IAM enforcement on with
 * the program's declared policies, so that a process started with `standins.envFor(name)` may do
 * only what its role allows (`enforceIam: false` leaves the stand-ins permissive).
 */
export async function provisionForArchives(
  program: ProgramResult,
  standins: AllStandins,
  secrets: Secrets,
  options: { enforceIam?: boolean } = {},
): Promise<void> {
  const envs = program.archives.map((a) => a.environment);
  const tables = new Set(envs.map((e) => e.AUDIT_TABLE).filter(Boolean));
  for (const table of tables) await createAuditTable(standins.dynamo.endpoint, table);
  const { slackApp, ...channelSecrets } = secrets;
  for (const env of envs) {
    if (env.CHANNEL_SECRETS_ARN) {
      standins.aws.state.secrets[env.CHANNEL_SECRETS_ARN] = JSON.stringify(channelSecrets);
    }
    if (env.SLACK_APP_SECRET_ARN) {
      standins.aws.state.secrets[env.SLACK_APP_SECRET_ARN] = JSON.stringify(slackApp ?? {});
    }
  }
  if (options.enforceIam !== false)
    standins.iam.load(declaredIam(program, standins.aws.env.AWS_REGION));
}
