/**
 * The sandbox's views added for issues 11, 12 and 14, without starting a sandbox: time to the ops
 * alarm from the fan-out's EMF lines (ops-alarms.ts), what a storm shows per channel
 * (traffic.ts), the central bus's door (central-bus.ts) and the CodePipeline stand-in of every
 * (account, region) as `GET /api/codepipeline` lists it.
 */
import { describe, expect, test } from "@jest/globals";
import { DIMENSION, METRIC } from "../../handlers/contracts/metrics";
import { busPolicyStatements } from "../../infra/central-bus";
import { FAILURES } from "../../infra/alarms";
import { emptyState } from "../../testing/aws/core";
import { codePipelineScope } from "../../testing/aws/codepipeline/accounts";
import { startExecution } from "../../testing/aws/codepipeline";
import { codePipelineViewOfScopes } from "../../testing/aws/codepipeline/view";
import { centralBusRefusal } from "../../sandbox/central-bus";
import {
  createMetricLog,
  firstAlarm,
  timesToAlarm,
  type MetricSample,
} from "../../sandbox/ops-alarms";
import { deferredChannels, isDigest } from "../../sandbox/traffic";

const SCALE = 50;
/** Real ms of one AWS minute at 1/50: 1.2 s. */
const MINUTE = 60_000 / SCALE;
const ORIGIN = 1_000_000;

const failed = (channel: string, atMs: number): MetricSample => ({
  atMs,
  name: METRIC.failed,
  value: 1,
  dimensions: { [DIMENSION.channel]: channel },
});

describe("time to the ops alarm (issue 12: the sandbox shows 'Slack starts failing' → alarm)", () => {
  test("EMF lines become samples, also when a chunk boundary cuts one in two", () => {
    const log = createMetricLog();
    const doc = JSON.stringify({
      _aws: {
        Timestamp: 1234,
        CloudWatchMetrics: [
          { Namespace: "DeployNotifier", Dimensions: [["Channel"]], Metrics: [{ Name: "Failed" }] },
        ],
      },
      Channel: "slack-eng",
      Failed: 1,
    });
    expect(log.read('{"level":"INFO","message":"record done"}')).toBe(false);
    expect(log.read(doc.slice(0, 40))).toBe(false);
    expect(log.read(doc.slice(40))).toBe(true);
    expect(log.samples).toEqual([
      { atMs: 1234, name: "Failed", value: 1, dimensions: { Channel: "slack-eng" } },
    ]);
  });

  test(`channel-<name>-failed fires at the end of the 2nd failing minute within ${FAILURES.minutes} (infra/alarms.ts FAILURES)`, () => {
    // A failure in minute 0 and the redelivery's failure 6 minutes later (360 s visibility).
    const samples = [
      failed("slack-eng", ORIGIN + 0.5 * MINUTE),
      failed("slack-eng", ORIGIN + 6.5 * MINUTE),
    ];
    const clock = { originMs: ORIGIN, scale: SCALE, fromMs: ORIGIN };
    expect(firstAlarm(samples, ["slack-eng"], clock)).toEqual({
      alarm: "channel-slack-eng-failed",
      atMs: ORIGIN + 7 * MINUTE,
      firstFailureMs: ORIGIN + 0.5 * MINUTE,
      // The evaluation that fired it: the two failing minutes, each one datapoint of Sum 1.
      breaching: [
        { startMs: ORIGIN, value: 1 },
        { startMs: ORIGIN + 6 * MINUTE, value: 1 },
      ],
    });
    // Two failures in one minute are one datapoint, of Sum 2.
    expect(
      firstAlarm([failed("slack-eng", ORIGIN + 10), ...samples], ["slack-eng"], clock)?.breaching,
    ).toEqual([
      { startMs: ORIGIN, value: 2 },
      { startMs: ORIGIN + 6 * MINUTE, value: 1 },
    ]);
    // One failing minute is a blip; two failures in one minute are one datapoint.
    expect(firstAlarm(samples.slice(0, 1), ["slack-eng"], clock)).toBeUndefined();
    expect(
      firstAlarm(
        [failed("slack-eng", ORIGIN + 10), failed("slack-eng", ORIGIN + 20)],
        ["slack-eng"],
        clock,
      ),
    ).toBeUndefined();
    // Two failing minutes 10 apart are not "2 of the last 10".
    expect(
      firstAlarm(
        [failed("slack-eng", ORIGIN), failed("slack-eng", ORIGIN + 10 * MINUTE)],
        ["slack-eng"],
        clock,
      ),
    ).toBeUndefined();
    // Another channel's failures do not count for this one.
    expect(firstAlarm(samples, ["pagerduty-oncall"], clock)).toBeUndefined();
  });

  test("dlq-sends fires at the end of the minute of the first DeadLettered, before a later channel alarm", () => {
    const dead: MetricSample = {
      atMs: ORIGIN + 2.2 * MINUTE,
      name: METRIC.deadLettered,
      value: 1,
      dimensions: { Component: "fanout" },
    };
    const samples = [failed("slack-eng", ORIGIN), failed("slack-eng", ORIGIN + 6 * MINUTE), dead];
    expect(
      firstAlarm(samples, ["slack-eng"], { originMs: ORIGIN, scale: SCALE, fromMs: ORIGIN }),
    ).toMatchObject({
      alarm: "dlq-sends",
      atMs: ORIGIN + 3 * MINUTE,
      breaching: [{ startMs: ORIGIN + 2 * MINUTE, value: 1 }],
    });
  });

  test("a slack fault is timed on the stack's Slack channels, in AWS seconds from the fault", () => {
    const [row] = timesToAlarm({
      history: [
        { receiver: "slack", fault: "500", origin: "user", atMs: ORIGIN + 0.2 * MINUTE },
        { receiver: "slack", fault: null, origin: "user", atMs: ORIGIN + 20 * MINUTE },
      ],
      samples: [
        failed("slack-eng", ORIGIN + 0.5 * MINUTE),
        failed("slack-eng", ORIGIN + 6.5 * MINUTE),
      ],
      runtime: {
        channels: {
          "slack-eng": { type: "slack" },
          "pagerduty-oncall": { type: "pagerduty" },
        } as never,
      },
      originMs: ORIGIN,
      scale: SCALE,
    });
    expect(row).toMatchObject({
      receiver: "slack",
      fault: "500",
      channels: ["slack-eng"],
      firstFailureSeconds: 18,
      alarm: "channel-slack-eng-failed",
      // The end of minute 7 is 420 AWS s from the start, 408 s after the fault at 12 s.
      alarmSeconds: 408,
      alarmSandboxMs: 8160,
      // Minutes 0 and 6, from the fault at 12 s; the alarm at the end of the second.
      breachingDatapoints: [
        { periodStartSeconds: -12, value: 1 },
        { periodStartSeconds: 348, value: 1 },
      ],
    });
  });

  test("the first failure is shown before (or without) an alarm: one failing minute fires nothing", () => {
    // Found by a new-user pass: the page said "first failure —" while its audit trail listed it.
    const [row] = timesToAlarm({
      history: [{ receiver: "slack", fault: "503", origin: "scenario", atMs: ORIGIN }],
      samples: [failed("slack-eng", ORIGIN + 0.5 * MINUTE)],
      runtime: { channels: { "slack-eng": { type: "slack" } } as never },
      originMs: ORIGIN,
      scale: SCALE,
    });
    expect(row).toMatchObject({ receiver: "slack", firstFailureSeconds: 30 });
    expect(row.alarm).toBeUndefined();
  });
});

describe("what a storm shows per channel (issue 11)", () => {
  test("digests are told from single messages (digest.ts and sms.ts wordings)", () => {
    expect(isDigest({ text: "37 pipelines failed in the last 2 minutes" })).toBe(true);
    expect(isDigest("37 more pipelines failed in 2 min: svc-01, svc-02 - see slack-oncall")).toBe(
      true,
    );
    expect(isDigest({ text: "40 failures in 37 pipelines in the last 2 minutes" })).toBe(true);
    expect(isDigest({ text: ":red_circle: svc-11 failed" })).toBe(false);
    expect(isDigest("svc-11 failed in Deploy (attempt 2)")).toBe(false);
  });

  test("a deferred copy's deferredFor names its channels", () => {
    expect(deferredChannels("slack-eng: HTTP 429; sms-oncall: paced")).toEqual([
      "slack-eng",
      "sms-oncall",
    ]);
    expect(deferredChannels(undefined)).toEqual([]);
  });
});

describe("the central bus's door and every (account, region) of CodePipeline (issue 14)", () => {
  const bus = "arn:aws:events:us-east-1:123456789012:event-bus/deploy-notifier";

  test("the declared policy admits exactly the configured accounts; an organization grant admits any", () => {
    const listed = JSON.stringify({
      Version: "2012-10-17",
      Statement: busPolicyStatements(bus, ["111111111111"], "aws"),
    });
    expect(centralBusRefusal(listed, "111111111111")).toBeUndefined();
    expect(centralBusRefusal(listed, "999999999999")).toMatch(
      /EventBridge refused PutEvents from account 999999999999/,
    );
    const org = JSON.stringify({
      Statement: busPolicyStatements(bus, [], "aws", "o-abc123"),
    });
    expect(centralBusRefusal(org, "999999999999")).toBeUndefined();
    expect(centralBusRefusal(undefined, "111111111111")).toMatch(/no central bus/);
  });

  test("GET /api/codepipeline's view lists every scope: home by name, others by ARN", () => {
    const state = emptyState();
    state.codepipeline.region = "us-east-1";
    startExecution(state, { pipeline: "web-shop" });
    startExecution(codePipelineScope(state, { account: "111111111111", region: "eu-west-1" }), {
      pipeline: "web-shop",
    });
    const view = codePipelineViewOfScopes(state);
    expect(Object.keys(view)).toEqual([
      "web-shop",
      "arn:aws:codepipeline:eu-west-1:111111111111:web-shop",
    ]);
    expect(view["arn:aws:codepipeline:eu-west-1:111111111111:web-shop"]).toMatchObject({
      account: "111111111111",
      region: "eu-west-1",
    });
    expect(view["web-shop"].executions).toHaveLength(1);
  });
});
