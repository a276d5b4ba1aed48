/**
 * Local stand-ins for AWS and for the channel receivers, used by the tests and by the local
 * sandbox (`npm start`).
 */
import { startAwsStandins, type AwsStandins, type AwsStandinsOptions } from "./aws";
import { startDynalite, type Dynalite } from "./dynamo";
import { createIamEnforcer, type IamEnforcer } from "./iam/enforce";
import { startReceivers, type Receivers, type ReceiversOptions } from "./receivers";

/** Everything started by {@link startAll}. */
export interface AllStandins {
  aws: AwsStandins;
  dynamo: Dynalite;
  receivers: Receivers;
  /** `AWS_*` variables for every stand-in, `AWS_ENDPOINT_URL_DYNAMODB` included. */
  env: Record<string, string>;
  /**
   * IAM enforcement shared by the AWS stand-ins and DynamoDB; off until a program's IAM is loaded
   * (`provisionForArchives` loads it). Give each function process `envFor(functionName)`.
   */
  iam: IamEnforcer;
  /** `env` with the credentials of one function's role, for its process. */
  envFor(functionName: string): Record<string, string>;
  /** Closes all three. */
  close(): Promise<void>;
}

/**
 * Starts the AWS stand-ins, dynalite and the receivers. Creating tables is left to the caller
 * (`createAuditTable(all.dynamo.endpoint, name)`), which knows the table names. If one fails to
 * start, the ones already started are closed again. `receivers.port`: the receivers' port (a
 * random one by default; one that is taken fails the start).
 */
export async function startAll(
  opts: { aws?: AwsStandinsOptions; receivers?: ReceiversOptions } = {},
): Promise<AllStandins> {
  const started: Array<{ close(): Promise<void> }> = [];
  try {
    const iam = opts.aws?.iam ?? createIamEnforcer();
    const aws = await startAwsStandins({ ...opts.aws, iam });
    started.push(aws);
    const dynamo = await startDynalite({ iam });
    started.push(dynamo);
    const receivers = await startReceivers(opts.receivers);
    started.push(receivers);
    const env = { ...aws.env, AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint };
    return {
      aws,
      dynamo,
      receivers,
      env,
      iam,
      envFor: (functionName) => ({ ...env, ...iam.envFor(functionName) }),
      async close(): Promise<void> {
        await Promise.all(started.map((s) => s.close()));
      },
    };
  } catch (err: unknown) {
    await Promise.allSettled(started.map((s) => s.close()));
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`stand-ins: start failed: ${message}`, { cause: err });
  }
}
