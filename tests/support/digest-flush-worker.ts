/**
 * One fan-out "invocation" in its own Node process, as each concurrent Lambda invocation is
 * (tests/fanout/grouping.test.ts): reads `{ runtime, records }` from the JSON file named by its
 * first argument, waits until `startAt` (epoch ms, second argument; `ready`: print "ready" once
 * loaded, read it from stdin and only then the file, tests/support/together.ts), runs the fan-out handler on the records, and prints
 * its SQSBatchResponse as JSON (the last line). `clockOffsetMs` in the file (ms, default 0):
 * this process's `Date.now` runs that far ahead of the real clock, as the test's moved clock
 * does (grouping.test.ts), `startAt` included. Environment: the stand-ins' endpoints and
 * the fan-out's variables (AUDIT_TABLE, CHANNEL_SECRETS_ARN, EVENTS_QUEUE_URL, TIME_SCALE, …).
 */
import * as fs from "node:fs";
import type { Context } from "aws-lambda";
import { createFanoutHandler } from "../../handlers/fanout";
import { awaitStart } from "./start-signal";

async function main(): Promise<void> {
  const [file, startAt] = process.argv.slice(2);
  // With `ready`, the file may be written while this process loads: read once released.
  const at = startAt === "ready" ? await awaitStart() : Number(startAt);
  const { runtime, records, clockOffsetMs = 0 } = JSON.parse(fs.readFileSync(file, "utf8"));
  if (clockOffsetMs !== 0) {
    const realNow = Date.now.bind(Date);
    Date.now = () => realNow() + clockOffsetMs;
  }
  const handler = createFanoutHandler(runtime);
  const context = { getRemainingTimeInMillis: () => 30_000, awsRequestId: `w-${process.pid}` };
  await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
  const out = await handler({ Records: records }, context as Partial<Context> as Context);
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`Error: ${String(err)}\n`);
  process.exit(1);
});
