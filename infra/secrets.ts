/**
 * The notifier's two Secrets Manager secrets. Config secrets live only here: the Lambdas get the
 * ARNs in their environment and read the values at run time.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config";
import { childOptions, componentType, type Tags } from "./component";

/** Inputs of {@link NotifierSecrets}. */
export interface NotifierSecretsArgs {
  /** The stack name, for the descriptions. */
  stack: string;
  /** Webhook URLs and keys by channel name (read by the fan-out). */
  channelSecrets: StackConfig["channelSecrets"];
  /** Signing secret and bot token of the Slack app (read by the approval Lambda); `{}` if unused. */
  slackApp: NonNullable<StackConfig["slackApp"]> | Record<string, never>;
  tags: Tags;
}

/**
 * `channel-secrets` and `slack-app`, each a secret and its current version, the value passed as a
 * Pulumi secret so that it is encrypted in the state and never shown in a preview.
 */
export class NotifierSecrets extends pulumi.ComponentResource {
  /** Channel webhook URLs and keys, as JSON: `{ [channel]: { [field]: value } }`. */
  readonly channelSecrets: aws.secretsmanager.Secret;
  /** The Slack app's secrets, as JSON: `{ signingSecret, botToken }` (or `{}`). */
  readonly slackApp: aws.secretsmanager.Secret;

  constructor(name: string, args: NotifierSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentType("NotifierSecrets"), name, {}, opts);
    const child = childOptions(this);
    const secret = (secretName: string, what: string, value: unknown) => {
      const s = new aws.secretsmanager.Secret(
        secretName,
        {
          description: `deploy-notifier ${args.stack}: ${what}`,
          recoveryWindowInDays: 7,
          tags: args.tags,
        },
        child,
      );
      new aws.secretsmanager.SecretVersion(
        secretName,
        { secretId: s.id, secretString: pulumi.secret(JSON.stringify(value)) },
        child,
      );
      return s;
    };
    this.channelSecrets = secret(
      "channel-secrets",
      "channel webhook URLs and keys",
      args.channelSecrets,
    );
    this.slackApp = secret("slack-app", "Slack app signing secret and bot token", args.slackApp);
    this.registerOutputs({
      channelSecretsArn: this.channelSecrets.arn,
      slackAppArn: this.slackApp.arn,
    });
  }
}
