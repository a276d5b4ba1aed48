/**
 * Issue 12: the SDK clients a first invocation does not need are really loaded lazily. The
 * fan-out archive as it ships (serialized by the program, run in a fresh Node process with only
 * the runtime's SDK on NODE_PATH) is asked after each step which `@aws-sdk/client-*` packages are
 * in its module cache. The closure serializer turns a top-level import into a `require` at the
 * top of `__index.js` (handlers/README.md), so only DynamoDB — which every invocation uses — may
 * be there after the load; SNS (sms and email channels) used to be, through
 * handlers/channels/common.ts and handlers/aws.ts, Secrets Manager through handlers/aws.ts, and
 * CodePipeline through handlers/enrich.ts and handlers/reminders/decide.ts (this test replaces
 * tests/fanout/lazy-clients.test.ts, which checked CodePipeline alone). croner, the one package the
 * archive ships (handlers/README.md), is listed the same way: it used to be required at load
 * through handlers/downtime.ts, and the prod stack has no cron window.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createAuditTable, runtimeModulesDir, startDynalite, type ArchiveInfo } from "../testing";
import { event } from "./support/fanout";
import { evaluate } from "./support/program";

/**
 * Loads the archive, invokes it with an empty batch, then with one prod FAILED event while every
 * AWS endpoint is a closed port (the outcome claim fails, so nothing is sent; the enrichment and
 * the secret read have started by then, alongside the claim), and prints the client packages
 * (and croner) loaded after each step.
 */
const CHILD = `
"use strict";
const clients = () =>
  [...new Set(Object.keys(require.cache).map((k) => (k.match(/@aws-sdk[\\\\/](client-[a-z0-9-]+)|node_modules[\\\\/](croner)[\\\\/]/) || []).slice(1).find(Boolean)).filter(Boolean))].sort();
const [dir, body] = process.argv.slice(2);
const { handler } = require(require("node:path").join(dir, "__index.js"));
const ctx = { getRemainingTimeInMillis: () => 6000, awsRequestId: "cold" };
const record = {
  messageId: "m-1",
  receiptHandle: "r-1",
  body,
  attributes: { ApproximateReceiveCount: "1" },
  messageAttributes: {},
  eventSource: "aws:sqs",
};
(async () => {
  const out = { afterLoad: clients() };
  await handler({ Records: [] }, ctx);
  out.afterEmptyBatch = clients();
  await handler({ Records: [record] }, ctx);
  out.afterFailure = clients();
  process.stdout.write("RESULT " + JSON.stringify(out) + "\\n");
})().catch((err) => process.stdout.write("ERROR " + String(err && err.stack) + "\\n"));
`;

/**
 * One prod FAILED event (PagerDuty, Slack, SMS) with DynamoDB answering (through a counting proxy
 * in the child, to the test's dynalite) and CodePipeline held: prints the client packages loaded
 * once the DynamoDB calls that precede the enrichment's verdict have been answered (the outcome
 * claim, the three delivery claims, Slack's and PagerDuty's send slots: 6; SMS reserves its slot
 * only after the verdict) and 100 more turns of the event loop have run, then lets CodePipeline
 * answer "not found". Secrets Manager stays a closed port, so nothing is sent.
 */
const HELD_ENRICHMENT_CHILD = `
"use strict";
const http = require("node:http");
const path = require("node:path");
const clients = () =>
  [...new Set(Object.keys(require.cache).map((k) => (k.match(/@aws-sdk[\\\\/](client-[a-z0-9-]+)/) || [])[1]).filter(Boolean))].sort();
const [dir, body, dynamo] = process.argv.slice(2);
const turn = () => new Promise((resolve) => setImmediate(resolve));
const state = { answers: 0, held: [], released: false };
const notFound = (res) => {
  res.writeHead(400, { "content-type": "application/x-amz-json-1.1" });
  res.end(JSON.stringify({ __type: "PipelineExecutionNotFoundException", message: "not found" }));
};
const codepipeline = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => (state.released ? notFound(res) : state.held.push(res)));
});
const target = new URL(dynamo);
const ddb = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const out = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        answer.on("end", () => state.answers++);
        answer.pipe(res);
      },
    );
    out.end(Buffer.concat(chunks));
  });
});
const listen = (server) => new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve("http://127.0.0.1:" + server.address().port)));
(async () => {
  process.env.AWS_ENDPOINT_URL_CODEPIPELINE = await listen(codepipeline);
  process.env.AWS_ENDPOINT_URL_DYNAMODB = await listen(ddb);
  const { handler } = require(path.join(dir, "__index.js"));
  const ctx = { getRemainingTimeInMillis: () => 6000, awsRequestId: "held" };
  const record = { messageId: "m-1", receiptHandle: "r-1", body, attributes: { ApproximateReceiveCount: "1" }, messageAttributes: {}, eventSource: "aws:sqs" };
  const done = handler({ Records: [record] }, ctx).then(() => (state.ended = true));
  while (state.answers < 6 && !state.ended) await turn();
  for (let i = 0; i < 100; i++) await turn();
  const beforeVerdict = clients();
  state.released = true;
  state.held.forEach(notFound);
  await done;
  process.stdout.write("RESULT " + JSON.stringify({ answers: state.answers >= 6, beforeVerdict }) + "\\n");
  codepipeline.close();
  ddb.close();
})().catch((err) => process.stdout.write("ERROR " + String(err && err.stack) + "\\n"));
`;

function run(
  dir: string,
  env: Record<string, string>,
  body: string,
  script = CHILD,
  args: string[] = [],
): Promise<string> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cold-start-")), "child.js");
  fs.writeFileSync(file, script);
  const closed = "http://127.0.0.1:9";
  const child = spawn(process.execPath, [file, dir, body, ...args], {
    env: {
      PATH: process.env.PATH ?? "",
      NODE_PATH: runtimeModulesDir(),
      ...env,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "cold",
      AWS_SECRET_ACCESS_KEY: "cold",
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

describe("the fan-out archive's cold start", () => {
  it("loads only the DynamoDB client at load; Secrets Manager and CodePipeline when a record needs them; never SNS, SQS, STS, Lambda or croner (no cron window) for a record that sends nothing", async () => {
    const result = await evaluate({ stack: "prod" });
    const fanout = result.archives.find((a) => a.name === "fanout") as ArchiveInfo;
    const body = JSON.stringify(event("pipeline-failed", { pipeline: "main-app-production-v3" }));

    const out = await run(fanout.dir, fanout.environment, body);

    const line = out.split("\n").find((l) => l.startsWith("RESULT "));
    expect({ line: line ?? out }).toEqual({ line: expect.stringMatching(/^RESULT /) });
    expect(JSON.parse((line as string).slice("RESULT ".length))).toEqual({
      afterLoad: ["client-dynamodb"],
      afterEmptyBatch: ["client-dynamodb"],
      afterFailure: ["client-codepipeline", "client-dynamodb", "client-secrets-manager"],
    });
  }, 180_000);

  it("loads SNS while an SMS delivery waits for the enrichment's verdict, not on the way to its first publish", async () => {
    const result = await evaluate({ stack: "prod" });
    const fanout = result.archives.find((a) => a.name === "fanout") as ArchiveInfo;
    const body = JSON.stringify(event("pipeline-failed", { pipeline: "main-app-production-v3" }));
    const dynamo = await startDynalite();
    try {
      await createAuditTable(dynamo.endpoint, fanout.environment.AUDIT_TABLE);

      const out = await run(fanout.dir, fanout.environment, body, HELD_ENRICHMENT_CHILD, [
        dynamo.endpoint,
      ]);

      const line = out.split("\n").find((l) => l.startsWith("RESULT "));
      expect({ line: line ?? out }).toEqual({ line: expect.stringMatching(/^RESULT /) });
      expect(JSON.parse((line as string).slice("RESULT ".length))).toEqual({
        answers: true,
        beforeVerdict: [
          "client-codepipeline",
          "client-dynamodb",
          "client-secrets-manager",
          "client-sns",
        ],
      });
    } finally {
      await dynamo.close();
    }
  }, 180_000);
});
