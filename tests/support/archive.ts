/**
 * The "archive world" the end-to-end archive tests share: the prod program evaluated with its
 * channels pointed at the local receivers, the local stand-ins provisioned with what the program
 * declares (IAM enforced against the declared policies, testing/iam), and the serialized Lambda
 * archives (what `pulumi up` would upload) started in fresh Node processes with their own role's
 * credentials.
 */
import { randomUUID } from "node:crypto";
import {
  pointAtReceivers,
  provisionForArchives,
  readStackConfig,
  startAll,
  startLambda,
  type AllStandins,
  type ArchiveInfo,
  type LambdaProcess,
  type ProgramResult,
  worldReceiverPorts,
} from "../../testing";
import { parseConfig } from "../../config";
import { evaluate } from "./program";

/** The stand-ins, the evaluated prod program, and the local stack config it was evaluated with. */
export interface ArchiveWorld {
  standins: AllStandins;
  result: ProgramResult;
  /** The prod stack config (before `edit`) and channel secrets, pointed at the local receivers. */
  local: ReturnType<typeof pointAtReceivers>;
}

/**
 * Starts the stand-ins, evaluates the prod program with the local config (`edit` may change the
 * raw config first, and add channel secrets to `world.secrets`, e.g. a bot-mode Slack channel's
 * token with `apiUrl: world.standins.receivers.slackApiUrl`) and provisions what it declares.
 * Closes the stand-ins again if that fails.
 */
export async function startArchiveWorld(options: {
  signingSecret: string;
  edit?: (
    raw: Record<string, any>,
    world: { standins: AllStandins; secrets: ArchiveWorld["local"]["secrets"] },
  ) => Record<string, any>;
}): Promise<ArchiveWorld> {
  // On one of the run's receiver ports, and evaluated with the placeholder secrets, as the
  // sandbox is (sandbox/wiring.ts evaluateStack): a secret reaches only its SecretVersion, and the
  // archives read the local ones from the Secrets Manager stand-in (provisionForArchives). So a
  // world of the same config as one before it on the same port is the same evaluation
  // (testing/world.ts worldReceiverPorts). The local secrets are validated by parseConfig, the
  // program's own validation.
  const standins = await startAll({ receivers: { ports: worldReceiverPorts() } });
  try {
    const raw = readStackConfig("prod").raw;
    const local = pointAtReceivers(raw, standins.receivers, options.signingSecret);
    const config = options.edit
      ? options.edit(local.raw, { standins, secrets: local.secrets })
      : local.raw;
    parseConfig({ ...config, secrets: local.secrets }, { stack: "prod" });
    const result = await evaluate({ stack: "prod", config });
    await provisionForArchives(result, standins, local.secrets);
    return { standins, result, local };
  } catch (err) {
    await standins.close();
    throw err;
  }
}

/** One archive running in a fresh Node process. */
export interface RunningArchive {
  archive: ArchiveInfo;
  /** The function's name (the program's `<name>FunctionName` output). */
  functionName: string;
  lambda: LambdaProcess;
}

/**
 * Starts the `name` archive of the world's program in a fresh Node process, with the archive's
 * environment and the stand-ins' endpoints and credentials for its function (its role's IAM).
 */
export async function startArchive(
  world: Pick<ArchiveWorld, "standins" | "result">,
  name: "fanout" | "approval",
): Promise<RunningArchive> {
  const archive = world.result.archives.find((a) => a.name === name);
  if (!archive) throw new Error(`the program serialized no ${name} archive`);
  const functionName = world.result.outputs[`${name}FunctionName`] as string;
  const lambda = await startLambda({
    dir: archive.dir,
    functionName,
    env: { ...archive.environment, ...world.standins.envFor(functionName) },
  });
  return { archive, functionName, lambda };
}

/**
 * The SQS event the event source mapping would deliver for one message `body`, received once
 * (`attributes` adds to or overrides the record's attributes).
 */
export function sqsEvent(body: string, attributes: Record<string, string> = {}) {
  return {
    Records: [
      {
        messageId: randomUUID(),
        body,
        attributes: { ApproximateReceiveCount: "1", ...attributes },
        eventSource: "aws:sqs",
      },
    ],
  };
}
