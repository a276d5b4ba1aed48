/**
 * Stack files for the scripts: which stacks exist, reading a stack file from any path, and
 * generated pipeline lists for scale runs.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseConfig, type StackConfig } from "../../config";
import { ROOT, placeholderSecrets, readStackConfig, readStackFile } from "../../testing";

/** The stacks that have a `Pulumi.<stack>.yaml` in the project root, sorted. */
export function availableStacks(root: string = ROOT): string[] {
  return fs
    .readdirSync(root)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

/** The stack name a file like `Pulumi.<stack>.yaml` is for, if its name says so. */
export function stackOfFile(file: string): string | undefined {
  return /^Pulumi\.(.+)\.ya?ml$/.exec(path.basename(file))?.[1];
}

export { readStackFile };

/**
 * A stack file's raw config with the pipelines replaced by `count` generated ones, spread over
 * the stack's tiers (for scale runs: the benchmark and the infra tests).
 */
export function withPipelines(stack: string, count: number): Record<string, unknown> {
  const { raw } = readStackConfig(stack);
  const tiers = Object.keys(raw.routing as Record<string, unknown>);
  const pipelines = Array.from({ length: count }, (_, i) => ({
    name: `service-${String(i).padStart(3, "0")}-${i % 2 ? "api" : "web"}-production`,
    tier: tiers[i % tiers.length],
    states: i % 3 === 0 ? ["FAILED", "SUCCEEDED"] : ["FAILED"],
  }));
  return { ...raw, pipelines };
}

/** The regions of the generated multi-account stacks ({@link withAccounts}). */
export const GENERATED_REGIONS = ["us-east-2", "eu-west-1", "ap-southeast-2"] as const;

/** The `index`-th generated source account id (12 digits, never the mock home 123456789012). */
export function generatedAccount(index: number): string {
  return String(400000000000 + index * 1001);
}

/**
 * A stack file's raw config with `count` generated pipelines spread over `accounts` source
 * accounts × `regions` regions (issue 14 scale runs): each pipeline selected by name, account and
 * region; even accounts route to the stack's first tier (a prod account: critical), odd ones to
 * its last (a sandbox account: quiet). Every source has a deploy role, so the program declares
 * the forwarding and source-access roles itself.
 */
export function withAccounts(
  stack: string,
  count: number,
  accounts: number,
  regions: number = GENERATED_REGIONS.length,
): Record<string, unknown> {
  const { raw } = readStackConfig(stack);
  const tiers = Object.keys(raw.routing as Record<string, unknown>);
  const used = GENERATED_REGIONS.slice(0, regions);
  const sources = Array.from({ length: accounts }, (_, a) => ({
    account: generatedAccount(a),
    regions: [...used],
    alias: `team-${String(a).padStart(2, "0")}-${a % 2 ? "sandbox" : "prod"}`,
    deployRoleArn: `arn:aws:iam::${generatedAccount(a)}:role/deploy-notifier-deployer`,
  }));
  const pipelines = Array.from({ length: count }, (_, i) => {
    const a = i % accounts;
    return {
      name: `service-${String(i).padStart(3, "0")}-${i % 2 ? "api" : "web"}-production`,
      account: generatedAccount(a),
      region: used[Math.floor(i / accounts) % used.length],
      tier: a % 2 ? tiers[tiers.length - 1] : tiers[0],
      states: i % 3 === 0 ? ["FAILED", "SUCCEEDED"] : ["FAILED"],
    };
  });
  return { ...raw, pipelines, sources };
}

/** A stack file's secrets as an offline reader sees them (no Pulumi passphrase, no decryption). */
export interface OfflineSecrets {
  /** The raw config with every `secure:` leaf replaced by a local placeholder. */
  raw: Record<string, unknown>;
  /** Paths like `secrets.slack-eng.webhookUrl` that the stack file holds encrypted. */
  encrypted: string[];
  /** Paths that the stack file holds in plain text (a deploy-time secret leaked into the file). */
  plainText: string[];
}

/** A local stand-in for an encrypted value, shaped so that the config's own checks accept it. */
function encryptedPlaceholder(channelType: string | undefined, channel: string, field: string) {
  if (field === "routingKey") return "ENCRYPTED0ENCRYPTED0ENCRYPTED012";
  if (field === "webhookUrl" || field === "url") {
    return channelType === "teams"
      ? `https://placeholder.logic.azure.com/workflows/${channel}`
      : `https://placeholder.invalid/encrypted/${channel}`;
  }
  return `encrypted-placeholder-${channel}-${field}`;
}

/**
 * Reads `deploy-notifier:secrets` the way a stack file holds it. `pulumi config set --secret
 * --path 'secrets.<channel>.<field>' <value>` stores `{ secure: "v1:…" }` at that leaf (Pulumi
 * docs, "Configuration": structured config, `--path`, secrets); the Pulumi CLI decrypts it at
 * deploy time. Offline there is no passphrase: such a leaf counts as set (encrypted) and gets a
 * placeholder. A leaf that is a plain string was not set with `--secret` and is reported.
 */
export function offlineSecrets(raw: Record<string, unknown>): OfflineSecrets {
  const secrets = raw.secrets;
  if (typeof secrets !== "object" || secrets === null || Array.isArray(secrets)) {
    return { raw, encrypted: [], plainText: [] };
  }
  const channels = (raw.channels ?? {}) as Record<string, { type?: string } | null>;
  const encrypted: string[] = [];
  const plainText: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [channel, fields] of Object.entries(secrets as Record<string, unknown>)) {
    if (typeof fields !== "object" || fields === null || Array.isArray(fields)) {
      out[channel] = fields;
      continue;
    }
    const copy: Record<string, unknown> = {};
    for (const [field, value] of Object.entries(fields as Record<string, unknown>)) {
      const path = `secrets.${channel}.${field}`;
      const secure = (value as { secure?: unknown } | null)?.secure;
      if (typeof secure === "string") {
        encrypted.push(path);
        copy[field] = encryptedPlaceholder(channels[channel]?.type, channel, field);
      } else {
        if (typeof value === "string") plainText.push(path);
        copy[field] = value;
      }
    }
    out[channel] = copy;
  }
  return { raw: { ...raw, secrets: out }, encrypted, plainText };
}

/**
 * A stack file's raw config for a command line: a YAML syntax error becomes
 * `<file>:<line>:<col>: <message>` (as compilers print it), not a stack trace.
 * @throws Error with that message.
 */
export function readStackFileForCli(file: string): ReturnType<typeof readStackFile> {
  try {
    return readStackFile(file);
  } catch (err: unknown) {
    const cause = (
      err as { cause?: { linePos?: Array<{ line: number; col: number }>; message?: string } }
    ).cause;
    const pos = cause?.linePos?.[0];
    if (pos && typeof cause?.message === "string") {
      const message = cause.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
      throw new Error(`${file}:${pos.line}:${pos.col}: ${message}`, { cause: err });
    }
    throw err;
  }
}

/** The stack file's secrets merged over the local placeholders (what the evaluation uses). */
function withPlaceholders(raw: Record<string, unknown>): Record<string, Record<string, string>> {
  const secrets: Record<string, Record<string, string>> = placeholderSecrets(raw);
  for (const [k, v] of Object.entries(
    (raw.secrets ?? {}) as Record<string, Record<string, string>>,
  )) {
    secrets[k] = { ...(secrets[k] ?? {}), ...v };
  }
  return secrets;
}

/**
 * Validates a stack file offline with the program's own `parseConfig`, as `pulumi preview` would
 * after decrypting: encrypted leaves are placeholders, plain-text ones are refused.
 * @throws ConfigError listing every problem.
 */
export function validateOffline(offline: OfflineSecrets, stack: string): StackConfig {
  return parseConfig(
    { ...offline.raw, secrets: withPlaceholders(offline.raw) },
    { stack, secretKeys: ["secrets"], plainTextSecrets: offline.plainText },
  );
}
