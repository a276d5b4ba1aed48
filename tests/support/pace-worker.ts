/**
 * One "invocation" of the pacing test (tests/fanout/pacing.test.ts), in its own Node process as
 * each concurrent Lambda invocation is: at `startAt` (epoch ms) it sends `count` messages to
 * `url` at once (a batch's records are delivered concurrently), each first waiting for the send
 * slot of `channel` that fanout/pace.ts reserves in the shared table (`paced`), or not
 * (`unpaced`: the behaviour issue 11 measured). `startAt` `ready`: after its warm-up it prints
 * "ready" and reads the start time from stdin (tests/support/together.ts). Prints
 * `{"statuses":[…],"calls":n}` (the last line).
 * Environment: AUDIT_TABLE, AWS_ENDPOINT_URL_DYNAMODB, AWS credentials and region, TIME_SCALE.
 */
import { paceDelivery } from "../../handlers/fanout/pace";
import { awaitStart } from "./start-signal";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

async function one(channel: string, url: string, paced: boolean): Promise<number> {
  if (paced) {
    const d = await paceDelivery(channel, "slack", Date.now() + 600_000);
    if (d.kind !== "send") throw new Error(`unexpected ${d.kind}`);
    await sleep(d.waitMs);
  }
  const res = await fetch(url, { method: "POST", body: "{}" });
  await res.text();
  return res.status;
}

async function main(): Promise<void> {
  const [channel, count, url, startAt, mode] = process.argv.slice(2);
  // A warm invocation: the HTTP and DynamoDB clients made their first connection already (a cold
  // process's first request takes up to a second here, which bunches sends at the receiver).
  await (await fetch(`${url}-warm`, { method: "POST", body: "{}" })).text();
  await paceDelivery(`warm-${process.pid}`, "slack", Date.now() + 600_000);
  await sleep((startAt === "ready" ? await awaitStart() : Number(startAt)) - Date.now());
  const statuses = await Promise.all(
    Array.from({ length: Number(count) }, () => one(channel, url, mode === "paced")),
  );
  process.stdout.write(`${JSON.stringify({ statuses })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err instanceof Error ? err.stack : err)}\n`);
  process.exit(1);
});
