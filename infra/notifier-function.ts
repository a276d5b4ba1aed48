/**
 * One of the notifier's Lambda functions with everything it owns: its log group, its role with one
 * inline least-privilege policy, the `CallbackFunction` (whose code archive Pulumi serializes from
 * the handler factory), and optionally its SQS trigger, public URL and async-invoke settings.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { childOptions, componentType, type Tags } from "./component";
import { policyDocument, type Statement } from "./policies";
import { SETTINGS } from "./settings";

/** A Lambda handler as CallbackFunction takes it. */
export type HandlerFactory = () => (event: any, context: any) => Promise<unknown>;

/** Inputs of {@link NotifierFunction}. */
export interface NotifierFunctionArgs {
  /** The function's physical name; its log group is `/aws/lambda/<functionName>`. */
  functionName: string;
  description: string;
  /** Captured and serialized into the archive: see handlers/README.md for what it may require. */
  callbackFactory: HandlerFactory;
  timeoutSeconds: number;
  logRetentionDays: number;
  /** Environment variables (names from `ENV` in handlers/types.ts). */
  environment: Record<string, pulumi.Input<string>>;
  /**
   * The role's statements besides log writing, given the function's own ARN (for a
   * self-invocation). The policy document must stay under IAM's 10,240 characters per role.
   */
  statements: (functionArn: pulumi.Output<string>) => pulumi.Input<Statement[]>;
  /** Packages to keep out of the archive (provided by the runtime, or deploy-time only). */
  excludePackages: string[];
  /** Single files to ship although their package is excluded (`archiveIncludes` in archives.ts). */
  includePaths?: string[];
  tags: Tags;
  /** Consume this SQS queue (`<name>-from-queue`), reporting partial batch failures. */
  queueTrigger?: { queueArn: pulumi.Input<string>; batchSize: number; maximumConcurrency: number };
  /**
   * Executions reserved for (and the most allowed to) this function (Lambda
   * `ReservedConcurrentExecutions`, 0 to the account quota minus 100). Unset: the unreserved pool.
   */
  reservedConcurrency?: number;
  /** A public function URL (`<name>-url`, no IAM auth: the handler verifies the caller). */
  publicUrl?: boolean;
  /** Settings for asynchronous invocations (`<name>-async`). */
  asyncInvoke?: { maximumRetryAttempts: number; maximumEventAgeInSeconds: number };
}

/**
 * `<name>-logs`, `<name>-role`, `<name>-policy` and the function `<name>` (plus `<name>-from-queue`,
 * `<name>-url`, `<name>-async` when asked for), all named after the component.
 */
export class NotifierFunction extends pulumi.ComponentResource {
  /** `/aws/lambda/<functionName>`, where the function logs JSON. */
  readonly logGroup: aws.cloudwatch.LogGroup;
  /** The function's own role, assumable by Lambda only. */
  readonly role: aws.iam.Role;
  /** The role's one inline policy: log writing, then the caller's statements. */
  readonly policy: aws.iam.RolePolicy;
  /** The function, its archive serialized from `callbackFactory`. */
  readonly function: aws.lambda.CallbackFunction<any, unknown>;
  /** Set when `queueTrigger` is given. */
  readonly eventSourceMapping?: aws.lambda.EventSourceMapping;
  /** Set when `publicUrl` is true. */
  readonly url?: aws.lambda.FunctionUrl;
  /** Set when `asyncInvoke` is given. */
  readonly invokeConfig?: aws.lambda.FunctionEventInvokeConfig;

  constructor(name: string, args: NotifierFunctionArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentType("NotifierFunction"), name, {}, opts);
    rejectBadArgs(args, this);
    const child = childOptions(this);
    const { tags } = args;

    this.logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      { name: `/aws/lambda/${args.functionName}`, retentionInDays: args.logRetentionDays, tags },
      child,
    );
    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        assumeRolePolicy: policyDocument([
          {
            Effect: "Allow",
            Principal: { Service: "lambda.amazonaws.com" },
            Action: ["sts:AssumeRole"],
          },
        ]),
        tags,
      },
      child,
    );
    this.function = new aws.lambda.CallbackFunction(
      name,
      {
        name: args.functionName,
        description: args.description,
        callbackFactory: args.callbackFactory,
        role: this.role.arn,
        runtime: SETTINGS.runtime,
        architectures: ["arm64"],
        memorySize: SETTINGS.memoryMb,
        timeout: args.timeoutSeconds,
        ...(args.reservedConcurrency !== undefined
          ? { reservedConcurrentExecutions: args.reservedConcurrency }
          : {}),
        loggingConfig: { logFormat: "JSON", logGroup: this.logGroup.name },
        environment: { variables: args.environment },
        codePathOptions: {
          extraExcludePackages: [...args.excludePackages],
          extraIncludePaths: [...(args.includePaths ?? [])],
        },
        tags,
      },
      child,
    );
    this.policy = new aws.iam.RolePolicy(
      `${name}-policy`,
      {
        role: this.role.id,
        policy: pulumi
          .all([this.logGroup.arn, pulumi.output(args.statements(this.function.arn))])
          .apply(([logGroupArn, statements]) =>
            policyDocument([
              {
                Sid: "Logs",
                Effect: "Allow",
                Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                Resource: [`${logGroupArn}:*`],
              },
              ...(statements as Statement[]),
            ]),
          ),
      },
      child,
    );
    const extras = declareExtras(name, this.function, args, child);
    this.eventSourceMapping = extras.eventSourceMapping;
    this.url = extras.url;
    this.invokeConfig = extras.invokeConfig;
    this.registerOutputs({ functionName: this.function.name, functionArn: this.function.arn });
  }
}

/**
 * Rejects arguments AWS would refuse only at deploy time, naming the argument. Limits: Lambda
 * CreateFunction (FunctionName 1–64 of `[A-Za-z0-9_-]`, Timeout 1–900 s) and EventSourceMapping
 * ScalingConfig (MaximumConcurrency 2–1000), https://docs.aws.amazon.com/lambda/latest/api/.
 */
function rejectBadArgs(args: NotifierFunctionArgs, resource: pulumi.Resource): void {
  const problems: string[] = [];
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(args.functionName)) {
    problems.push(`functionName "${args.functionName}": 1 to 64 letters, digits, - or _`);
  }
  if (
    !Number.isInteger(args.timeoutSeconds) ||
    args.timeoutSeconds < 1 ||
    args.timeoutSeconds > 900
  ) {
    problems.push(`timeoutSeconds ${args.timeoutSeconds}: a whole number from 1 to 900`);
  }
  const concurrency = args.queueTrigger?.maximumConcurrency;
  if (
    concurrency !== undefined &&
    !(Number.isInteger(concurrency) && concurrency >= 2 && concurrency <= 1000)
  ) {
    problems.push(`queueTrigger.maximumConcurrency ${concurrency}: a whole number from 2 to 1000`);
  }
  const reserved = args.reservedConcurrency;
  if (reserved !== undefined && !(Number.isInteger(reserved) && reserved >= 0)) {
    problems.push(`reservedConcurrency ${reserved}: a whole number, 0 or more`);
  }
  if (problems.length > 0) {
    throw new pulumi.ResourceError(`NotifierFunction: ${problems.join("; ")}`, resource);
  }
}

/** The optional trigger, URL and async settings of a {@link NotifierFunction}. */
function declareExtras(
  name: string,
  fn: aws.lambda.Function,
  args: NotifierFunctionArgs,
  child: pulumi.CustomResourceOptions,
): Pick<NotifierFunction, "eventSourceMapping" | "url" | "invokeConfig"> {
  const { queueTrigger, asyncInvoke } = args;
  return {
    invokeConfig: asyncInvoke
      ? new aws.lambda.FunctionEventInvokeConfig(
          `${name}-async`,
          { functionName: fn.name, ...asyncInvoke },
          child,
        )
      : undefined,
    eventSourceMapping: queueTrigger
      ? new aws.lambda.EventSourceMapping(
          `${name}-from-queue`,
          {
            eventSourceArn: queueTrigger.queueArn,
            functionName: fn.arn,
            batchSize: queueTrigger.batchSize,
            maximumBatchingWindowInSeconds: 1,
            functionResponseTypes: ["ReportBatchItemFailures"],
            scalingConfig: { maximumConcurrency: queueTrigger.maximumConcurrency },
            tags: args.tags,
          },
          child,
        )
      : undefined,
    url: args.publicUrl
      ? new aws.lambda.FunctionUrl(
          `${name}-url`,
          { functionName: fn.name, authorizationType: "NONE" },
          child,
        )
      : undefined,
  };
}
