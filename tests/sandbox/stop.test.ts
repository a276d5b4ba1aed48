/**
 * A stopped execution, end to end: the CodePipeline stand-in stops it as StopPipelineExecution
 * does and emits CodePipeline's events (userguide detect-state-changes-cloudwatch-events.html:
 * Pipeline STOPPING, Stage STOPPING, Action ABANDONED, Stage STOPPED, Pipeline STOPPED); the
 * sandbox routes them through the stack's rule (infra/patterns.ts) to the queue and the fan-out.
 * The stack routes STOPPED for its pipeline (the demo stack with `STOPPED` added to its states),
 * so the Pipeline STOPPED event reaches the channels, which say the execution was stopped — not
 * that it failed — and never page (a stop is someone's decision). The approval's Action
 * ABANDONED is routed too (approvals for STARTED and their runs' ends, so that a request nobody
 * clicked is rewritten), and is told to no channel; the other stop events match no branch of the
 * rule (stage and action events are routed for FAILED).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomUUID } from "node:crypto";
import { startSandbox, type Sandbox } from "../../sandbox/sandbox";
import { DEMO_STACK_FILE } from "../../sandbox/stacks";
import { stopExecution } from "../../testing";
import { putApprovalResult } from "../../testing/aws/codepipeline";

const PIPELINE = "main-app-production";
let sandbox: Sandbox;
let dir: string;
const lines: string[] = [];

beforeAll(async () => {
  // The demo stack, its main-app-production pipeline routing STOPPED as well, its web- pipelines
  // STOPPING and STOPPED.
  const demo = fs.readFileSync(DEMO_STACK_FILE, "utf8");
  const routed = demo
    .replace(
      `- name: ${PIPELINE}\n      tier: critical\n      states: [FAILED, SUCCEEDED]`,
      `- name: ${PIPELINE}\n      tier: critical\n      states: [FAILED, SUCCEEDED, STOPPED]`,
    )
    .replace(
      "- prefix: web-\n      tier: standard\n      states: [FAILED, SUCCEEDED]",
      "- prefix: web-\n      tier: standard\n      states: [FAILED, SUCCEEDED, STOPPING, STOPPED]",
    );
  expect(routed).toContain("STOPPING, STOPPED");
  expect(routed).not.toBe(demo);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "dn-stop-test-"));
  const configFile = path.join(dir, "Pulumi.stop.yaml");
  fs.writeFileSync(configFile, routed);
  sandbox = await startSandbox({ configFile, port: 0, serve: false, log: (l) => lines.push(l) });
}, 120_000);

afterAll(async () => {
  await sandbox?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);

it("a stopped execution reaches the channels as stopped (with no page); only its Pipeline STOPPED and its approval's ABANDONED match the rule", async () => {
  // Prepare: an execution waits at its approval.
  const executionId = randomUUID();
  sandbox.standins.aws.addPendingApproval({
    pipeline: PIPELINE,
    stage: "Approve",
    action: "ManualApproval",
    executionId,
  });
  const slackBefore = sandbox.standins.receivers.byReceiver("slack", "slack-eng").length;
  const pagesBefore = sandbox.standins.receivers.attemptsOf("pagerduty").length;
  const from = lines.length;

  // Act: someone stops it and abandons the approval, giving a reason.
  const stopped = stopExecution(sandbox.standins.aws.state, PIPELINE, executionId, new Date(), {
    reason: "bad migration, see INC-2291",
  });
  await sandbox.settle();

  // Assess
  expect(stopped).toBe(true);
  const routed = lines.slice(from).filter((l) => l.includes("event CodePipeline emitted"));
  const dropped = " — not matched by the rule, dropped";
  expect(routed.map((l) => l.trim())).toEqual([
    `⇢ event CodePipeline emitted ${PIPELINE} Pipeline STOPPING${dropped}`,
    `⇢ event CodePipeline emitted ${PIPELINE} Stage STOPPING${dropped}`,
    // The approval's own end is routed for pipelines with approvals, so that a request nobody
    // clicked is rewritten (handlers/reminders/ended.ts); it is told to no channel.
    `⇢ event CodePipeline emitted ${PIPELINE} Action ABANDONED`,
    `⇢ event CodePipeline emitted ${PIPELINE} Stage STOPPED${dropped}`,
    `⇢ event CodePipeline emitted ${PIPELINE} Pipeline STOPPED`,
  ]);
  const slack = sandbox.standins.receivers.byReceiver("slack", "slack-eng").slice(slackBefore);
  expect(slack).toHaveLength(1);
  const text = JSON.stringify(slack[0].body);
  expect(text).toContain(`${PIPELINE} stopped`);
  expect(text).not.toMatch(/fail/i);
  expect(sandbox.standins.receivers.attemptsOf("pagerduty").slice(pagesBefore)).toEqual([]);
});

it("stop and wait: 'stopping' with the reason while the approval still waits, then 'stopped' once it is decided — never 'succeeded'", async () => {
  // Prepare: a web- pipeline (STOPPING and STOPPED routed) waits at its approval.
  const pipeline = "web-storefront";
  const executionId = randomUUID();
  const token = sandbox.standins.aws.addPendingApproval({
    pipeline,
    stage: "Approve",
    action: "ManualApproval",
    executionId,
  });
  const before = sandbox.standins.receivers.byReceiver("slack", "slack-eng").length;
  const newSlack = () =>
    sandbox.standins.receivers
      .byReceiver("slack", "slack-eng")
      .slice(before)
      .map((d) => String((d.body as { text?: unknown }).text));

  // Act: stop and wait (StopPipelineExecution's default), with a reason.
  stopExecution(sandbox.standins.aws.state, pipeline, executionId, new Date(), {
    abandon: false,
    reason: "freeze for the release review",
  });
  await sandbox.settle();
  const whileStopping = newSlack();
  // Act: the approval is decided, the last action the stop waited for.
  putApprovalResult(sandbox.standins.aws.state, {
    pipelineName: pipeline,
    stageName: "Approve",
    actionName: "ManualApproval",
    token,
    result: { status: "Approved", summary: "Approved by Jane" },
  });
  await sandbox.settle();

  // Assess
  // The reason is the Pipeline STOPPING event's stop-execution-comments; the STOPPED event
  // carries none (user guide, "Monitoring CodePipeline events").
  const stopping = `:octagonal_sign: ${pipeline} stopping: freeze for the release review`;
  expect(whileStopping).toEqual([stopping]);
  expect(newSlack()).toEqual([stopping, `:octagonal_sign: ${pipeline} stopped`]);
});
