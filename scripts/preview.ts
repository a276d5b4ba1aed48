/**
 * `npm run preview -- --stack <name>`: an offline `pulumi preview`. Evaluates the program for a
 * stack under Pulumi's mock engine (testing/program.ts) and prints what it would deploy: the
 * resources, the EventBridge rule pattern, the routing table, the downtime windows with their next
 * occurrences, the Lambda archives and the stack outputs.
 *
 * Options:
 *   --stack <name>         a stack with a `Pulumi.<name>.yaml` in the project root
 *   --config-file <path>   read this stack file instead of `Pulumi.<stack>.yaml` (the stack name
 *                          defaults to the file's `Pulumi.<name>.yaml`, else "preview")
 *   --json                 print the whole result as one JSON object
 *   --now <ISO time>       compute the next downtime occurrences from this instant
 *   --help                 print the usage
 *
 * A config error is printed like `pulumi preview` prints it (`error: …` on stderr), exit code 1;
 * a YAML syntax error as `error: <file>:<line>:<col>: <message>`. Secrets set the way the README
 * says (`pulumi config set --secret --path …`, stored as `secure: v1:…`) count as set: they are
 * encrypted, so the preview uses placeholders for them and says so. A secret in plain text in the
 * stack file is refused, naming its key. Warnings (a channel nothing routes to) and notes (which
 * of two overlapping pipeline rules wins) are printed, and do not fail the preview.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { configAdvice, type ConfigAdvice, type SourceDeploy } from "../config";
import { nextWindows } from "./lib/downtime-occurrences";
import type { DowntimeWindow } from "../handlers/types";
import { EVENT_PATTERN_MAX_CHARS, type RoutingRow } from "../infra/patterns";
import { ROOT, placeholderSecrets, runProgram, type ProgramResult } from "../testing";
import { errorMessage, formatBytes, renderTable, type Table } from "./lib/format";
import {
  availableStacks,
  offlineSecrets,
  readStackFileForCli,
  stackOfFile,
  validateOffline,
  type OfflineSecrets,
} from "./lib/stacks";

/** How many upcoming occurrences of each downtime window the preview shows. */
const NEXT_OCCURRENCES = 3;

/** The preview's usage text. */
export const USAGE =
  "usage: npm run preview -- --stack <name> [--config-file <path>] [--json] [--now <ISO time>]\n" +
  "  --stack <name>        a stack with a Pulumi.<name>.yaml in the project root\n" +
  "  --config-file <path>  read this stack file (stack name from Pulumi.<name>.yaml, else preview)\n" +
  "  --json                print the whole result as one JSON object\n" +
  "  --now <ISO time>      compute the next downtime occurrences from this instant\n" +
  "  --help                print this text";

/** Parsed command line of the preview. */
export interface PreviewOptions {
  /** `--help`: print the usage and nothing else. */
  help?: boolean;
  stack: string;
  /** A stack file outside the project root, or undefined for `Pulumi.<stack>.yaml`. */
  configFile?: string;
  json: boolean;
  now: Date;
}

/** A downtime window with its next occurrences, as the preview reports it. */
export type WindowPreview = DowntimeWindow & { next: Array<{ start: Date; end: Date }> };

/** A usage or input problem: printed as `error: <message>`, exit code 1. */
function usageError(message: string): Error {
  return Object.assign(new Error(message), { name: "UsageError" });
}

/** Parses and checks the command line (stack names, files) before anything is evaluated. */
export function parsePreviewArgs(argv: string[]): PreviewOptions {
  let values: {
    stack?: string;
    "config-file"?: string;
    json?: boolean;
    now?: string;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        stack: { type: "string", short: "s" },
        "config-file": { type: "string" },
        json: { type: "boolean", default: false },
        now: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err: unknown) {
    throw usageError(`${errorMessage(err)}\n${USAGE}`);
  }
  if (values.help) return { help: true, stack: "", json: false, now: new Date() };
  const stacks = availableStacks();
  const available = `available stacks: ${stacks.join(", ") || "none"} (Pulumi.<stack>.yaml in ${ROOT})`;
  const configFile = values["config-file"] ? path.resolve(values["config-file"]) : undefined;
  if (configFile && !fs.existsSync(configFile)) {
    throw usageError(`--config-file ${configFile}: no such file`);
  }
  const stack = values.stack ?? (configFile ? (stackOfFile(configFile) ?? "preview") : undefined);
  if (!stack) throw usageError(`no stack selected: pass --stack <name>; ${available}`);
  if (!configFile && !stacks.includes(stack)) {
    throw usageError(`no stack named "${stack}"; ${available}`);
  }
  const now = values.now ? new Date(values.now) : new Date();
  if (Number.isNaN(now.getTime())) throw usageError(`--now ${values.now}: not an ISO 8601 time`);
  return { stack, configFile, json: values.json ?? false, now };
}

/**
 * The validated downtime windows of a raw config with their next occurrences. Validation is the
 * program's own (`parseConfig`), with the placeholder secrets the evaluation used.
 */
export function downtimePreview(
  raw: Record<string, unknown>,
  stack: string,
  now: Date,
): WindowPreview[] {
  const config = validateOffline(offlineSecrets(raw), stack);
  return config.runtime.downtime.map((w) => ({
    ...w,
    next: nextWindows(w, now, NEXT_OCCURRENCES),
  }));
}

/** What the preview says about the secrets: encrypted in the file, or local placeholders. */
export function secretsSummary(offline: OfflineSecrets): string {
  const filled = Object.entries(placeholderSecrets(offline.raw)).flatMap(([channel, fields]) =>
    Object.keys(fields)
      .map((f) => `secrets.${channel}.${f}`)
      .filter((p) => !offline.encrypted.includes(p) && !offline.plainText.includes(p)),
  );
  const parts: string[] = [];
  if (offline.encrypted.length > 0) {
    parts.push(
      `${offline.encrypted.length} encrypted in the stack file (set; not decrypted offline, placeholders used): ${offline.encrypted.join(", ")}`,
    );
  }
  if (filled.length > 0) {
    parts.push(
      `${filled.length} not in the stack file (local placeholders; set them before pulumi up): ${filled.join(", ")}`,
    );
  }
  return parts.length > 0 ? parts.join("\n           ") : "none needed";
}

// ---- rendering ------------------------------------------------------------------------------

function resourcesTable(result: ProgramResult): Table {
  // Sorted: the mock engine registers resources in whatever order their inputs resolve.
  const byType: Record<string, string[]> = {};
  for (const r of result.resources) (byType[r.type] ??= []).push(r.name);
  const rows = Object.keys(byType)
    .sort()
    .map((type) => [type, String(byType[type].length), byType[type].sort().join(", ")]);
  return {
    title: `Resources: ${result.resources.length} to create`,
    columns: ["TYPE", "COUNT", "NAMES"],
    rows,
    align: ["left", "right", "left"],
  };
}

/** "CodePipeline Stage Execution State Change" → "Stage". */
function shortDetailType(detailType: string): string {
  return detailType.replace(/^CodePipeline /, "").replace(/ Execution State Change$/, "");
}

function rulePatternText(result: ProgramResult): string {
  const size = result.rulePattern.pattern.length;
  const percent = Math.round((100 * size) / EVENT_PATTERN_MAX_CHARS);
  const pretty = JSON.stringify(JSON.parse(result.rulePattern.pattern), null, 2)
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
  const branches = result.rulePattern.branches as Array<{
    detailTypes: string[];
    states: string[];
    pipelines: number;
    precision: string;
  }>;
  const table = renderTable({
    title: "  Branches",
    columns: ["EVENTS", "STATES", "PIPELINES", "PRECISION"],
    rows: branches.map((b) => [
      b.detailTypes.map(shortDetailType).join(", "),
      b.states.join(", "),
      String(b.pipelines),
      b.precision,
    ]),
    align: ["left", "left", "right", "left"],
    notes: [
      "precision: exact = pipelines as configured; prefix-N = folded to N-character prefixes to fit",
      "the size limit (the fan-out still routes precisely); all = no pipeline filter",
    ],
  });
  return [
    `EventBridge rule pattern: ${size} / ${EVENT_PATTERN_MAX_CHARS} characters (${percent}%)`,
    pretty,
    table,
  ].join("\n");
}

function routingTableOf(result: ProgramResult): Table {
  const rows = (result.routing as RoutingRow[]).map((r) => [
    r.pipeline,
    r.tier,
    r.severity,
    r.states.join(", "),
    r.channels.join(", "),
    r.approvals ?? "-",
  ]);
  return {
    title: "Routing",
    columns: ["PIPELINE", "TIER", "SEVERITY", "STATES", "CHANNELS", "APPROVALS"],
    rows,
  };
}

/** "Sun 2024-11-24 02:00" in the given time zone. */
function localTime(date: Date, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", {
      timeZone,
      weekday: "short",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    })
      .formatToParts(date)
      .map((p) => [p.type, p.value]),
  );
  return `${parts.weekday} ${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

function scheduleOf(w: DowntimeWindow): string {
  switch (w.kind) {
    case "weekly":
      return `${w.days.join(",")} ${w.start}-${w.end} ${w.timeZone}`;
    case "cron":
      return `cron "${w.cron}" for ${w.durationMinutes} min, ${w.timeZone}`;
    case "once":
      return `once ${w.from} to ${w.to}`;
    default: {
      const unknown: never = w;
      return String(unknown);
    }
  }
}

function downtimeTable(windows: WindowPreview[], now: Date): Table {
  const rows: string[][] = [];
  for (const w of windows) {
    const timeZone = w.kind === "once" ? "UTC" : w.timeZone;
    const first = [
      w.name,
      scheduleOf(w),
      w.pipelines?.join(", ") || "all",
      w.allowCritical ? "let through" : "suppressed",
    ];
    const occurrences = w.next.map(
      (p) => `${localTime(p.start, timeZone)} -> ${localTime(p.end, timeZone)}`,
    );
    if (occurrences.length === 0) occurrences.push("(none upcoming)");
    occurrences.forEach((o, i) => rows.push([...(i === 0 ? first : ["", "", "", ""]), o]));
  }
  return {
    title: `Downtime windows: next ${NEXT_OCCURRENCES} occurrences from ${now.toISOString()}`,
    columns: ["WINDOW", "SCHEDULE", "PIPELINES", "CRITICAL", "NEXT (window's local time)"],
    rows,
  };
}

function archivesTable(result: ProgramResult): Table {
  return {
    title: "Lambda archives (unpacked)",
    columns: ["FUNCTION", "BYTES", "SIZE", "FILES", "HANDLER", "ENVIRONMENT"],
    rows: result.archives.map((a) => [
      a.name,
      String(a.bytes),
      formatBytes(a.bytes),
      String(a.files),
      a.handler,
      Object.keys(a.environment).sort().join(", "),
    ]),
    align: ["left", "right", "right", "right", "left", "left"],
  };
}

/**
 * The multi-account wiring (issue 14), per source account and region: who declares the
 * forwarding (this deploy through the account's role, or the account's team), the forwarding
 * rule's pattern size, and the source-access role; `undefined` for a single-account stack.
 */
export function wiringTable(result: ProgramResult, sources: SourceDeploy[]): Table | undefined {
  if (sources.length === 0) return undefined;
  const byName = new Map(result.resources.map((r) => [`${r.type} ${r.name}`, r]));
  const busPolicy = result.resources.find(
    (r) => r.type === "aws:cloudwatch/eventBusPolicy:EventBusPolicy",
  );
  const admits = String(busPolicy?.inputs.policy ?? "").includes("aws:PrincipalOrgID")
    ? "the organization (aws:PrincipalOrgID)"
    : `${sources.length} account${sources.length === 1 ? "" : "s"}`;
  const rows = sources.flatMap((src) =>
    src.regions.map((region, i) => {
      const name = `source-${src.account}-${region}`;
      const rule = byName.get(`aws:cloudwatch/eventRule:EventRule ${name}`);
      const access = byName.get(`aws:iam/role:Role source-access-${src.account}`);
      const declared = src.deployRoleArn ? `this deploy, as ${src.deployRoleArn}` : "its team";
      return [
        i === 0 ? `${src.account}${src.alias ? ` (${src.alias})` : ""}` : "",
        region,
        declared,
        rule
          ? `${String(rule.inputs.eventPattern).length} chars`
          : src.deployRoleArn
            ? "none (no pipeline selected)"
            : "-",
        i === 0
          ? access
            ? String(access.inputs.name)
            : src.deployRoleArn
              ? "none"
              : "its team"
          : "",
      ];
    }),
  );
  return {
    title: `Accounts and regions: central bus admits ${admits}; forwarding rule → central bus per (account, region)`,
    columns: ["ACCOUNT", "REGION", "FORWARDING DECLARED BY", "RULE PATTERN", "SOURCE-ACCESS ROLE"],
    rows,
    notes: [
      "the notifier's own account and region are read by the default-bus rule (no forwarding)",
      "teams that deploy their own forwarding: infra/forwarding.ts CodePipelineForwarding (README)",
    ],
  };
}

function outputsTable(result: ProgramResult): Table {
  return {
    title: "Outputs",
    columns: ["NAME", "VALUE"],
    rows: Object.entries(result.outputs).map(([k, v]) => [
      k,
      typeof v === "string" ? v : JSON.stringify(v),
    ]),
  };
}

/** The human-readable preview of an evaluated stack. */
export function renderPreview(
  result: ProgramResult,
  windows: WindowPreview[],
  options: PreviewOptions,
  extra: { secrets: string; advice: ConfigAdvice; sources?: SourceDeploy[] } = {
    secrets: "local placeholders",
    advice: { warnings: [], notes: [] },
  },
): string {
  const source = options.configFile ?? path.join(ROOT, `Pulumi.${options.stack}.yaml`);
  const advice = [
    ...extra.advice.warnings.map((w) => `warning: ${w}`),
    ...extra.advice.notes.map((n) => `note: ${n}`),
  ];
  return [
    `Previewing stack deploy-notifier/${result.stack} (offline, under Pulumi's mock engine)`,
    `  config: ${source}; evaluated in ${result.evalMs} ms\n  secrets: ${extra.secrets}`,
    ...(advice.length > 0 ? [advice.join("\n")] : []),
    renderTable(resourcesTable(result)),
    rulePatternText(result),
    renderTable(routingTableOf(result)),
    ...[wiringTable(result, extra.sources ?? [])].flatMap((t) => (t ? [renderTable(t)] : [])),
    renderTable(downtimeTable(windows, options.now)),
    renderTable(archivesTable(result)),
    renderTable(outputsTable(result)),
  ].join("\n\n");
}

// ---- command ----------------------------------------------------------------------------

/** Runs the preview; resolves with the process exit code. */
export async function preview(argv: string[]): Promise<number> {
  let options: PreviewOptions;
  try {
    options = parsePreviewArgs(argv);
  } catch (err: unknown) {
    process.stderr.write(`error: ${errorMessage(err)}\n`);
    return 1;
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const file = options.configFile ?? path.join(ROOT, `Pulumi.${options.stack}.yaml`);
  let raw: Record<string, unknown>;
  let offline: OfflineSecrets;
  let advice: ConfigAdvice;
  let sources: SourceDeploy[];
  try {
    raw = readStackFileForCli(file).raw;
    offline = offlineSecrets(raw);
    const validated = validateOffline(offline, options.stack);
    advice = configAdvice(validated.runtime);
    sources = validated.sources;
  } catch (err: unknown) {
    // A config error, as `pulumi preview` prints the program's error; or a YAML syntax error.
    process.stderr.write(`error: ${errorMessage(err)}\n`);
    return 1;
  }
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), `dn-preview-${options.stack}-`));
  try {
    const result = await runProgram({
      stack: options.stack,
      ...(options.configFile ? { stackFile: options.configFile } : {}),
      config: offline.raw,
      outDir,
    });
    if (!result.ok) {
      // `pulumi preview` prints the program's error this way and exits non-zero.
      process.stderr.write(`error: ${result.message}\n`);
      if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return 1;
    }
    const windows = downtimePreview(raw, options.stack, options.now);
    if (options.json) {
      const secrets = { encrypted: offline.encrypted, summary: secretsSummary(offline) };
      const wiring = wiringTable(result, sources);
      const all = { ...result, downtime: windows, secrets, advice, ...(wiring && { wiring }) };
      process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
    } else {
      const extra = { secrets: secretsSummary(offline), advice, sources };
      process.stdout.write(`${renderPreview(result, windows, options, extra)}\n`);
    }
    return 0;
  } finally {
    fs.rmSync(outDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  preview(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(
        `error: preview failed: ${err instanceof Error ? err.stack : String(err)}\n`,
      );
      process.exitCode = 1;
    },
  );
}
