/**
 * Prints the approval audit trail of a pipeline: who approved or rejected which deployment and
 * when, plus denied clicks and errors.
 *
 *   npm run audit -- --pipeline <name> [--table <name>] [--since <iso>]
 *
 * The table: `--table`, else `AUDIT_TABLE`, else the running sandbox's (`npm start` announces its
 * DynamoDB stand-in, table and region in sandbox/discovery.ts's file; the stand-in takes any
 * credentials). With `--table` or `AUDIT_TABLE`, AWS credentials and region come from the usual
 * SDK chain (after `pulumi up`: `--table $(pulumi stack output auditTableName)`).
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { auditPartition } from "../handlers/store/keys";
import { readDiscovery, type SandboxDiscovery } from "../sandbox/discovery";

/** Parsed command line of the audit script. */
export interface AuditArgs {
  pipeline: string;
  table: string;
  since?: string;
  /** The running sandbox's DynamoDB stand-in, when the table came from there. */
  sandbox?: { endpoint: string; region: string };
}

/** One printed row. */
export interface AuditRow {
  time: string;
  decision: string;
  who: string;
  execution: string;
  stageAction: string;
  result: string;
}

const USAGE = "usage: npm run audit -- --pipeline <name> [--table <name>] [--since <iso>]";

/** The audit actions the report shows, and how each is named in the decision column. */
const SHOWN: Record<string, (item: Record<string, unknown>) => string> = {
  "approval-decided": (item) => String(item.result ?? detail(item).decision ?? "decided"),
  "approval-denied": () => "denied",
  "approval-click": (item) => clickWord(String(item.result ?? "")),
  "approval-superseded": () => "refused: replaced",
  "approval-expired": () => "expired",
  "approval-ended": () => "ended outside Slack",
  "approval-error": () => "error",
};

/**
 * What an `approval-click` record's result (handlers/approval: start.ts, unconfirmed.ts,
 * decision.ts, work.ts) says of the click: it claimed the decision (also by taking over, by
 * replacing the clicker's own earlier claim, or through the work after a late answer), it is
 * being recorded, it came after someone else's decision or while it was being decided
 * ("already …"), or it decided nothing (its own work, or a request that could no longer be
 * decided, "not decided: …", "refused: …").
 */
function clickWord(result: string): string {
  if (result.startsWith("claimed")) return "clicked";
  if (result.startsWith("claim not confirmed")) return "clicked (being recorded)";
  if (result.startsWith("already ")) return "late click";
  return "click not decided";
}

function detail(item: Record<string, unknown>): Record<string, unknown> {
  const d = item.detail;
  return typeof d === "object" && d !== null ? (d as Record<string, unknown>) : {};
}

/**
 * Parses `--pipeline`, `--table` (default `AUDIT_TABLE`, else the running sandbox's table, found
 * by `discover`) and `--since` (ISO 8601).
 */
export function parseArgs(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  discover: () => SandboxDiscovery | undefined = readDiscovery,
): AuditArgs {
  const values: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (!["--pipeline", "--table", "--since"].includes(flag)) {
      throw new Error(`unknown argument ${flag}\n${USAGE}`);
    }
    const value = argv[i + 1];
    if (value === undefined || value.startsWith("--"))
      throw new Error(`${flag} needs a value\n${USAGE}`);
    values[flag.slice(2)] = value;
    i++;
  }
  if (!values.pipeline) throw new Error(`--pipeline is required\n${USAGE}`);
  let table = values.table ?? env.AUDIT_TABLE;
  let sandbox: AuditArgs["sandbox"];
  if (!table) {
    const running = discover();
    if (!running || running.tables.length === 0) {
      throw new Error(
        `--table is required: AUDIT_TABLE is not set and no sandbox is running (npm start)\n${USAGE}`,
      );
    }
    table = running.tables[0];
    sandbox = { endpoint: running.endpoint, region: running.region };
  }
  if (values.since !== undefined && Number.isNaN(Date.parse(values.since))) {
    throw new Error(`--since must be an ISO 8601 time, got ${values.since}`);
  }
  const since = values.since === undefined ? undefined : new Date(values.since).toISOString();
  return { pipeline: values.pipeline, table, since, ...(sandbox ? { sandbox } : {}) };
}

/** Turns audit items (as stored by handlers/store/audit.ts) into report rows, oldest first. */
export function toRows(items: Record<string, unknown>[]): AuditRow[] {
  return items
    .filter((item) => typeof item.action === "string" && item.action in SHOWN)
    .map((item) => {
      const d = detail(item);
      return {
        time: String(item.at ?? ""),
        decision: SHOWN[item.action as string](item),
        who: String(item.actor ?? ""),
        execution: String(item.executionId ?? ""),
        stageAction: d.stage ? `${String(d.stage)}/${String(d.action ?? "")}` : "",
        result: String(item.result ?? ""),
      };
    })
    .sort((a, b) => a.time.localeCompare(b.time));
}

/** Renders rows as a fixed-width text table. */
export function formatTable(rows: AuditRow[]): string {
  const header: AuditRow = {
    time: "time",
    decision: "decision",
    who: "who",
    execution: "execution",
    stageAction: "stage/action",
    result: "result",
  };
  const keys = Object.keys(header) as (keyof AuditRow)[];
  const all = [header, ...rows];
  const widths = keys.map((k) => Math.max(...all.map((r) => r[k].length)));
  const line = (r: AuditRow) =>
    keys
      .map((k, i) => r[k].padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** The DynamoDB client's settings: the sandbox's stand-in (any credentials), else the SDK chain. */
function clientConfig(args: AuditArgs) {
  if (!args.sandbox) return {};
  return {
    endpoint: args.sandbox.endpoint,
    region: args.sandbox.region,
    credentials: { accessKeyId: "sandbox", secretAccessKey: "sandbox" },
  };
}

/** Reads every audit item of the pipeline (since `since`), following pagination. */
export async function queryAudit(
  args: AuditArgs,
  client: DynamoDBDocumentClient = DynamoDBDocumentClient.from(
    new DynamoDBClient(clientConfig(args)),
  ),
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const input: QueryCommandInput = {
      TableName: args.table,
      KeyConditionExpression: args.since ? "pk = :pk AND sk >= :since" : "pk = :pk",
      ExpressionAttributeValues: args.since
        ? { ":pk": auditPartition(args.pipeline), ":since": args.since }
        : { ":pk": auditPartition(args.pipeline) },
      ExclusiveStartKey: start,
    };
    const page = await client.send(new QueryCommand(input));
    items.push(...((page.Items ?? []) as Record<string, unknown>[]));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/**
 * Runs the script: prints the table, or the error and the usage (exit code 1), or with `--help`
 * the usage alone (exit code 0). `env` and
 * `discover` (the running sandbox) are parameters for tests.
 */
export async function main(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  discover: () => SandboxDiscovery | undefined = readDiscovery,
): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  let args: AuditArgs;
  try {
    args = parseArgs(argv, env, discover);
  } catch (err: unknown) {
    console.error(err instanceof Error ? err.message : String(err));
    return 1;
  }
  try {
    const rows = toRows(await queryAudit(args));
    if (rows.length === 0) {
      console.log(
        `no approval records for ${args.pipeline}${args.since ? ` since ${args.since}` : ""}`,
      );
    } else {
      console.log(formatTable(rows));
    }
    return 0;
  } catch (err: unknown) {
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    console.error(`audit: reading table ${args.table} failed: ${message}`);
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
