/**
 * The fan-out archive as it ships (serialized by the program, run in a fresh Node process with
 * only the runtime's SDK on NODE_PATH) loads the CodePipeline client only when an enrichment
 * runs (issue 12): a client required at the top of the archive costs every cold start, even of a
 * batch that never asks CodePipeline anything. handlers/aws.ts's lazy `codepipeline()` only helps
 * if nothing imports the SDK at the top (handlers/enrich.ts and handlers/reminders/decide.ts used
 * to).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runtimeModulesDir, type ArchiveInfo } from "../../testing";
import { event } from "../support/fanout";
import { evaluate } from "../support/program";

/**
 * Loads the archive, then invokes it with an empty batch and with one prod FAILED event, and
 * reports after each step whether `@aws-sdk/client-codepipeline` is in the module cache. Every
 * AWS endpoint points at a closed port: the FAILED event's record fails (DynamoDB is down), but
 * its enrichment has started by then (it runs alongside the claims).
 */
const CHILD = `
"use strict";
const path = require("node:path");
const loaded = () =>
  Object.keys(require.cache).some((k) => k.includes(path.join("@aws-sdk", "client-codepipeline")));
const [dir, body] = process.argv.slice(2);
const { handler } = require(path.join(dir, "__index.js"));
const ctx = { getRemainingTimeInMillis: () => 6000, awsRequestId: "lazy" };
const record = {
  messageId: "m-1",
  receiptHandle: "r-1",
  body,
  attributes: { ApproximateReceiveCount: "1" },
  messageAttributes: {},
  eventSource: "aws:sqs",
};
(async () => {
  const out = { afterLoad: loaded() };
  await handler({ Records: [] }, ctx);
  out.afterEmptyBatch = loaded();
  await handler({ Records: [record] }, ctx);
  out.afterFailure = loaded();
  process.stdout.write("RESULT " + JSON.stringify(out) + "\\n");
})().catch((err) => {
  process.stdout.write("ERROR " + String(err && err.stack) + "\\n");
});
`;

function run(dir: string, env: Record<string, string>, body: string): Promise<string> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lazy-clients-")), "child.js");
  fs.writeFileSync(file, CHILD);
  const closed = "http://127.0.0.1:9";
  const child = spawn(process.execPath, [file, dir, body], {
    env: {
      PATH: process.env.PATH ?? "",
      NODE_PATH: runtimeModulesDir(),
      ...env,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "lazy",
      AWS_SECRET_ACCESS_KEY: "lazy",
      AWS_ENDPOINT_URL: closed,
      AWS_ENDPOINT_URL_DYNAMODB: closed,
      AWS_ENDPOINT_URL_CODEPIPELINE: closed,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: closed,
      AWS_ENDPOINT_URL_SQS: closed,
      AWS_ENDPOINT_URL_SNS: closed,
      POWERTOOLS_LOG_LEVEL: "SILENT",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (c) => (out += String(c)));
  child.stderr.on("data", (c) => (out += String(c)));
  return new Promise((resolve) => child.on("close", () => resolve(out)));
}

describe("the fan-out archive", () => {
  it("loads the CodePipeline client when an enrichment runs, not at load or for an empty batch", async () => {
    const result = await evaluate({ stack: "prod" });
    const fanout = result.archives.find((a) => a.name === "fanout") as ArchiveInfo;
    const body = JSON.stringify(event("pipeline-failed", { pipeline: "main-app-production-v3" }));

    const out = await run(fanout.dir, fanout.environment, body);

    const line = out.split("\n").find((l) => l.startsWith("RESULT "));
    expect({ line: line ?? out }).toEqual({ line: expect.stringMatching(/^RESULT /) });
    expect(JSON.parse((line as string).slice("RESULT ".length))).toEqual({
      afterLoad: false,
      afterEmptyBatch: false,
      afterFailure: true,
    });
  }, 120_000);
});
