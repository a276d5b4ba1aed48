/**
 * Sandbox benchmark rows: how long `npm start` takes until the page is ready, and how long an
 * event takes from `POST /events` to the last receiver getting its message.
 */
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import * as path from "node:path";
import { startSandbox } from "./sandbox";
import { CODEPIPELINE_SOURCE, DETAIL_TYPE } from "../handlers/contracts/codepipeline";

/** A port that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Runs the `npm start` command itself (the same script, without npm's own start-up) for the prod
 * stack and measures the time until its page answers.
 */
export async function measureStartCommand(timeoutMs = 120_000): Promise<number> {
  const port = await freePort();
  const root = path.resolve(__dirname, "..");
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      "-r",
      "ts-node/register/transpile-only",
      path.join(__dirname, "start.ts"),
      "--stack",
      "prod",
      "--port",
      String(port),
      "--no-scenario",
    ],
    {
      cwd: root,
      stdio: "ignore",
      env: { ...process.env, TS_NODE_PROJECT: path.join(root, "tsconfig.json") },
    },
  );
  try {
    while (performance.now() - started < timeoutMs) {
      if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}/`);
        if (res.ok) {
          await res.text();
          return performance.now() - started;
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`npm start: page not ready after ${timeoutMs} ms`);
  } finally {
    child.kill();
  }
}

/** The two sandbox measurements, in ms. */
export interface SandboxMeasurements {
  /** From spawning the `npm start` command to its page answering (program evaluation included). */
  startToReadyMs: number;
  /** From `POST /events` (a prod failure: PagerDuty, Slack and SMS) to the last delivery. */
  eventToLastDeliveryMs: number;
}

/**
 * Starts a prod sandbox on a free port, measures start-up to page-ready and one event's
 * end-to-end latency over HTTP, and closes everything again.
 */
export async function measureSandbox(): Promise<SandboxMeasurements> {
  const startToReadyMs = await measureStartCommand();
  const sandbox = await startSandbox({ stack: "prod", port: 0 });
  try {
    const { receivers, aws } = sandbox.standins;
    const posted = Date.now();
    const res = await fetch(`${sandbox.url}/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        Entries: [
          {
            Source: CODEPIPELINE_SOURCE,
            DetailType: DETAIL_TYPE.pipeline,
            Detail: JSON.stringify({
              pipeline: "api-gateway-prod-cluster",
              "execution-id": crypto.randomUUID(),
              state: "FAILED",
              version: 1,
            }),
          },
        ],
      }),
    });
    if (!res.ok) throw new Error(`POST /events answered ${res.status}`);
    await sandbox.settle();
    // The receivers timestamp each delivery; the latest one closes the measurement.
    const times = [
      ...receivers.deliveries.map((d) => d.at.getTime()),
      ...aws.state.sns.published.map((p) => p.at.getTime()),
    ].filter((t) => t >= posted);
    if (times.length < 3) throw new Error(`expected 3 deliveries, got ${times.length}`);
    const eventToLastDeliveryMs = Math.max(...times) - posted;
    return { startToReadyMs, eventToLastDeliveryMs };
  } finally {
    await sandbox.close();
  }
}

if (require.main === module) {
  measureSandbox().then(
    (m) => console.log(JSON.stringify(m)),
    (err: unknown) => {
      console.error(`sandbox bench: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
