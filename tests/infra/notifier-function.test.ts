import { NotifierFunction, type NotifierFunctionArgs } from "../../infra/notifier-function";
import type { Statement } from "../../infra/policies";
import {
  ACCOUNT,
  childrenOf,
  expectAliasedToStackTop,
  find,
  recordResources,
  REGION,
  settled,
  valueOf,
  type Registered,
} from "./mocks";

const COMPONENT = "deploy-notifier:infra:NotifierFunction";
const FN = "aws:lambda/function:Function";
const tags = { team: "platform" };
const arn = (service: string, name: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${name}`;
let registered: Registered[];
let plain: NotifierFunction;
let full: NotifierFunction;

// A trivial handler: serializing the real ones in process takes jest seconds each.
const base: Omit<NotifierFunctionArgs, "functionName" | "statements"> = {
  description: "a function",
  callbackFactory: () => async () => "ok",
  timeoutSeconds: 30,
  logRetentionDays: 14,
  environment: { AUDIT_TABLE: "audit-1" },
  excludePackages: ["zod"],
  tags,
};

beforeAll(async () => {
  registered = await recordResources();
  plain = new NotifierFunction("plain", {
    ...base,
    functionName: "p-plain",
    statements: () => [],
  });
  full = new NotifierFunction("full", {
    ...base,
    functionName: "p-full",
    statements: (self) =>
      self.apply((fnArn): Statement[] => [
        { Sid: "Self", Effect: "Allow", Action: ["lambda:InvokeFunction"], Resource: [fnArn] },
      ]),
    queueTrigger: { queueArn: arn("sqs", "events-1"), batchSize: 10, maximumConcurrency: 5 },
    reservedConcurrency: 10,
    publicUrl: true,
    asyncInvoke: { maximumRetryAttempts: 0, maximumEventAgeInSeconds: 300 },
  });
  await settled();
}, 120_000);

it("declares the function on arm64 with its own role, log group, runtime and limits", () => {
  const fn = find(registered, FN, "plain");
  expect(fn.inputs).toMatchObject({
    name: "p-plain",
    description: "a function",
    role: arn("iam", "plain-role-physical"),
    runtime: "nodejs22.x",
    architectures: ["arm64"],
    memorySize: 256,
    timeout: 30,
    handler: "__index.handler",
    loggingConfig: { logFormat: "JSON", logGroup: "/aws/lambda/p-plain" },
    environment: { variables: { AUDIT_TABLE: "audit-1" } },
    tags,
  });
  expect(find(registered, "aws:cloudwatch/logGroup:LogGroup", "plain-logs").inputs).toEqual({
    name: "/aws/lambda/p-plain",
    retentionInDays: 14,
    tags,
  });
  expect(find(registered, "aws:iam/role:Role", "plain-role").inputs).toEqual({
    assumeRolePolicy: JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { Service: "lambda.amazonaws.com" },
          Action: ["sts:AssumeRole"],
        },
      ],
    }),
    tags,
  });
});

it("grants log writing first, then the caller's statements, which may name the function", () => {
  const statements = (name: string) =>
    JSON.parse(find(registered, "aws:iam/rolePolicy:RolePolicy", `${name}-policy`).inputs.policy)
      .Statement;
  const logs = (name: string) => ({
    Sid: "Logs",
    Effect: "Allow",
    Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
    Resource: [`${arn("cloudwatch", `/aws/lambda/p-${name}`)}:*`],
  });
  expect(find(registered, "aws:iam/rolePolicy:RolePolicy", "plain-policy").inputs.role).toBe(
    "plain-role-id",
  );
  expect(statements("plain")).toEqual([logs("plain")]);
  expect(statements("full")).toEqual([
    logs("full"),
    {
      Sid: "Self",
      Effect: "Allow",
      Action: ["lambda:InvokeFunction"],
      Resource: [arn("lambda", "p-full")],
    },
  ]);
});

it("reserves concurrency only when asked", () => {
  expect(find(registered, FN, "full").inputs.reservedConcurrentExecutions).toBe(10);
  expect(find(registered, FN, "plain").inputs).not.toHaveProperty("reservedConcurrentExecutions");
});

it("adds the queue trigger, the public URL and the async settings only when asked", async () => {
  expect(plain.eventSourceMapping ?? plain.url ?? plain.invokeConfig).toBeUndefined();
  expect(
    find(registered, "aws:lambda/eventSourceMapping:EventSourceMapping", "full-from-queue").inputs,
  ).toEqual({
    eventSourceArn: arn("sqs", "events-1"),
    functionName: arn("lambda", "p-full"),
    batchSize: 10,
    maximumBatchingWindowInSeconds: 1,
    functionResponseTypes: ["ReportBatchItemFailures"],
    scalingConfig: { maximumConcurrency: 5 },
    tags,
  });
  expect(find(registered, "aws:lambda/functionUrl:FunctionUrl", "full-url").inputs).toEqual({
    functionName: "p-full",
    authorizationType: "NONE",
  });
  expect(
    find(registered, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "full-async")
      .inputs,
  ).toEqual({ functionName: "p-full", maximumRetryAttempts: 0, maximumEventAgeInSeconds: 300 });
  expect(await valueOf(full.url!.functionUrl)).toMatch(/^https:\/\/full-url\.lambda-url\./);
});

it("keeps every URN: each child aliased to its old place at the top of the stack", () => {
  const children = childrenOf(registered, COMPONENT);
  expect(children.map((c) => c.name).sort()).toEqual([
    "full",
    "full-async",
    "full-from-queue",
    "full-logs",
    "full-policy",
    "full-role",
    "full-url",
    "plain",
    "plain-logs",
    "plain-policy",
    "plain-role",
  ]);
  expectAliasedToStackTop(children);
});

it("rejects what AWS would refuse only at deploy time, naming each argument", () => {
  const bad = () =>
    new NotifierFunction("bad", {
      ...base,
      functionName: `deploy-notifier-${"x".repeat(60)}-fanout`,
      timeoutSeconds: 901,
      statements: () => [],
      queueTrigger: { queueArn: "arn:aws:sqs:::q", batchSize: 10, maximumConcurrency: 1 },
      reservedConcurrency: -1,
    });
  expect(bad).toThrow(
    /functionName "deploy-notifier-x+-fanout": 1 to 64 .*; timeoutSeconds 901: .* 1 to 900; queueTrigger\.maximumConcurrency 1: .* 2 to 1000; reservedConcurrency -1: a whole number, 0 or more/,
  );
});
