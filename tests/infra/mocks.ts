/**
 * In-process Pulumi mocks for the component tests, the way pulumi-awsx tests its components:
 * `pulumi.runtime.setMocks` records every resource the code registers (with its inputs, parent and
 * aliases), and `call` answers only the invokes the program is known to make, throwing on any
 * other token so that a new data-source lookup cannot slip in unnoticed.
 */
import * as pulumi from "@pulumi/pulumi";
import { parseConfig } from "../../config";
import { declareNotifier } from "../../infra/notifier";
import { placeholderSecrets } from "../../testing";
import { withPlainStacks } from "../support/plain-stacks";

export const PROJECT = "deploy-notifier";
export const STACK = "prod";
export const REGION = "us-east-1";
export const ACCOUNT = "123456789012";

/** One alias as the SDK sends it: a URN, or a spec the engine completes from the resource. */
export interface AliasRecord {
  urn?: string;
  name?: string;
  type?: string;
  noParent?: boolean;
  parentUrn?: string;
}

/** One registered resource (custom or component). */
export interface Registered {
  type: string;
  name: string;
  custom: boolean;
  inputs: Record<string, any>;
  /** Top-level input names that Pulumi holds as secrets (their values are unwrapped in `inputs`). */
  secretInputs: string[];
  /** The parent's URN, or "" for a resource at the top of the stack. */
  parent: string;
  aliases: AliasRecord[];
  /** The provider reference (`<provider URN>::<id>`) it was registered with, or "" (default). */
  provider: string;
}

/** The invokes the notifier makes (infra/grants.ts), answered like the offline evaluator does. */
const CALLS: Record<string, Record<string, unknown>> = {
  "aws:index/getCallerIdentity:getCallerIdentity": {
    accountId: ACCOUNT,
    arn: `arn:aws:iam::${ACCOUNT}:user/mock`,
    userId: "mock",
  },
  "aws:index/getRegion:getRegion": { name: REGION, region: REGION, id: REGION },
  "aws:index/getPartition:getPartition": {
    partition: "aws",
    dnsSuffix: "amazonaws.com",
    id: "aws",
  },
};

/** Pulumi's marker for a secret value on the wire (sdk/nodejs/runtime/rpc.ts). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

function isSecretValue(value: unknown): value is { value: unknown } {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG
  );
}

/** The inputs with top-level secrets unwrapped, and the names of those secrets. */
function unwrapSecrets(inputs: Record<string, any>): {
  inputs: Record<string, any>;
  secretInputs: string[];
} {
  const out: Record<string, any> = {};
  const secretInputs: string[] = [];
  for (const [key, value] of Object.entries(inputs)) {
    if (isSecretValue(value)) secretInputs.push(key);
    out[key] = isSecretValue(value) ? value.value : value;
  }
  return { inputs: out, secretInputs };
}

interface AliasProto {
  getUrn(): string;
  hasSpec(): boolean;
  getSpec():
    | {
        getName(): string;
        getType(): string;
        getNoparent(): boolean;
        getParenturn(): string;
      }
    | undefined;
}

interface RegisterRequest {
  getParent(): string;
  getAliasesList(): AliasProto[];
}

function aliasRecord(a: AliasProto): AliasRecord {
  const spec = a.hasSpec() ? a.getSpec() : undefined;
  if (!spec) return { urn: a.getUrn() };
  return {
    name: spec.getName() || undefined,
    type: spec.getType() || undefined,
    noParent: spec.getNoparent() || undefined,
    parentUrn: spec.getParenturn() || undefined,
  };
}

/**
 * Installs the mocks and returns the list every later registration is appended to. Physical
 * names: the `name` input, else `<logical name>-physical`; ARNs `arn:aws:<service>:…:<name>`.
 */
export async function recordResources(): Promise<Registered[]> {
  const registered: Registered[] = [];
  let request: RegisterRequest | undefined;
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        registered.push({
          type: args.type,
          name: args.name,
          custom: args.custom ?? true,
          ...unwrapSecrets(args.inputs),
          parent: request?.getParent() ?? "",
          aliases: request?.getAliasesList().map(aliasRecord) ?? [],
          provider: args.provider ?? "",
        });
        const name = args.inputs.name ?? `${args.name}-physical`;
        const service = args.type.split(":")[1]?.split("/")[0] ?? "mock";
        const state: Record<string, unknown> = {
          ...args.inputs,
          name,
          arn: `arn:aws:${service}:${REGION}:${ACCOUNT}:${name}`,
        };
        if (args.type === "aws:cloudwatch/eventBus:EventBus") {
          // EventBridge's format (Service Authorization Reference, "event-bus" resource type).
          state.arn = `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${name}`;
        }
        if (args.type === "aws:sqs/queue:Queue") {
          state.url = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}`;
        }
        if (args.type === "aws:lambda/functionUrl:FunctionUrl") {
          state.functionUrl = `https://${args.name}.lambda-url.${REGION}.on.aws/`;
        }
        return { id: `${args.name}-id`, state };
      },
      call(args) {
        const result = CALLS[args.token];
        if (!result) throw new Error(`unexpected invoke ${args.token}`);
        return result;
      },
    },
    PROJECT,
    STACK,
    false,
  );
  // The mock monitor calls `newResource` synchronously from `registerResource`: note the
  // request's parent and aliases, which `newResource` is not given.
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: RegisterRequest, callback: unknown): unknown;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    request = req;
    try {
      return register(req, callback);
    } finally {
      request = undefined;
    }
  };
  return registered;
}

/** Waits until every registration and output the program started has finished. */
export async function settled(): Promise<void> {
  const runtime = pulumi.runtime as unknown as { waitForRPCs(): Promise<void> };
  await runtime.waitForRPCs();
}

/** The value of an output (undefined if unknown). */
export function valueOf<T>(output: pulumi.Input<T>): Promise<T> {
  return new Promise((resolve) => pulumi.output(output).apply((v) => resolve(v as T)));
}

/** The URN of a resource of `type` called `name` directly under the stack (no parent). */
export function topLevelUrn(type: string, name: string): string {
  return `urn:pulumi:${STACK}::${PROJECT}::${type}::${name}`;
}

/** The URN an alias stands for, completed from the resource as the engine does. */
export function aliasUrn(resource: Registered, alias: AliasRecord): string {
  if (alias.urn) return alias.urn;
  const type = alias.type ?? resource.type;
  const name = alias.name ?? resource.name;
  const parent = alias.noParent ? "" : (alias.parentUrn ?? resource.parent);
  if (!parent) return topLevelUrn(type, name);
  const parentTypes = parent.split("::")[2];
  return `urn:pulumi:${STACK}::${PROJECT}::${parentTypes}$${type}::${name}`;
}

/** The custom resources registered under the component of type `componentType`. */
export function childrenOf(registered: Registered[], componentType: string): Registered[] {
  return registered.filter(
    (r) => r.custom && r.parent.split("::")[2]?.split("$").pop() === componentType,
  );
}

/** The one resource of `type` called `name`; throws if there is none or more than one. */
export function find(registered: Registered[], type: string, name: string): Registered {
  const found = registered.filter((r) => r.type === type && r.name === name);
  if (found.length !== 1) throw new Error(`${found.length} resources ${type} ${name}`);
  return found[0];
}

/**
 * Checks that each child of a component was moved without replacement: its only alias is its
 * old URN at the top of the stack, under the same type and logical name.
 */
export function expectAliasedToStackTop(children: Registered[]): void {
  expect(children.length).toBeGreaterThan(0);
  for (const child of children) {
    expect({
      resource: `${child.type} ${child.name}`,
      aliases: child.aliases.map((a) => aliasUrn(child, a)),
    }).toEqual({
      resource: `${child.type} ${child.name}`,
      aliases: [topLevelUrn(child.type, child.name)],
    });
  }
}

/**
 * Declares the whole notifier for the stack config `raw` (secrets replaced by placeholders, as
 * in a preview) with stub handler closures, and waits until every registration has finished.
 * Returns what `declareNotifier` returned. Runs with V8's own stack text (support/plain-stacks.ts:
 * Pulumi records a stack per resource promise, and jest's source mapping of each was most of a
 * declaration's CPU).
 */
export async function declareForTest(
  raw: Record<string, unknown>,
  stack = STACK,
): Promise<ReturnType<typeof declareNotifier>> {
  const config = parseConfig(
    { ...raw, secrets: placeholderSecrets(raw) },
    { stack, secretKeys: ["secrets"] },
  );
  return withPlainStacks(async () => {
    const declared = declareNotifier({
      config,
      fanout: () => async () => undefined,
      approval: () => async () => undefined,
      excludePackages: [],
    });
    await settled();
    return declared;
  });
}
