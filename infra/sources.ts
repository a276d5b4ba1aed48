/**
 * The multi-account wiring (issue 14), declared from `sources` in stack config:
 *
 * - in the notifier's account and region: the central bus and its policy (infra/central-bus.ts),
 *   read by the intake's `codepipeline-central` rule (infra/event-intake.ts);
 * - per source (account, region) with a `deployRoleArn`: an `aws.Provider` assuming that role,
 *   and through it the forwarding rule, its target and its role (infra/forwarding.ts);
 * - per source account with a `deployRoleArn`: the source-access role the Lambdas assume
 *   (infra/source-access.ts), through the provider of the account's first region (IAM is global).
 *
 * A source without `deployRoleArn` is admitted on the bus and named in `SOURCE_ROLES`; its team
 * deploys the forwarding and source-access components itself. Nothing here grows with the number
 * of pipelines: the central part is two resources, each (account, region) five, each account two.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { SourceDeploy, StackConfig } from "../config";
import { partitionOf } from "../handlers/contracts/pipeline-id";
import type { RuntimeConfig } from "../handlers/types";
import { CentralBus } from "./central-bus";
import type { Tags } from "./component";
import { CodePipelineForwarding } from "./forwarding";
import { buildRulePattern, configAt } from "./patterns";
import {
  SourceAccess,
  sourceAccessRoleArn,
  sourceAccessRoleName,
  sourceAccessStatements,
} from "./source-access";

/** What the Lambdas need to know about the source accounts before they are declared. */
export interface SourceWiring {
  /** Source account id → the source-access role's ARN there (`SOURCE_ROLES`). */
  roles: Record<string, string>;
  /** The role's name, the same in every source account. */
  roleName: string;
}

/** The source-access role names and ARNs, from config alone (no resource needed). */
export function sourceWiring(config: StackConfig): SourceWiring {
  const rt = config.runtime;
  const roleName = sourceAccessRoleName(rt.project, rt.stack);
  const roles: Record<string, string> = {};
  for (const src of config.sources) {
    roles[src.account] = sourceAccessRoleArn(partitionOf(src.regions[0]), src.account, roleName);
  }
  return { roles, roleName };
}

/** The central bus's name: `<project>-<stack>`. */
export function centralBusName(rt: RuntimeConfig): string {
  return `${rt.project}-${rt.stack}`;
}

/** Declares the central bus (before the intake, which reads it). */
export function declareCentralBus(
  config: StackConfig,
  partition: pulumi.Input<string>,
  tags: Tags,
) {
  return new CentralBus("central-bus", {
    busName: centralBusName(config.runtime),
    accounts: config.sources.map((s) => s.account),
    organizationId: config.organizationId,
    partition,
    tags,
  });
}

/** `source-<account>-<region>`: the logical name of everything of one (account, region). */
export function sourceName(account: string, region: string): string {
  return `source-${account}-${region}`;
}

/** What {@link declareSources} declared, by (account, region) and by account. */
export interface DeclaredSources {
  providers: Record<string, aws.Provider>;
  forwardings: Record<string, CodePipelineForwarding>;
  /** The generated pattern of each (account, region), also for teams that forward themselves. */
  patterns: Record<string, string>;
  access: Record<string, SourceAccess>;
}

/** Inputs of {@link declareSources}. */
export interface SourcesArgs {
  config: StackConfig;
  centralBusArn: pulumi.Input<string>;
  /** The fan-out's and the approval's roles: the principals the source-access roles trust. */
  trustedRoleArns: pulumi.Input<string>[];
  /** The notifier's own account and region: never a source (its default-bus rule reads it). */
  home: { account: pulumi.Output<string>; region: pulumi.Output<string> };
  tags: Tags;
}

/**
 * Refuses a source (account, region) that is the notifier's own: its events already reach the
 * intake on the default bus, and forwarding them as well would deliver each twice.
 */
function refuseHome(sources: SourceDeploy[], home: SourcesArgs["home"]): void {
  pulumi.all([home.account, home.region]).apply(([account, region]) => {
    const i = sources.findIndex((s) => s.account === account && s.regions.includes(region));
    if (i >= 0) {
      throw new pulumi.RunError(
        `deploy-notifier:sources[${i}].regions: ${region} of ${account} is the notifier's own account and region, whose CodePipeline events the default-bus rule already reads; remove it (forwarding it too would deliver every event twice)`,
      );
    }
  });
}

/** The pattern for (account, region), or undefined when no pipeline selector applies there. */
function patternAt(rt: RuntimeConfig, account: string, region: string): string | undefined {
  const at = configAt(rt, account, region);
  return at.pipelines.length > 0 ? buildRulePattern(at).pattern : undefined;
}

/** One provider per (account, region), forwarding there, and one source-access role per account. */
export function declareSources(args: SourcesArgs): DeclaredSources {
  const { config, tags } = args;
  const rt = config.runtime;
  refuseHome(config.sources, args.home);
  const out: DeclaredSources = { providers: {}, forwardings: {}, patterns: {}, access: {} };
  const wiring = sourceWiring(config);
  for (const src of config.sources) {
    for (const region of src.regions) {
      const pattern = patternAt(rt, src.account, region);
      if (pattern !== undefined) out.patterns[`${src.account}/${region}`] = pattern;
    }
    if (!src.deployRoleArn) continue;
    for (const region of src.regions) {
      const name = sourceName(src.account, region);
      const provider = new aws.Provider(name, {
        region: region as aws.Region,
        assumeRoles: [{ roleArn: src.deployRoleArn, sessionName: `${rt.project}-${rt.stack}` }],
        // A role that lands in another account is refused before anything is declared there.
        allowedAccountIds: [src.account],
      });
      out.providers[`${src.account}/${region}`] = provider;
      const pattern = out.patterns[`${src.account}/${region}`];
      if (pattern === undefined) continue;
      out.forwardings[`${src.account}/${region}`] = new CodePipelineForwarding(
        name,
        {
          centralBusArn: args.centralBusArn,
          eventPattern: pattern,
          description: `deploy-notifier ${rt.stack}: CodePipeline events to the central bus`,
          tags,
        },
        { provider },
      );
    }
    const statements = sourceAccessStatements(
      partitionOf(src.regions[0]),
      src.account,
      src.regions,
      (region) => configAt(rt, src.account, region).pipelines,
    );
    if (statements.length === 0) continue;
    out.access[src.account] = new SourceAccess(
      `source-access-${src.account}`,
      {
        roleName: wiring.roleName,
        trustedRoleArns: args.trustedRoleArns,
        statements,
        tags,
      },
      { provider: out.providers[`${src.account}/${src.regions[0]}`] },
    );
  }
  return out;
}
