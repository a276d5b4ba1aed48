/**
 * Runs the policy pack's policies offline, the way the Pulumi engine calls them through
 * @pulumi/policy (its `server.js`): `validateResource` once per resource with the resource's
 * *inputs* as `props` (ResourceValidationArgs), then `validateStack` once with every resource's
 * *outputs* as `props` (StackValidationArgs, PolicyResource).
 */
import type {
  Policies,
  PolicyResource,
  PolicyResourceOptions,
  ResourceValidationArgs,
  StackValidationArgs,
} from "@pulumi/policy";
import type { DeclaredResource, ProgramResult } from "../../testing";
import { POLICIES } from "../../policy/rules";

/** One violation: the policy that reported it, its message and the URN it names. */
export interface Violation {
  policy: string;
  message: string;
  urn?: string;
}

/** A resource as both validations see it: inputs for validateResource, outputs for validateStack. */
export interface PackResource {
  type: string;
  name: string;
  inputs: Record<string, any>;
  outputs: Record<string, any>;
  /** The parent component's URN, as the engine passes it in `opts.parent`. */
  parent?: string;
  /** `propertyDependencies` the engine would pass (property → resources it depends on). */
  dependsOn?: Record<string, PackResource[]>;
}

const OPTIONS: PolicyResourceOptions = {
  protect: false,
  ignoreChanges: [],
  aliases: [],
  customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
  additionalSecretOutputs: [],
};

class NotApplicable extends Error {}

function urnOf(stack: string, r: { type: string; name: string }): string {
  return `urn:pulumi:${stack}::deploy-notifier::${r.type}::${r.name}`;
}

/**
 * The program's declared resources for the pack: inputs as recorded, outputs as the mock engine
 * (testing/program.ts `recordingMocks`) answered them: the inputs plus `name` (the input name, or
 * `<logical name>-<position>`), `arn` and `id`.
 */
export function fromProgram(result: ProgramResult): PackResource[] {
  return result.resources.map((r: DeclaredResource, i) => ({
    type: r.type,
    name: r.name,
    inputs: r.inputs,
    outputs: {
      ...r.inputs,
      name: r.inputs.name ?? `${r.name}-${i + 1}`,
      arn: r.arn ?? `arn:aws:mock:us-east-1:123456789012:${r.name}`,
      id: r.id ?? `${r.name}-id`,
    },
  }));
}

function isTypeOf(type: string) {
  return (cls: unknown) => (cls as { __pulumiType?: string }).__pulumiType === type;
}

/** The PolicyResources of a stack validation, with dependencies resolved to each other. */
function stackResources(stack: string, resources: PackResource[]): PolicyResource[] {
  const out = new Map<PackResource, PolicyResource>();
  for (const r of resources) {
    out.set(r, {
      type: r.type,
      name: r.name,
      urn: urnOf(stack, r),
      props: r.outputs,
      opts: OPTIONS,
      dependencies: [],
      propertyDependencies: {},
      isType: isTypeOf(r.type),
      asType: ((cls: unknown) => (isTypeOf(r.type)(cls) ? r.outputs : undefined)) as any,
    });
  }
  for (const r of resources) {
    const pr = out.get(r)!;
    for (const [prop, deps] of Object.entries(r.dependsOn ?? {})) {
      pr.propertyDependencies[prop] = deps.map((d) => out.get(d)!).filter(Boolean);
      pr.dependencies.push(...pr.propertyDependencies[prop]);
    }
  }
  return [...out.values()];
}

function notApplicable(reason?: string): never {
  throw new NotApplicable(reason);
}

/** Runs every policy of the pack (or `policies`) over `resources`; resolves with the violations. */
export async function runPack(
  resources: PackResource[],
  options: { stack?: string; policies?: Policies } = {},
): Promise<Violation[]> {
  const stack = options.stack ?? "test";
  const violations: Violation[] = [];
  for (const policy of options.policies ?? POLICIES) {
    const report = (urn?: string) => (message: string, explicit?: string) =>
      violations.push({ policy: policy.name, message, urn: explicit ?? urn });
    try {
      if ("validateResource" in policy && policy.validateResource) {
        const validations = [policy.validateResource].flat();
        for (const r of resources) {
          const args: ResourceValidationArgs = {
            type: r.type,
            name: r.name,
            urn: urnOf(stack, r),
            props: r.inputs,
            opts: r.parent ? { ...OPTIONS, parent: r.parent } : OPTIONS,
            stackTags: new Map(),
            isType: isTypeOf(r.type),
            asType: ((cls: unknown) => (isTypeOf(r.type)(cls) ? r.inputs : undefined)) as any,
            getConfig: <T extends object>() => ({}) as T,
            notApplicable,
          };
          for (const validate of validations) await validate(args, report(args.urn));
        }
      }
      if ("validateStack" in policy) {
        const args: StackValidationArgs = {
          resources: stackResources(stack, resources),
          stackTags: new Map(),
          getConfig: <T extends object>() => ({}) as T,
          notApplicable,
        };
        await policy.validateStack(args, report());
      }
    } catch (err: unknown) {
      if (!(err instanceof NotApplicable)) throw err;
    }
  }
  return violations;
}
