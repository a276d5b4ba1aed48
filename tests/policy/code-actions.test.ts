import * as fs from "node:fs";
import * as path from "node:path";
import {
  CODE_ACTIONS,
  COMMAND_ACTIONS,
  FUNCTION_ENTRY_POINTS,
  REACHABLE_NOT_CALLED,
  type NotifierFunctionName,
} from "../../policy/code-actions";
import { SIGNATURE_SECRET_ENV } from "../../policy/policies";
import { ENV } from "../../handlers/types";

const ROOT = path.join(__dirname, "..", "..");

/** Resolves a relative import the way TypeScript does for this project (file.ts or dir/index.ts). */
function resolveImport(from: string, spec: string): string | undefined {
  const base = path.resolve(path.dirname(from), spec);
  return [`${base}.ts`, path.join(base, "index.ts"), base].find(
    (c) => fs.existsSync(c) && fs.statSync(c).isFile(),
  );
}

/**
 * Every handlers/ module reachable from `entry` through relative imports and requires (type-only
 * imports included: they cost nothing, and over-approximating only makes the check stricter).
 */
function reachableModules(entry: string): string[] {
  const seen = new Set<string>();
  const pending = [path.join(ROOT, entry)];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = fs.readFileSync(file, "utf8");
    for (const m of source.matchAll(/(?:from\s+|require\(\s*|import\(\s*)"(\.{1,2}\/[^"]+)"/g)) {
      const target = resolveImport(file, m[1]);
      if (target) pending.push(target);
    }
  }
  return [...seen].map((f) => path.relative(ROOT, f)).sort();
}

/** SDK command → the modules reachable from the function's entry point that send it. */
function commandsSent(fn: NotifierFunctionName): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const file of reachableModules(FUNCTION_ENTRY_POINTS[fn])) {
    const source = fs.readFileSync(path.join(ROOT, file), "utf8");
    // `new XCommand(`, a lazily required one, `new (sdk().XCommand)(` (handlers/enrich.ts), and
    // one from a required module object, `new sdk.XCommand(` (handlers/aws.ts: STS AssumeRole).
    for (const m of source.matchAll(/new\s+(?:\(\s*\w+\(\)\.|\w+\.)?([A-Z]\w*Command)\)?\s*\(/g)) {
      (out[m[1]] ??= []).push(file);
    }
  }
  return out;
}

describe.each(Object.keys(FUNCTION_ENTRY_POINTS) as NotifierFunctionName[])(
  "the %s function's code actions (policy/code-actions.ts)",
  (fn) => {
    const sent = commandsSent(fn);

    it("finds the function's SDK calls (the scan is not vacuous)", () => {
      expect(reachableModules(FUNCTION_ENTRY_POINTS[fn]).length).toBeGreaterThan(10);
      expect(Object.keys(sent)).toContain("GetSecretValueCommand");
    });

    it("maps every SDK command the code can send to an IAM action", () => {
      const unmapped = Object.keys(sent).filter((c) => !(c in COMMAND_ACTIONS));
      expect(unmapped).toEqual([]);
    });

    it("lists every command the code sends, or says why a reachable one is never sent", () => {
      const listed = new Set(CODE_ACTIONS[fn].flatMap((u) => (u.command ? [u.command] : [])));
      const unexplained = Object.keys(sent).filter(
        (c) => !listed.has(c) && !(c in REACHABLE_NOT_CALLED[fn]),
      );
      expect(unexplained).toEqual([]);
    });

    it("lists no command the code cannot send (a stale entry would allow an unused grant)", () => {
      const stale = CODE_ACTIONS[fn]
        .filter((u) => u.command !== undefined && !(u.command in sent))
        .map((u) => u.command);
      expect(stale).toEqual([]);
      for (const command of Object.keys(REACHABLE_NOT_CALLED[fn])) {
        expect(sent).toHaveProperty(command);
      }
    });

    it("names each command's action as the Service Authorization Reference does", () => {
      for (const use of CODE_ACTIONS[fn]) {
        if (use.command) expect(COMMAND_ACTIONS[use.command]).toBe(use.action);
        expect(use.action).toMatch(/^[a-z0-9-]+:[A-Z][A-Za-z]+$/);
      }
    });
  },
);

describe("the fan-out and the approval stay apart", () => {
  it("the fan-out deletes only pending approval requests; the approval may not query or update", () => {
    const actions = (fn: NotifierFunctionName) => CODE_ACTIONS[fn].map((u) => u.action);
    // Issue 10 (reminders and expiry): the reminder scan removes a pending request once it was
    // decided, expired or ended; infra/grants.ts scopes that DeleteItem to `PENDING#*` items
    // (tests/infra/grants.test.ts), so the ledger, claims and audit stay out of its reach.
    const deletes = CODE_ACTIONS.fanout.filter((u) => u.action === "dynamodb:DeleteItem");
    expect(deletes.map((u) => u.usedBy)).toEqual([
      expect.stringMatching(/^handlers\/store\/pending\.ts deletePending/),
    ]);
    expect(actions("approval")).not.toContain("dynamodb:Query");
    expect(actions("approval")).not.toContain("dynamodb:UpdateItem");
    // Lambda's SQS poller needs these three only (Lambda developer guide, "Using Lambda with
    // Amazon SQS"): the code never changes a message's visibility.
    expect(
      actions("fanout")
        .filter((a) => a.startsWith("sqs:"))
        .sort(),
    ).toEqual([
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:ReceiveMessage",
      "sqs:SendMessage",
    ]);
  });

  it("marks a signature-verifying function by the variable the approval handler reads", () => {
    expect(SIGNATURE_SECRET_ENV).toBe(ENV.slackAppSecretArn);
  });
});
