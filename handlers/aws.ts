/**
 * AWS SDK clients, created lazily once per cold start, and secret reads cached for at most
 * {@link SECRET_MAX_AGE_MS}.
 *
 * Endpoints come from the SDK's standard `AWS_ENDPOINT_URL_<SERVICE>` variables, which is how the
 * tests and the local sandbox point the real clients at local stand-ins.
 *
 * Only DynamoDB is imported at the top (every invocation of both Lambdas uses it). Every other
 * client's package is `require`d inside its function, on first use (issue 12): the closure
 * serializer turns a top-level import into a `require` at the top of `__index.js`, which every
 * cold start pays (about 15–35 ms per client package, even after DynamoDB loaded the shared
 * `@smithy` core), and a type-only import is erased. So a fan-out batch that claims no SMS or
 * email delivery never loads SNS (one that does loads it while that delivery waits:
 * channels/sns-publisher.ts `warmSnsFor`), one that sends nothing never loads Secrets Manager,
 * and the fan-out never loads Lambda (tests/cold-start.test.ts checks the archive).
 */
import type * as CodePipelineSdk from "@aws-sdk/client-codepipeline";
import type * as LambdaSdk from "@aws-sdk/client-lambda";
import type * as SecretsSdk from "@aws-sdk/client-secrets-manager";
import type * as SnsSdk from "@aws-sdk/client-sns";
import type * as SqsSdk from "@aws-sdk/client-sqs";
import type * as StsSdk from "@aws-sdk/client-sts";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { roundTripTimeoutMs, scaledMs } from "./http";
import { homeOf, isHome, type PipelineRef } from "./contracts/pipeline-id";
import { ENV } from "./types";

/** Per-cold-start cache. A `const` object: see handlers/README.md rule 3. */
const cache: {
  ddb?: DynamoDBDocumentClient;
  ddbOnce?: DynamoDBDocumentClient;
  sns?: SnsSdk.SNSClient;
  secrets?: SecretsSdk.SecretsManagerClient;
  codepipeline?: CodePipelineSdk.CodePipelineClient;
  lambda?: LambdaSdk.LambdaClient;
  lambdaOnce?: LambdaSdk.LambdaClient;
  sqs?: SqsSdk.SQSClient;
  secretValues: Record<string, { value: Promise<unknown>; readAtMs: number }>;
} = { secretValues: {} };

/**
 * How long a secret value read from Secrets Manager is used before it is read again: 5 minutes
 * (ms). A rotated webhook URL or key then takes effect within 5 minutes on every warm
 * environment, not at its next cold start, which may be hours away; a busy fan-out environment
 * reads each secret at most 12 times an hour ($0.05 per 10,000 GetSecretValue calls).
 */
export const SECRET_MAX_AGE_MS = 5 * 60 * 1000;

/**
 * SDK calls are bounded: no call may hang a Lambda until its timeout. 2 s to connect, 5 s per
 * request (ms of AWS time), divided by the sandbox's `TIME_SCALE` when a client is created, so they
 * keep their ratio to the function timeout there too — but never under 1 s / 2 s of real time
 * (`roundTripTimeoutMs`, http.ts): the local stand-ins answer at the machine's speed, not 50 times
 * faster.
 */
function sdkTimeouts(): {
  connectionTimeout: number;
  requestTimeout: number;
  throwOnRequestTimeout: boolean;
} {
  return {
    connectionTimeout: roundTripTimeoutMs(2000, 1000),
    requestTimeout: roundTripTimeoutMs(5000, 2000),
    throwOnRequestTimeout: true,
  };
}

/** Reads a required environment variable, failing with its name. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new Error(`environment variable ${name} is not set`);
  }
  return value;
}

/** DynamoDB document client (marshalls plain JS values). */
export function ddb(): DynamoDBDocumentClient {
  cache.ddb ??= DynamoDBDocumentClient.from(
    new DynamoDBClient({ maxAttempts: 3, requestHandler: sdkTimeouts() }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  return cache.ddb;
}

/**
 * DynamoDB document client that makes one attempt per call: for a caller on a clock (Slack's 3 s
 * acknowledgement) that retries itself with short backoff until its own deadline
 * (store/claim.ts `withStoreRetries`). The SDK's throttling backoff (base 500 ms, full jitter,
 * doubling) would spend 1–3 s on two throttled attempts of one write.
 */
export function ddbOnce(): DynamoDBDocumentClient {
  cache.ddbOnce ??= DynamoDBDocumentClient.from(
    new DynamoDBClient({ maxAttempts: 1, requestHandler: sdkTimeouts() }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  return cache.ddbOnce;
}

/**
 * SNS client (sms and email channels). Required lazily: see the file's comment. One attempt per
 * call: a standard topic's Publish has no idempotency, so a repeat after a timeout may be a
 * second text; the fan-out's own retries repeat it instead (handlers/retry.ts), where a repeat
 * after an unanswered attempt is recorded `ambiguous` (fanout/deliver.ts); a throttled Publish
 * is retried there with backoff, then deferred as a rate limit. (A clock-skew refusal is no
 * longer retried by the SDK after it corrects its offset; Lambda's clock is kept in sync.)
 */
export function sns(): SnsSdk.SNSClient {
  const { SNSClient } = require("@aws-sdk/client-sns") as typeof SnsSdk;
  cache.sns ??= new SNSClient({ maxAttempts: 1, requestHandler: sdkTimeouts() });
  return cache.sns;
}

/**
 * CodePipeline client. Required lazily: the approval handler's click path never calls CodePipeline
 * (its async work does), and a client loaded at the top of an archive costs every cold start.
 */
export function codepipeline(): CodePipelineSdk.CodePipelineClient {
  const { CodePipelineClient } = require("@aws-sdk/client-codepipeline") as typeof CodePipelineSdk;
  cache.codepipeline ??= new CodePipelineClient({ maxAttempts: 2, requestHandler: sdkTimeouts() });
  return cache.codepipeline;
}

/**
 * SQS client (the fan-out's dead-lettering with reasons and its re-sends to the events queue).
 * Required lazily: most invocations never send to a queue, and a client loaded at the top of the
 * archive costs every cold start ~10 ms. `useQueueUrlAsEndpoint: false`: by default the client
 * sends to the queue URL's host, which would bypass `AWS_ENDPOINT_URL_SQS`.
 */
export function sqs(): SqsSdk.SQSClient {
  const { SQSClient } = require("@aws-sdk/client-sqs") as typeof SqsSdk;
  cache.sqs ??= new SQSClient({
    maxAttempts: 3,
    useQueueUrlAsEndpoint: false,
    requestHandler: sdkTimeouts(),
  });
  return cache.sqs;
}

/** Lambda client (the approval handler invokes itself asynchronously). Required lazily. */
export function lambda(): LambdaSdk.LambdaClient {
  const { LambdaClient } = require("@aws-sdk/client-lambda") as typeof LambdaSdk;
  cache.lambda ??= new LambdaClient({ maxAttempts: 2, requestHandler: sdkTimeouts() });
  return cache.lambda;
}

/**
 * Lambda client that makes one attempt per call: for the click path on Slack's 3 s, where a
 * refusal (a 4xx: nothing was queued) must be told apart from an answer that did not come in
 * time (the work may be queued); the SDK's retry of a 429 cut off by the budget's abort would
 * leave only the abort. Required lazily.
 */
export function lambdaOnce(): LambdaSdk.LambdaClient {
  const { LambdaClient } = require("@aws-sdk/client-lambda") as typeof LambdaSdk;
  cache.lambdaOnce ??= new LambdaClient({ maxAttempts: 1, requestHandler: sdkTimeouts() });
  return cache.lambdaOnce;
}

/**
 * Reads a JSON secret from Secrets Manager, reusing a value read less than
 * {@link SECRET_MAX_AGE_MS} before `nowMs` (epoch ms; the clock, for tests). A failed read is not
 * cached, so the next invocation tries again; an expired value is not served when its re-read
 * fails. The value is never logged; errors name only the ARN.
 */
export function secretJson<T>(arn: string, nowMs: number = Date.now()): Promise<T> {
  const cached = cache.secretValues[arn];
  if (cached && nowMs - cached.readAtMs < SECRET_MAX_AGE_MS) return cached.value as Promise<T>;
  const sdk = require("@aws-sdk/client-secrets-manager") as typeof SecretsSdk;
  cache.secrets ??= new sdk.SecretsManagerClient({ maxAttempts: 3, requestHandler: sdkTimeouts() });
  const pending = cache.secrets
    .send(new sdk.GetSecretValueCommand({ SecretId: arn }))
    .then((out) => {
      if (typeof out.SecretString !== "string") {
        throw new Error(`secret ${arn} has no SecretString`);
      }
      try {
        return JSON.parse(out.SecretString) as T;
      } catch {
        throw new Error(`secret ${arn} is not valid JSON`);
      }
    });
  const entry = { value: pending as Promise<unknown>, readAtMs: nowMs };
  cache.secretValues[arn] = entry;
  pending.catch(() => {
    if (cache.secretValues[arn] === entry) delete cache.secretValues[arn];
  });
  return pending;
}

/**
 * Per-cold-start cache of the source-account access (issue 14): the STS client, the assumed
 * roles' credentials by role ARN, one CodePipeline client per (account, region). A `const`
 * object (handlers/README.md rule 3).
 */
const sourceCache: {
  sts?: StsSdk.STSClient;
  roles: Record<string, { value: Promise<RoleCredentials>; expiresAtMs: number }>;
  clients: Record<string, CodePipelineSdk.CodePipelineClient>;
} = { roles: {}, clients: {} };

/** Temporary credentials of an assumed role (STS AssumeRole `Credentials`). */
interface RoleCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

/**
 * Assumed-role credentials are used until this long before their `Expiration` (ms of AWS time,
 * divided by `TIME_SCALE`): the SDK's own refresh window for expiring credentials, 5 minutes
 * (`@smithy/core` `EXPIRATION_MS`), so a call never starts with keys about to expire.
 */
export const ROLE_REFRESH_MARGIN_MS = 5 * 60 * 1000;

/** The role to assume for `account`, from `SOURCE_ROLES`; undefined when none is configured. */
export function sourceRoleOf(account: string): string | undefined {
  const raw = process.env[ENV.sourceRoles];
  if (!raw) return undefined;
  let roles: unknown;
  try {
    roles = JSON.parse(raw);
  } catch {
    throw new Error(`environment variable ${ENV.sourceRoles} is not JSON`);
  }
  const role = (roles as Record<string, unknown> | null)?.[account];
  return typeof role === "string" && role ? role : undefined;
}

/**
 * Why CodePipeline of `ref` cannot be reached, or undefined when it can: a pipeline outside the
 * home account needs a role in `SOURCE_ROLES`. The message names the account.
 */
export function sourceAccessProblem(
  ref: Pick<PipelineRef, "account" | "region">,
): string | undefined {
  if (isHome(ref) || ref.account === homeOf().account) return undefined;
  try {
    if (sourceRoleOf(ref.account)) return undefined;
  } catch (err: unknown) {
    return err instanceof Error ? err.message : String(err);
  }
  return `no role to assume in account ${ref.account}: ${ENV.sourceRoles} has no entry for it (list the account in config key sources)`;
}

/** The credentials of `roleArn`, assumed through STS and reused until shortly before expiry. */
function roleCredentials(roleArn: string): Promise<RoleCredentials> {
  const now = Date.now();
  const cached = sourceCache.roles[roleArn];
  if (cached && now < cached.expiresAtMs) return cached.value;
  const sdk = require("@aws-sdk/client-sts") as typeof StsSdk;
  sourceCache.sts ??= new sdk.STSClient({ maxAttempts: 2, requestHandler: sdkTimeouts() });
  const session = (process.env.AWS_LAMBDA_FUNCTION_NAME || "deploy-notifier")
    .replace(/[^\w+=,.@-]/g, "-")
    .slice(0, 64);
  // Until the answer says when they expire, callers share this one request.
  const entry: { value?: Promise<RoleCredentials>; expiresAtMs: number } = {
    expiresAtMs: Number.POSITIVE_INFINITY,
  };
  const value = sourceCache.sts
    .send(new sdk.AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: session }))
    .then((out) => {
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration)
        throw new Error(`sts: AssumeRole of ${roleArn} returned no credentials`);
      entry.expiresAtMs = c.Expiration.getTime() - scaledMs(ROLE_REFRESH_MARGIN_MS);
      return {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.SessionToken,
        expiration: c.Expiration,
      };
    });
  entry.value = value;
  sourceCache.roles[roleArn] = entry as { value: Promise<RoleCredentials>; expiresAtMs: number };
  value.catch(() => {
    if (sourceCache.roles[roleArn] === entry) delete sourceCache.roles[roleArn];
  });
  return value;
}

/**
 * The CodePipeline client for pipelines of `ref`'s account and region (issue 14): the home
 * account and region ({@link isHome}) → {@link codepipeline}; the home account in another region
 * → the function's own credentials there; any other account → the role `SOURCE_ROLES` names for
 * it, assumed through STS (required lazily; credentials cached per role until
 * {@link ROLE_REFRESH_MARGIN_MS} before they expire). One client per (account, region).
 * Throws, naming the account, when that account has no role ({@link sourceAccessProblem}).
 */
export function codepipelineFor(
  ref: Pick<PipelineRef, "account" | "region">,
): CodePipelineSdk.CodePipelineClient {
  if (isHome(ref)) return codepipeline();
  const problem = sourceAccessProblem(ref);
  if (problem) throw Object.assign(new Error(problem), { name: "SourceRoleMissing" });
  const key = `${ref.account}:${ref.region}`;
  const existing = sourceCache.clients[key];
  if (existing) return existing;
  const { CodePipelineClient } = require("@aws-sdk/client-codepipeline") as typeof CodePipelineSdk;
  const roleArn = ref.account === homeOf().account ? undefined : sourceRoleOf(ref.account);
  const client = new CodePipelineClient({
    region: ref.region,
    maxAttempts: 2,
    requestHandler: sdkTimeouts(),
    ...(roleArn && { credentials: () => roleCredentials(roleArn) }),
  });
  sourceCache.clients[key] = client;
  return client;
}
