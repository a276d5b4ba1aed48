/**
 * Which stack `npm start` runs: the sandbox's demo stack (`sandbox/stacks/Pulumi.demo.yaml`, one
 * channel of every type and an approval) by default, a project stack (`--stack prod`: its
 * `Pulumi.prod.yaml`), or any stack file (`--config-file`). Also which receivers a stack's
 * channels use, so that a `--fault` for a receiver the stack never calls is refused up front.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT, readStackFile } from "../testing";
import { availableStacks, stackOfFile } from "../scripts/lib/stacks";
import type { SandboxFault } from "./faults";

/** The stack `npm start` runs when given none. */
export const DEMO_STACK = "demo";
/** The demo stack's file. */
export const DEMO_STACK_FILE = path.join(__dirname, "stacks", `Pulumi.${DEMO_STACK}.yaml`);
/**
 * The sandbox's own stacks (`sandbox/stacks/Pulumi.<name>.yaml`): the demo, and `multi-account`
 * (issue 14: two source accounts in two regions, one pipeline name tiered per account), and
 * `storm` (issue 11: twenty critical services failing at once, with the grouping defaults).
 */
export const SANDBOX_STACKS = [DEMO_STACK, "multi-account", "storm"];

/** A stack to run: its name and the stack file that is evaluated. */
export interface SandboxStack {
  name: string;
  file: string;
}

/** The stacks `--stack` accepts: the demo stack and the project's `Pulumi.<stack>.yaml` files. */
export function sandboxStacks(): string[] {
  return [...SANDBOX_STACKS, ...availableStacks().filter((s) => !SANDBOX_STACKS.includes(s))];
}

/**
 * The stack file to evaluate: `configFile` when given (named `stack`, else after the file's
 * `Pulumi.<name>.yaml`, else "sandbox"); else the demo stack or the project's stack `stack`.
 * @throws `--config-file <path>: no such file`, or `no stack named "<stack>"` with the list of
 *   available stacks.
 */
export function resolveStack(options: { stack?: string; configFile?: string }): SandboxStack {
  if (options.configFile) {
    const file = path.resolve(options.configFile);
    if (!fs.existsSync(file)) throw new Error(`--config-file ${file}: no such file`);
    return { name: options.stack ?? stackOfFile(file) ?? "sandbox", file };
  }
  const name = options.stack ?? DEMO_STACK;
  if (SANDBOX_STACKS.includes(name)) {
    return { name, file: path.join(__dirname, "stacks", `Pulumi.${name}.yaml`) };
  }
  if (!availableStacks().includes(name)) {
    throw new Error(
      `no stack named "${name}"; available stacks: ${sandboxStacks().join(", ")} ` +
        `(${DEMO_STACK}: sandbox/stacks/Pulumi.${DEMO_STACK}.yaml; the others: Pulumi.<stack>.yaml in ${ROOT}), ` +
        `or pass --config-file <path>`,
    );
  }
  return { name, file: path.join(ROOT, `Pulumi.${name}.yaml`) };
}

/**
 * The fault receivers a stack's channels use: `slack` (incoming webhooks), `slack-api` (bot
 * mode), `slack-response` (approval replies), `pagerduty`, `teams`, `discord`, `webhook`, and
 * `sns` (SMS and email are published through Amazon SNS).
 */
export function stackReceivers(raw: Record<string, unknown>): string[] {
  const found = new Set<string>();
  const channels = (raw.channels ?? {}) as Record<string, { type?: string; mode?: string }>;
  for (const channel of Object.values(channels)) {
    switch (channel?.type) {
      case "slack":
        found.add(channel.mode === "bot" ? "slack-api" : "slack");
        break;
      case "sms":
      case "email":
        found.add("sns");
        break;
      case "pagerduty":
      case "teams":
      case "discord":
      case "webhook":
        found.add(channel.type);
        break;
      default:
        break;
    }
  }
  const pipelines = (raw.pipelines ?? []) as Array<{ approvals?: unknown }>;
  if (Array.isArray(pipelines) && pipelines.some((p) => p?.approvals)) found.add("slack-response");
  return [...found];
}

/**
 * Why the stack cannot take a fault for `receiver` (it never calls it: such a fault would change
 * nothing), or undefined when it can: `stack prod has no channel that uses the teams receiver;
 * its receivers: …`.
 */
export function unusedReceiver(stack: SandboxStack, receiver: string): string | undefined {
  const receivers = stackReceivers(readStackFile(stack.file).raw);
  if (receivers.includes(receiver)) return undefined;
  return (
    `stack ${stack.name} has no channel that uses the ${receiver} receiver; ` +
    `its receivers: ${receivers.join(", ") || "none"}`
  );
}

/**
 * Refuses `--fault` faults for receivers the stack never calls ({@link unusedReceiver}).
 * @throws `--fault teams=500: stack prod has no channel that uses the teams receiver; its
 *   receivers: …`.
 */
export function checkFaultReceivers(
  stack: SandboxStack,
  faults: Array<{ spec: string; fault: SandboxFault | null }>,
): void {
  for (const { spec, fault } of faults) {
    const unused = unusedReceiver(stack, fault?.receiver ?? spec.split("=")[0]);
    if (unused) throw new Error(`--fault ${spec}: ${unused}`);
  }
}
