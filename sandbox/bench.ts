/**
 * Sandbox benchmark rows: how long `npm start` takes until the page is ready, and how long an
 * event takes from `POST /events` to the last receiver getting its message.
 */
import { startSandbox } from "./start";

/** The two sandbox measurements, in ms. */
export interface SandboxMeasurements {
  /** From the start call to the page answering (program evaluation included). */
  startToReadyMs: number;
  /** From `POST /events` (a prod failure: PagerDuty, Slack and SMS) to the last delivery. */
  eventToLastDeliveryMs: number;
}

/**
 * Starts a prod sandbox on a free port, measures start-up to page-ready and one event's
 * end-to-end latency over HTTP, and closes everything again.
 */
export async function measureSandbox(): Promise<SandboxMeasurements> {
  const started = performance.now();
  const sandbox = await startSandbox({ stack: "prod", port: 0 });
  try {
    const page = await fetch(`${sandbox.url}/`);
    if (!page.ok) throw new Error(`sandbox page answered ${page.status}`);
    await page.text();
    const startToReadyMs = performance.now() - started;

    const { receivers, aws } = sandbox.standins;
    const posted = Date.now();
    const res = await fetch(`${sandbox.url}/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        Entries: [
          {
            Source: "aws.codepipeline",
            DetailType: "CodePipeline Pipeline Execution State Change",
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
