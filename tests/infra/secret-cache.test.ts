/**
 * Secret values are cached for a bounded age (handlers/aws.ts `SECRET_MAX_AGE_MS`): a rotated
 * webhook URL is picked up by a warm Lambda after at most that age, and not read again before.
 * Runs against the Secrets Manager stand-in (testing/aws/secrets-manager.ts), which counts reads.
 */
import { SECRET_MAX_AGE_MS, secretJson } from "../../handlers/aws";
import { startAwsStandins, type AwsStandins } from "../../testing";

const ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:deploy-notifier/channels-AbC123";
const T0 = Date.parse("2026-11-30T05:00:00.000Z");
let aws: AwsStandins;
const savedEnv = { ...process.env };

beforeAll(async () => {
  aws = await startAwsStandins();
  Object.assign(process.env, aws.env);
});
afterAll(async () => {
  await aws.close();
  process.env = savedEnv;
});

it("is 5 minutes", () => {
  expect(SECRET_MAX_AGE_MS).toBe(300_000);
});

it("serves the cached value until the age is reached, then reads the rotated one", async () => {
  aws.state.secrets[ARN] = '{"webhookUrl":"https://hooks.example/old"}';
  expect(await secretJson(ARN, T0)).toEqual({ webhookUrl: "https://hooks.example/old" });
  aws.state.secrets[ARN] = '{"webhookUrl":"https://hooks.example/new"}';

  // Just before the age: still the old value, and no second read.
  expect(await secretJson(ARN, T0 + SECRET_MAX_AGE_MS - 1)).toEqual({
    webhookUrl: "https://hooks.example/old",
  });
  expect(aws.state.secretReadsById[ARN]).toBe(1);

  // At the age: read again, the rotated value, which is then cached from that read.
  expect(await secretJson(ARN, T0 + SECRET_MAX_AGE_MS)).toEqual({
    webhookUrl: "https://hooks.example/new",
  });
  expect(await secretJson(ARN, T0 + 2 * SECRET_MAX_AGE_MS - 1)).toEqual({
    webhookUrl: "https://hooks.example/new",
  });
  expect(aws.state.secretReadsById[ARN]).toBe(2);
});

it("does not cache a failed read, nor serve an expired value when the re-read fails", async () => {
  const arn = ARN.replace("channels", "slack");
  aws.state.secrets[arn] = "not json";
  await expect(secretJson(arn, T0)).rejects.toThrow(`secret ${arn} is not valid JSON`);
  aws.state.secrets[arn] = '{"signingSecret":"s1"}';
  expect(await secretJson(arn, T0 + 1)).toEqual({ signingSecret: "s1" });

  delete aws.state.secrets[arn];
  await expect(secretJson(arn, T0 + 1 + SECRET_MAX_AGE_MS)).rejects.toThrow(
    /can't find the specified secret/,
  );
  aws.state.secrets[arn] = '{"signingSecret":"s2"}';
  expect(await secretJson(arn, T0 + 2 + SECRET_MAX_AGE_MS)).toEqual({ signingSecret: "s2" });
});
