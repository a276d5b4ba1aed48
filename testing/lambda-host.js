// Runs one Lambda archive the way the nodejs22.x runtime does: load `__index.js` from the task
// directory once (cold start), then serve invocations (warm). Invocations arrive over IPC.
// Plain JavaScript on purpose: nothing but Node loads before the archive, so cold starts are real.
"use strict";
const path = require("node:path");
const { randomUUID } = require("node:crypto");

const taskDir = process.argv[2];
const [file, exportName] = (process.argv[3] || "__index.handler").split(".");
const t0 = process.hrtime.bigint();
let handler;
try {
  handler = require(path.join(taskDir, file + ".js"))[exportName];
  if (typeof handler !== "function") throw new Error(`${file}.${exportName} is not a function`);
} catch (err) {
  process.send({ type: "init-error", error: String((err && err.stack) || err) });
  process.exit(1);
}
const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
process.send({ type: "ready", loadMs });

// Exit code of an invocation ended by its timeout (testing/lambda.ts TIMED_OUT_EXIT).
const TIMED_OUT_EXIT = 124;

process.on("message", async (msg) => {
  if (!msg || msg.type !== "invoke") return;
  const started = Date.now();
  const deadline = started + msg.timeoutMs;
  // Lambda resets the execution environment when an invocation times out: nothing the handler
  // still has scheduled may run after the deadline. The parent kills this process too (a handler
  // stuck in synchronous code never lets this timer fire); this timer is the exact deadline.
  const timeout = setTimeout(() => process.exit(TIMED_OUT_EXIT), msg.killMs || msg.timeoutMs);
  const context = {
    awsRequestId: msg.requestId || randomUUID(),
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: "$LATEST",
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:123456789012:function:${process.env.AWS_LAMBDA_FUNCTION_NAME}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  const cpu0 = process.cpuUsage();
  try {
    const value = await handler(msg.event, context);
    clearTimeout(timeout);
    const cpu = process.cpuUsage(cpu0);
    process.send({
      type: "result",
      id: msg.id,
      ok: true,
      value,
      ms: Date.now() - started,
      cpuMs: (cpu.user + cpu.system) / 1000,
    });
  } catch (err) {
    clearTimeout(timeout);
    process.send({
      type: "result",
      id: msg.id,
      ok: false,
      error: { name: err && err.name, message: String((err && err.message) || err) },
      ms: Date.now() - started,
    });
  }
});
