/**
 * AWS SDK clients, created lazily once per cold start, and secret reads cached for at most
 * {@link SECRET_MAX_AGE_MS}.
 *
 * Endpoints come from the SDK's standard `AWS_ENDPOINT_URL_<SERVICE>` variables, which is how the
 * tests and the local sandbox point the real clients at local stand-ins.
 */
import type * as CodePipelineSdk from "@aws-sdk/client-codepipeline";
import type * as SqsSdk from "@aws-sdk/client-sqs";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SNSClient } from "@aws-sdk/client-sns";

/** Per-cold-start cache. A `const` object: see handlers/README.md rule 3. */
const cache: {
  ddb?: DynamoDBDocumentClient;
  sns?: SNSClient;
  secrets?: SecretsManagerClient;
  codepipeline?: CodePipelineSdk.CodePipelineClient;
  lambda?: LambdaClient;
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

/** SDK calls are bounded: no call may hang a Lambda until its timeout. */
const SDK_TIMEOUTS = { connectionTimeout: 2000, requestTimeout: 5000, throwOnRequestTimeout: true };

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
    new DynamoDBClient({ maxAttempts: 3, requestHandler: SDK_TIMEOUTS }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  return cache.ddb;
}

/** SNS client. */
export function sns(): SNSClient {
  cache.sns ??= new SNSClient({ maxAttempts: 2, requestHandler: SDK_TIMEOUTS });
  return cache.sns;
}

/**
 * CodePipeline client. Required lazily: the approval handler's click path never calls CodePipeline
 * (its async work does), and a client loaded at the top of an archive costs every cold start.
 */
export function codepipeline(): CodePipelineSdk.CodePipelineClient {
  const { CodePipelineClient } = require("@aws-sdk/client-codepipeline") as typeof CodePipelineSdk;
  cache.codepipeline ??= new CodePipelineClient({ maxAttempts: 2, requestHandler: SDK_TIMEOUTS });
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
    requestHandler: SDK_TIMEOUTS,
  });
  return cache.sqs;
}

/** Lambda client (the approval handler invokes itself asynchronously). */
export function lambda(): LambdaClient {
  cache.lambda ??= new LambdaClient({ maxAttempts: 2, requestHandler: SDK_TIMEOUTS });
  return cache.lambda;
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
  cache.secrets ??= new SecretsManagerClient({ maxAttempts: 3, requestHandler: SDK_TIMEOUTS });
  const pending = cache.secrets.send(new GetSecretValueCommand({ SecretId: arn })).then((out) => {
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
