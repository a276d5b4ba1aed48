/**
 * How other commands find a running sandbox: while `npm start` serves its page, it writes
 * `<os.tmpdir()>/deploy-notifier-sandbox.json` with the DynamoDB stand-in's endpoint, the audit
 * tables, the region and its pid, and removes it on close. `npm run audit` reads it when no
 * `--table` is given and that pid is alive, so that the README's command works as written.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { RuntimeConfig } from "../handlers/types";
import { REGION } from "./wiring";

/** Where a running sandbox announces itself. */
export const DISCOVERY_FILE = path.join(os.tmpdir(), "deploy-notifier-sandbox.json");

/** What a running sandbox announces. */
export interface SandboxDiscovery {
  /** The DynamoDB stand-in (dynalite), e.g. `http://127.0.0.1:40123`. */
  endpoint: string;
  /** The audit tables (the archives' `AUDIT_TABLE`). */
  tables: string[];
  region: string;
  /** The sandbox process; the file is ignored once it is gone. */
  pid: number;
  stack: string;
  /** The page. */
  url?: string;
}

/** True when a process with this pid exists (signal 0 checks without signalling). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err: unknown) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The running sandbox's announcement, or undefined when there is none, it cannot be read, or its
 * process is gone (a sandbox that was killed leaves the file behind).
 */
export function readDiscovery(
  file: string = DISCOVERY_FILE,
  alive: (pid: number) => boolean = pidAlive,
): SandboxDiscovery | undefined {
  let parsed: Partial<SandboxDiscovery>;
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<SandboxDiscovery>;
  } catch {
    return undefined;
  }
  if (typeof parsed.pid !== "number" || !alive(parsed.pid)) return undefined;
  if (typeof parsed.endpoint !== "string" || !Array.isArray(parsed.tables)) return undefined;
  return parsed as SandboxDiscovery;
}

/** The pipeline the audit command is best shown with: one with approvals, else the first name. */
function examplePipeline(runtime: RuntimeConfig): string {
  const rule =
    runtime.pipelines.find((p) => p.approvals && "name" in p.match) ??
    runtime.pipelines.find((p) => "name" in p.match);
  return rule && "name" in rule.match ? rule.match.name : "<pipeline>";
}

/**
 * Writes the announcement and logs the audit command; returns the clean-up that removes the file
 * (only while it is still this process's: a newer sandbox may have replaced it).
 */
export function announceSandbox(
  world: {
    standins: { dynamo: { endpoint: string } };
    declared: { tables: string[] };
    runtime: RuntimeConfig;
  },
  url: string | undefined,
  log: (line: string) => void,
  file: string = DISCOVERY_FILE,
): () => void {
  const info: SandboxDiscovery = {
    endpoint: world.standins.dynamo.endpoint,
    tables: world.declared.tables,
    region: REGION,
    pid: process.pid,
    stack: world.runtime.stack,
    url,
  };
  try {
    fs.writeFileSync(file, `${JSON.stringify(info, null, 2)}\n`);
  } catch (err: unknown) {
    log(`sandbox: could not write ${file} (npm run audit will need --table): ${String(err)}`);
    return () => undefined;
  }
  log(`audit trail: npm run audit -- --pipeline ${examplePipeline(world.runtime)}`);
  return () => {
    if (readDiscovery(file, () => true)?.pid === process.pid) fs.rmSync(file, { force: true });
  };
}
