/**
 * Evaluates the Pulumi program offline, under Pulumi's mock engine, the way `pulumi preview`
 * would run it for a stack: with that stack's config file, local placeholder values for the
 * secrets, every resource recorded with its inputs, and every CallbackFunction's code archive
 * written out exactly as `pulumi up` would upload it.
 *
 * Run as a child process (`runProgram`, through fresh-process.ts) so that each evaluation starts
 * from a clean Pulumi runtime, like the CLI does.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { evaluateInFreshProcess, ROOT, serveEvaluation } from "./fresh-process";
import { PROGRAM_CACHE_ENV, withEvaluationCache, type EvaluationInput } from "./program-cache";

const PROJECT = "deploy-notifier";
/** Pulumi's marker for a secret value on the wire (sdk/nodejs/runtime/rpc.ts). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** One resource the program declared. Secret inputs are replaced by `"[secret]"`. */
export interface DeclaredResource {
  type: string;
  name: string;
  inputs: Record<string, any>;
  /** Input property names that Pulumi holds as secrets. */
  secretInputs: string[];
  /** The id the mock engine gave it (`<logical name>-id`). */
  id?: string;
  /** The ARN the mock engine gave it, in the format AWS uses for its type ({@link mockArn}). */
  arn?: string;
}

/** One Lambda code archive, written to disk. */
export interface ArchiveInfo {
  /** Logical name of the CallbackFunction ("fanout", "approval"). */
  name: string;
  dir: string;
  bytes: number;
  files: number;
  /** The Lambda environment variables the program declared. */
  environment: Record<string, string>;
  handler: string;
}

/** Result of one offline evaluation. */
export interface ProgramResult {
  ok: true;
  stack: string;
  resources: DeclaredResource[];
  outputs: Record<string, unknown>;
  archives: ArchiveInfo[];
  rulePattern: { pattern: string; branches: unknown[] };
  routing: unknown[];
  evalMs: number;
}

/** An evaluation that failed the way `pulumi preview` fails on a config error. */
export interface ProgramFailure {
  ok: false;
  stack: string;
  /** What `pulumi preview` would print. */
  message: string;
}

/** Options of an evaluation. */
export interface ProgramOptions {
  stack: string;
  /** A stack file to read instead of the project's `Pulumi.<stack>.yaml`. */
  stackFile?: string;
  /** Raw config (keys without namespace) replacing the stack file's `deploy-notifier:*` keys. */
  config?: Record<string, unknown>;
  /** Values merged over the config's `secrets` (e.g. local receiver URLs). */
  secrets?: Record<string, Record<string, string>>;
  /** Fill every missing required secret with a local placeholder (default true). */
  placeholders?: boolean;
  /** Where to write archives (default: a fresh temp dir). */
  outDir?: string;
}

/**
 * Reads a stack file (`Pulumi.<stack>.yaml` format) into raw config (the `deploy-notifier:*` keys,
 * namespace stripped) and the other keys (provider config such as `aws:region`).
 */
export function readStackFile(file: string): {
  raw: Record<string, unknown>;
  other: Record<string, string>;
} {
  let doc: unknown;
  try {
    doc = parseYaml(fs.readFileSync(file, "utf8"));
  } catch (err: unknown) {
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`stack file ${file}: ${message}`, { cause: err });
  }
  const config = (doc as { config?: unknown } | null)?.config;
  if (config !== undefined && (typeof config !== "object" || config === null)) {
    throw new Error(`stack file ${file}: "config" must be a map of keys to values`);
  }
  const raw: Record<string, unknown> = {};
  const other: Record<string, string> = {};
  for (const [key, value] of Object.entries(config ?? {})) {
    if (key.startsWith(`${PROJECT}:`)) raw[key.slice(PROJECT.length + 1)] = value;
    else other[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return { raw, other };
}

/** Reads the project's `Pulumi.<stack>.yaml`. */
export function readStackConfig(stack: string): {
  raw: Record<string, unknown>;
  other: Record<string, string>;
} {
  const file = path.join(ROOT, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) throw new Error(`no stack config file ${path.basename(file)}`);
  return readStackFile(file);
}

/** Local placeholder values for secrets that the stack file cannot contain. */
export function placeholderSecrets(
  raw: Record<string, unknown>,
): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  const channels = (raw.channels ?? {}) as Record<string, { type?: string; mode?: string }>;
  for (const [name, ch] of Object.entries(channels)) {
    switch (ch?.type) {
      case "slack":
        out[name] =
          ch.mode === "bot"
            ? { botToken: `xoxb-placeholder-${name}` }
            : { webhookUrl: `https://hooks.slack.com/services/PLACEHOLDER/${name}` };
        break;
      case "pagerduty":
        out[name] = { routingKey: "PLACEHOLDER0PLACEHOLDER0PLACEHOL" };
        break;
      case "teams":
        // A Workflows host: config/index.ts refuses any other host for Teams.
        out[name] = { webhookUrl: `https://placeholder.logic.azure.com/workflows/${name}` };
        break;
      case "discord":
        out[name] = { webhookUrl: `https://placeholder.invalid/${ch.type}/${name}` };
        break;
      case "webhook":
        out[name] = { url: `https://placeholder.invalid/webhook/${name}` };
        break;
      default:
        break;
    }
  }
  const pipelines = (raw.pipelines ?? []) as Array<{ approvals?: unknown }>;
  if (Array.isArray(pipelines) && pipelines.some((p) => p?.approvals)) {
    out.slackApp = { signingSecret: "placeholder-signing-secret" };
  }
  return out;
}

function mergeSecrets(
  ...layers: Array<Record<string, Record<string, string>> | undefined>
): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer ?? {})) out[k] = { ...(out[k] ?? {}), ...v };
  }
  return out;
}

/**
 * Evaluates the program in a fresh Node process and returns what it declared.
 * Resolves with `ok: false` and the message `pulumi preview` would show on a config error.
 */
export async function runProgram(options: ProgramOptions): Promise<ProgramResult | ProgramFailure> {
  const outDir = options.outDir ?? evaluationDir(options.stack);
  const evaluate = () =>
    evaluateInFreshProcess<ProgramResult | ProgramFailure>(
      { file: path.join(__dirname, "program.ts"), dir: outDir, label: "program evaluation" },
      { ...options, outDir },
    );
  let input: EvaluationInput;
  try {
    input = evaluationInput(options);
  } catch {
    return evaluate(); // an unreadable stack file: the child fails as it always did
  }
  // Within a test run, an identical earlier evaluation's copy (testing/program-cache.ts).
  return withEvaluationCache(input, outDir, evaluate);
}

/**
 * A new directory for an evaluation of `stack` whose caller gave no `outDir`: `dn-<stack>-*`
 * (its result and archives, about 0.8 MB). Nothing removes it but its run: within a jest run
 * (the run's directory in {@link PROGRAM_CACHE_ENV}, tests/support/global-setup.js) it is made
 * under `<run directory>/evaluations/`, which tests/support/global-teardown.js removes with the
 * run; elsewhere (a script, or a run with the cache turned off) in the system's temporary
 * directory, where its caller removes it. Test runs left hundreds in /tmp before.
 */
export function evaluationDir(stack: string): string {
  const run = process.env[PROGRAM_CACHE_ENV];
  const base = run ? path.join(path.resolve(run), "evaluations") : os.tmpdir();
  fs.mkdirSync(base, { recursive: true });
  return fs.mkdtempSync(path.join(base, `dn-${stack}-`));
}

/**
 * What an evaluation with `options` reads from them: the stack's name and the Pulumi config it
 * runs with ({@link stackConfig}). Throws as the evaluation would on an unreadable stack file.
 */
export function evaluationInput(options: ProgramOptions): EvaluationInput {
  return { stack: options.stack, config: stackConfig(options) };
}

function redactSecrets(value: any, path: string, secrets: string[]): any {
  if (value && typeof value === "object") {
    if (value[SIG_KEY] === SECRET_SIG) {
      secrets.push(path);
      return "[secret]";
    }
    if (Array.isArray(value))
      return value.map((v, i) => redactSecrets(v, `${path}[${i}]`, secrets));
    if (value.constructor && value.constructor !== Object) return `[${value.constructor.name}]`;
    const out: Record<string, any> = {};
    for (const [k, v] of Object.entries(value))
      out[k] = redactSecrets(v, path ? `${path}.${k}` : k, secrets);
    return out;
  }
  return value;
}

/** Writes a CallbackFunction's code archive (`__index.js` + node_modules) to `dir` and measures it. */
export async function writeArchive(
  archive: any,
  dir: string,
): Promise<{ bytes: number; files: number }> {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const assets: Record<string, any> = await archive.assets;
  let bytes = 0;
  let files = 0;
  const countDir = (p: string) => {
    for (const entry of fs.readdirSync(p, { withFileTypes: true })) {
      const full = path.join(p, entry.name);
      if (entry.isDirectory()) countDir(full);
      else {
        files += 1;
        bytes += fs.statSync(full).size;
      }
    }
  };
  for (const [name, asset] of Object.entries(assets)) {
    const target = path.join(dir, name);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const text = await asset.text;
    const p = await asset.path;
    if (typeof text === "string") fs.writeFileSync(target, text);
    else if (typeof p === "string")
      fs.cpSync(path.resolve(ROOT, p), target, { recursive: true, dereference: true });
    else throw new Error(`archive entry ${name}: unsupported asset`);
  }
  countDir(dir);
  return { bytes, files };
}

/** The Pulumi config of an evaluation: the stack file (or `options.config`) and the secrets. */
function stackConfig(options: ProgramOptions): Record<string, string> {
  const { raw: fileRaw, other } = options.stackFile
    ? readStackFile(options.stackFile)
    : readStackConfig(options.stack);
  const raw = { ...(options.config ?? fileRaw) };
  const secrets = mergeSecrets(
    options.placeholders === false ? undefined : placeholderSecrets(raw),
    raw.secrets as Record<string, Record<string, string>> | undefined,
    options.secrets,
  );
  if (Object.keys(secrets).length > 0) raw.secrets = secrets;
  const config: Record<string, string> = { "aws:region": "us-east-1", ...other };
  for (const [k, v] of Object.entries(raw)) {
    config[`${PROJECT}:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
  }
  return config;
}

/**
 * The ARN AWS gives a resource of this Pulumi type and name, so that the declared policies name
 * what the stand-ins check against (formats from the Service Authorization Reference's "Resource
 * types" tables: DynamoDB `table/<name>`, Lambda `function:<name>`, Secrets Manager
 * `secret:<name>-<6 random characters>`, EventBridge `rule/<name>` and `event-bus/<name>`, CloudWatch `alarm:<name>`, CloudWatch Logs
 * `log-group:<name>`, IAM `arn:aws:iam::<account>:role/<name>`, KMS `key/<id>`). Other types: the
 * service's `arn:aws:<service>:<region>:<account>:<name>` (SNS topics, SQS queues).
 */
export function mockArn(type: string, name: string, region: string): string {
  const account = "123456789012";
  const suffix = createHash("sha256").update(name).digest("base64url").slice(0, 6);
  switch (type) {
    case "aws:dynamodb/table:Table":
      return `arn:aws:dynamodb:${region}:${account}:table/${name}`;
    case "aws:lambda/function:Function":
      return `arn:aws:lambda:${region}:${account}:function:${name}`;
    case "aws:secretsmanager/secret:Secret":
      return `arn:aws:secretsmanager:${region}:${account}:secret:${name}-${suffix}`;
    case "aws:cloudwatch/eventRule:EventRule":
      return `arn:aws:events:${region}:${account}:rule/${name}`;
    case "aws:cloudwatch/eventBus:EventBus":
      return `arn:aws:events:${region}:${account}:event-bus/${name}`;
    case "aws:cloudwatch/logGroup:LogGroup":
      return `arn:aws:logs:${region}:${account}:log-group:${name}`;
    case "aws:cloudwatch/metricAlarm:MetricAlarm":
      return `arn:aws:cloudwatch:${region}:${account}:alarm:${name}`;
    case "aws:iam/role:Role":
      return `arn:aws:iam::${account}:role/${name}`;
    case "aws:kms/key:Key":
      return `arn:aws:kms:${region}:${account}:key/${createHash("sha256").update(name).digest("hex").slice(0, 32)}`;
    default: {
      const service = type.split(":")[1]?.split("/")[0] ?? "mock";
      return `arn:aws:${service}:${region}:${account}:${name}`;
    }
  }
}

/** Pulumi mocks that record every declared resource in `resources` and answer the provider calls. */
function recordingMocks(
  resources: DeclaredResource[],
  region: string,
): import("@pulumi/pulumi").runtime.Mocks {
  return {
    newResource(args) {
      const secretInputs: string[] = [];
      const inputs = redactSecrets(args.inputs, "", secretInputs);
      resources.push({ type: args.type, name: args.name, inputs, secretInputs });
      const name = args.inputs.name ?? `${args.name}-${resources.length}`;
      const arn = mockArn(args.type, name, region);
      resources[resources.length - 1].id = `${args.name}-id`;
      resources[resources.length - 1].arn = arn;
      const state: Record<string, unknown> = { ...args.inputs, name, arn };
      if (args.type === "aws:sqs/queue:Queue") {
        state.url = `https://sqs.${region}.amazonaws.com/123456789012/${name}`;
      }
      if (args.type === "aws:lambda/functionUrl:FunctionUrl") {
        state.functionUrl = `https://${args.name}.lambda-url.${region}.on.aws/`;
      }
      return { id: `${args.name}-id`, state };
    },
    call(args) {
      switch (args.token) {
        case "aws:index/getCallerIdentity:getCallerIdentity":
          return {
            accountId: "123456789012",
            arn: "arn:aws:iam::123456789012:user/mock",
            userId: "mock",
          };
        case "aws:index/getRegion:getRegion":
          return { name: region, region, id: region };
        case "aws:index/getPartition:getPartition":
          return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
        default:
          throw new Error(`mock call not implemented: ${args.token}`);
      }
    },
  };
}

/** Resolves an Output (or a plain value) to its value. */
type Settle = (o: any) => Promise<unknown>;

/** Writes the archive of every function of the notifier the program declared. */
async function writeArchives(
  outDir: string,
  settle: Settle,
): Promise<{
  archives: ArchiveInfo[];
  rulePattern: ProgramResult["rulePattern"];
}> {
  const { lastNotifier } = require(
    path.join(ROOT, "infra", "notifier.ts"),
  ) as typeof import("../infra/notifier");
  const notifier = lastNotifier();
  if (!notifier) throw new Error("the program declared no notifier");
  const archives: ArchiveInfo[] = [];
  for (const [name, fn] of Object.entries(notifier.functions)) {
    const code = await settle(fn.code);
    const env = (await settle(fn.environment)) as
      { variables?: Record<string, string> } | undefined;
    const dir = path.join(outDir, name);
    const { bytes, files } = await writeArchive(code, dir);
    archives.push({
      name,
      dir,
      bytes,
      files,
      environment: env?.variables ?? {},
      handler: (await settle(fn.handler)) as string,
    });
  }
  return { archives, rulePattern: notifier.rulePattern };
}

/** The child side of {@link runProgram}: evaluates `index.ts` under the mocks. */
async function evaluateProgram(
  options: ProgramOptions & { outDir: string },
): Promise<ProgramResult | ProgramFailure> {
  const started = Date.now();
  const config = stackConfig(options);
  const pulumi = await import("@pulumi/pulumi");
  pulumi.runtime.setAllConfig(config, [`${PROJECT}:secrets`]);
  const resources: DeclaredResource[] = [];
  await pulumi.runtime.setMocks(
    recordingMocks(resources, config["aws:region"]),
    PROJECT,
    options.stack,
    true,
  );

  let program: Record<string, unknown>;
  try {
    program = require(path.join(ROOT, "index.ts"));
  } catch (err: unknown) {
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, stack: options.stack, message };
  }
  const settle: Settle = (o) =>
    new Promise((resolve) => (pulumi.Output.isInstance(o) ? o.apply(resolve) : resolve(o)));
  const outputs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(program)) outputs[k] = await settle(v);
  const { archives, rulePattern } = await writeArchives(options.outDir, settle);
  // Let the mock monitor finish registering everything that is still in flight.
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));

  const { routingTable } = require(
    path.join(ROOT, "infra", "patterns.ts"),
  ) as typeof import("../infra/patterns");
  const { loadConfig } = require(
    path.join(ROOT, "config", "index.ts"),
  ) as typeof import("../config");
  return {
    ok: true,
    stack: options.stack,
    resources,
    outputs,
    archives,
    rulePattern,
    routing: routingTable(loadConfig().runtime),
    evalMs: Date.now() - started,
  };
}

serveEvaluation(module, evaluateProgram);
