/**
 * The Lambda runner ends an invocation at the function timeout, as Lambda does: "If the Lambda
 * function crashes or times out during the Invoke phase, Lambda resets the execution environment"
 * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html, "Failures during
 * the invoke phase"); the next invocation initializes the runtime again (a cold start). Each
 * environment serves one invocation at a time ("For each concurrent request, Lambda provisions a
 * separate instance of your execution environment",
 * https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html).
 */
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import {
  createQueue,
  killAfterMs,
  SCALED_TIMEOUT_FLOOR_MS,
  startLambda,
  type LambdaProcess,
} from "../../testing";

/**
 * A handler that counts its invocations per environment (module state survives warm invocations
 * only), POSTs `before` at once (with its process id when `event.withPid`) and, when
 * `event.sendAfterMs` is set, POSTs `after` that much later; `event.spinMs` blocks the event loop
 * that long (a handler stuck in synchronous code).
 */
const HANDLER = `
const http = require("node:http");
let invocations = 0;
function post(url, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST" }, (res) => { res.resume(); res.on("end", resolve); });
    req.on("error", reject);
    req.end(body);
  });
}
exports.handler = async (event, context) => {
  invocations += 1;
  const sqs = event.Records ? JSON.parse(event.Records[0].body) : undefined;
  const e = sqs ? { ...sqs, receive: event.Records[0].attributes.ApproximateReceiveCount } : event;
  if (e.url) await post(e.url, "before " + (e.receive || "") + (e.withPid ? process.pid : ""));
  if (e.spinMs) { const end = Date.now() + e.spinMs; while (Date.now() < end); }
  if (e.sendAfterMs && !(e.receive && e.receive !== "1")) {
    await new Promise((r) => setTimeout(r, e.sendAfterMs));
    await post(e.url, "after " + (e.receive || ""));
  }
  if (e.holdMs) await new Promise((r) => setTimeout(r, e.holdMs));
  return { invocations, pid: process.pid, remainingMs: context.getRemainingTimeInMillis() };
};
`;

/** Whether process `pid` still exists (signal 0 checks without sending one). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Answer {
  invocations: number;
  pid: number;
  remainingMs: number;
}

describe("Lambda runner: the function timeout", () => {
  let dir: string;
  let server: http.Server;
  let url: string;
  const received: Array<{ body: string; at: number }> = [];
  const lambdas: LambdaProcess[] = [];

  const start = async (env: Record<string, string> = {}) => {
    const lambda = await startLambda({ dir, functionName: "timeout-test", env });
    lambdas.push(lambda);
    return lambda;
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "dn-lambda-timeout-"));
    fs.writeFileSync(path.join(dir, "__index.js"), HANDLER);
    server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        received.push({ body, at: Date.now() });
        res.end("ok");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterEach(async () => {
    await Promise.all(lambdas.splice(0).map((l) => l.close()));
    received.length = 0;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("an invocation that overruns its timeout ends at the deadline: its request after the deadline never arrives (Lambda resets the environment)", async () => {
    // Arrange
    const lambda = await start();

    // Act: the handler would POST `after` 200 ms past its 300 ms timeout.
    const started = Date.now();
    const result = await lambda.invoke({ url, sendAfterMs: 500 }, 300);
    await new Promise((r) => setTimeout(r, 700));

    // Assert: Lambda's error for a timeout; `before` arrived, `after` never did.
    expect(result).toMatchObject({
      ok: false,
      timedOut: true,
      error: {
        name: "Sandbox.Timedout",
        message: expect.stringMatching(
          /^RequestId: \S+ Error: Task timed out after 0\.30 seconds$/,
        ),
      },
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(received.map((r) => r.body)).toEqual(["before "]);
  });

  test("the invocation after a timeout is a cold start in a fresh environment (module state gone)", async () => {
    // Arrange: two warm invocations, then one that times out.
    const lambda = await start();
    const first = await lambda.invoke<Answer>({}, 1000);
    const second = await lambda.invoke<Answer>({}, 1000);
    const timedOut = await lambda.invoke({ holdMs: 2000 }, 200);

    // Act
    const next = await lambda.invoke<Answer>({}, 1000);

    // Assert: warm before the timeout, cold (count back at 1, another process) after it.
    expect([first.coldStart, second.coldStart, second.value?.invocations]).toEqual([
      true,
      undefined,
      2,
    ]);
    expect(timedOut.timedOut).toBe(true);
    expect(next).toMatchObject({ ok: true, coldStart: true, value: { invocations: 1 } });
    expect(next.value?.pid).not.toBe(second.value?.pid);
    expect(lambda.environments()).toBe(2);
  });

  test("a handler stuck in synchronous code is killed at the timeout, its later request never sent", async () => {
    // Arrange
    const lambda = await start();

    // Act: 30 s of blocking work, then a request; the timeout is 300 ms. The handler's first
    // request names its process, which is then watched until it is gone.
    const SPIN_MS = 30_000;
    const started = Date.now();
    const result = await lambda.invoke(
      { url, withPid: true, spinMs: SPIN_MS, sendAfterMs: 1 },
      300,
    );
    const tookMs = Date.now() - started;
    const pid = Number(/^before (\d+)$/.exec(received[0]?.body ?? "")?.[1]);
    while (alive(pid)) await new Promise((r) => setTimeout(r, 20));
    const goneAt = Date.now();

    // Assert: timed out without waiting for the handler, whose blocking work would end 30 s in
    // (a bound of the fixture, not a speed); its process was killed within that work (a handler
    // left to spin exits by itself only once its event loop is free again), so the later
    // request never came and never can.
    expect(result.timedOut).toBe(true);
    expect(tookMs).toBeLessThan(SPIN_MS);
    expect(goneAt).toBeLessThan(started + SPIN_MS);
    expect(received.map((r) => r.body)).toEqual([`before ${pid}`]);
  });

  test("under a time scale the timeout message names AWS seconds, and the machine gets a real-time floor before the reset, never past 5 × the timeout", async () => {
    // Arrange: 1/50 of AWS time, a 60 s function timeout is 1.2 s here.
    const lambda = await start({ TIME_SCALE: "50" });

    // Act: a handler that would run 30 s; the reset comes at the 5 s floor (killAfterMs, whose
    // value the next test pins).
    const HOLD_MS = 30_000;
    const started = Date.now();
    const result = await lambda.invoke<Answer>({ holdMs: HOLD_MS }, 1200);
    const tookMs = Date.now() - started;

    // Assert: not before the floor, and the handler was not waited for (a bound of the fixture,
    // not a speed: a loaded machine delays the reset, not past the handler's 30 s).
    expect(result.error?.message).toMatch(/Task timed out after 60\.00 seconds$/);
    expect(tookMs).toBeGreaterThanOrEqual(SCALED_TIMEOUT_FLOOR_MS);
    expect(tookMs).toBeLessThan(HOLD_MS);
  });

  test("killAfterMs: the timeout itself at AWS's clock; under a scale at most the floor, the unscaled timeout or 5 × the timeout (before SQS's visibility, ≥ 6 ×)", () => {
    expect(killAfterMs(300, 1)).toBe(300);
    // The sandbox's 1/50: 60 s → 1.2 s, reset at the 5 s floor (visibility 7.2 s).
    expect(killAfterMs(1200, 50)).toBe(SCALED_TIMEOUT_FLOOR_MS);
    // The chaos bench's 1/3 and 1/10: the scaled timeouts (20 s, 6 s) are over the floor.
    expect(killAfterMs(20_000, 3)).toBe(20_000);
    expect(killAfterMs(6000, 10)).toBe(6000);
    // 1/1000: 60 s → 60 ms, reset by 300 ms (5 ×), before its 360 ms visibility.
    expect(killAfterMs(60, 1000)).toBe(300);
  });

  test("concurrent invocations run in separate environments; a later one reuses a warm environment", async () => {
    // Arrange
    const lambda = await start();

    // Act
    const [a, b] = await Promise.all([
      lambda.invoke<Answer>({ holdMs: 300 }, 5000),
      lambda.invoke<Answer>({ holdMs: 300 }, 5000),
    ]);
    const later = await lambda.invoke<Answer>({}, 5000);

    // Assert: one invocation per environment at a time; nothing timed out, so nothing was reset.
    expect(a.value?.pid).not.toBe(b.value?.pid);
    expect([a.value?.invocations, b.value?.invocations]).toEqual([1, 1]);
    expect(later.coldStart).toBeUndefined();
    expect(later.value?.invocations).toBe(2);
    expect(lambda.environments()).toBe(2);
  });

  test("behind an SQS event source, a timed-out batch is not deleted: it is received again after the visibility timeout", async () => {
    // Arrange: the first receive overruns its 300 ms timeout; the second finishes in time.
    const lambda = await start();
    const visibilityTimeoutMs = 900;
    const queue = createQueue({
      arn: "arn:aws:sqs:us-east-1:123456789012:events",
      region: "us-east-1",
      visibilityTimeoutMs,
      maxReceiveCount: 4,
      batchSize: 10,
      async consume(event) {
        const r = await lambda.invoke<{ batchItemFailures?: Array<{ itemIdentifier: string }> }>(
          event,
          300,
        );
        return r.ok
          ? { ok: true, batchItemFailures: r.value?.batchItemFailures ?? [] }
          : { ok: false, error: r.error?.message ?? "failed" };
      },
    });
    try {
      // Act
      const message = queue.send(JSON.stringify({ url, sendAfterMs: 600 }));
      const state = await queue.settled(message.messageId);

      // Assert: two receives, the first failed as a timeout; the second came only after the
      // visibility timeout; the first receive's late request never arrived.
      expect(state).toBe("deleted");
      expect(message.receiveCount).toBe(2);
      expect(message.receives[0]).toMatchObject({
        ok: false,
        error: expect.stringMatching(/Task timed out after 0\.30 seconds/),
      });
      const gap = message.receives[1].at.getTime() - message.receives[0].at.getTime();
      expect(gap).toBeGreaterThanOrEqual(visibilityTimeoutMs);
      expect(received.map((r) => r.body)).toEqual(["before 1", "before 2"]);
    } finally {
      queue.close();
    }
  });
});
