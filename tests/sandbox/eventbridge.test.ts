/** EventBridge pattern matching, against the fixtures and the operators the rule uses. */
import { matchesPattern, readStackConfig } from "../../testing";
import { buildRulePattern } from "../../infra/patterns";
import { parseConfig } from "../../config";
import approvalStarted from "../events/codepipeline/action-approval-started.json";
import pipelineFailed from "../events/codepipeline/pipeline-failed.json";
import pipelineStarted from "../events/codepipeline/pipeline-started.json";
import wrongSource from "../events/codepipeline/malformed-wrong-source.json";

function prodPattern(): string {
  const { raw } = readStackConfig("prod");
  const secrets = {
    "slack-eng": { webhookUrl: "https://hooks.slack.com/services/T/B/x" },
    "slack-releases": { webhookUrl: "https://hooks.slack.com/services/T/B/y" },
    "pagerduty-oncall": { routingKey: "0123456789abcdef0123456789abcdef" },
    slackApp: { signingSecret: "s" },
  };
  return buildRulePattern(parseConfig({ ...raw, secrets }, { stack: "prod" }).runtime).pattern;
}

describe("matchesPattern", () => {
  test("the prod rule takes a prod failure and an approval request, not a start or a foreign source", () => {
    // Prepare
    const pattern = prodPattern();

    // Act / Assess
    expect(matchesPattern(pattern, pipelineFailed)).toBe(true);
    expect(matchesPattern(pattern, approvalStarted)).toBe(true);
    expect(matchesPattern(pattern, pipelineStarted)).toBe(false);
    expect(matchesPattern(pattern, wrongSource)).toBe(false);
    expect(
      matchesPattern(pattern, {
        ...approvalStarted,
        detail: { ...approvalStarted.detail, type: { category: "Build" } },
      }),
    ).toBe(false);
  });

  test.each([
    [
      { detail: { pipeline: [{ prefix: "staging-" }] } },
      { detail: { pipeline: "staging-api" } },
      true,
    ],
    [
      { detail: { pipeline: [{ prefix: "staging-" }] } },
      { detail: { pipeline: "prod-api" } },
      false,
    ],
    [{ detail: { pipeline: [{ suffix: "-v3" }] } }, { detail: { pipeline: "main-v3" } }, true],
    [
      { detail: { state: [{ "anything-but": ["STARTED"] }] } },
      { detail: { state: "FAILED" } },
      true,
    ],
    [
      { detail: { state: [{ "anything-but": ["STARTED"] }] } },
      { detail: { state: "STARTED" } },
      false,
    ],
    [{ detail: { stage: [{ exists: false }] } }, { detail: { state: "FAILED" } }, true],
    [{ detail: { stage: [{ exists: true }] } }, { detail: { state: "FAILED" } }, false],
    [{ detail: { version: [{ numeric: [">=", 2, "<", 8] }] } }, { detail: { version: 7 } }, true],
    [{ detail: { version: [{ numeric: [">=", 2, "<", 8] }] } }, { detail: { version: 8 } }, false],
    [
      { detail: { state: [{ "equals-ignore-case": "failed" }] } },
      { detail: { state: "FAILED" } },
      true,
    ],
    [{ resources: ["arn:x"] }, { resources: ["arn:y", "arn:x"] }, true],
    [
      { detail: { pipeline: [{ wildcard: "main-*-v3" }] } },
      { detail: { pipeline: "main-app-v3" } },
      true,
    ],
    [{ $or: [{ a: ["1"] }, { b: ["2"] }] }, { b: "2" }, true],
    [{ $or: [{ a: ["1"] }, { b: ["2"] }] }, { b: "3" }, false],
    [{ detail: { pipeline: ["x"] } }, { detail: "x" }, false],
  ])("%j on %j → %s", (pattern, event, expected) => {
    expect(matchesPattern(pattern, event)).toBe(expected);
  });

  test("an operator the sandbox does not implement is an error, not a silent mismatch", () => {
    expect(() => matchesPattern({ ip: [{ cidr: "10.0.0.0/24" }] }, { ip: "10.0.0.1" })).toThrow(
      /cidr/,
    );
  });
});
