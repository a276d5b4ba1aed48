/**
 * The Slack approval wire contract (handlers/contracts/slack-approval.ts) seen from both sides: a
 * button the fan-out's Slack driver renders is parsed by the approval Lambda as the same approval.
 */
import type { ActionsBlock, Button } from "@slack/types";
import approvalRequest from "../fixtures/notifications/approval-request.json";
import { formatSlack } from "../../handlers/channels/slack";
import {
  APPROVE_ACTION_ID,
  decisionOf,
  encodeApprovalButtonValue,
  parseApprovalButtonValue,
  REJECT_ACTION_ID,
} from "../../handlers/contracts/slack-approval";
import {
  parseInteraction,
  type BlockActionsInteraction,
} from "../../handlers/approval/interaction";
import type { Notification } from "../../handlers/types";
import payloadFixture from "../events/slack/block-actions-approve.json";

const notification = approvalRequest as unknown as Notification;

/** The Approve / Reject buttons of the rendered approval request. */
function renderedButtons(): Button[] {
  const message = formatSlack(notification, { type: "slack", mode: "webhook" });
  const actions = message.blocks.find((b): b is ActionsBlock => b.type === "actions");
  return (actions?.elements ?? []).filter(
    (e): e is Button => e.type === "button" && typeof e.action_id === "string",
  );
}

/** The block_actions payload Slack would send for a click on `button`. */
function clickOn(button: Button): BlockActionsInteraction {
  const payload = {
    ...payloadFixture,
    actions: [{ ...payloadFixture.actions[0], action_id: button.action_id, value: button.value }],
  };
  const parsed = parseInteraction(JSON.stringify(payload));
  if (!parsed.ok || parsed.interaction.type !== "block_actions") throw new Error("not a click");
  return parsed.interaction as BlockActionsInteraction;
}

describe("Slack approval contract", () => {
  it("a button the fan-out renders is parsed by the approval Lambda as the same approval", () => {
    // Prepare
    const expected = {
      pipeline: notification.pipeline,
      stage: notification.stage,
      action: notification.action,
      executionId: notification.executionId,
      // The run the request was posted for (REFERENCE.md, CodePipeline's lifecycle: each run of
      // an approval action has its own action execution id): the click decides only that run.
      actionExecutionId: notification.actionExecutionId,
    };
    // Act
    const clicks = renderedButtons()
      .filter((b) => b.action_id === APPROVE_ACTION_ID || b.action_id === REJECT_ACTION_ID)
      .map(clickOn)
      .map((click) => ({
        decision: decisionOf(click.actionId),
        target: parseApprovalButtonValue(click.value),
      }));
    // Assess
    expect(clicks).toEqual([
      { decision: "Approved", target: expected },
      { decision: "Rejected", target: expected },
    ]);
  });

  it("the rendered value is exactly the contract's encoding", () => {
    // Act
    const values = renderedButtons()
      .filter((b) => b.action_id === APPROVE_ACTION_ID || b.action_id === REJECT_ACTION_ID)
      .map((b) => b.value);
    // Assess
    const encoded = encodeApprovalButtonValue({
      pipeline: notification.pipeline,
      stage: notification.stage ?? "",
      action: notification.action ?? "",
      executionId: notification.executionId,
      actionExecutionId: notification.actionExecutionId,
    });
    expect(values).toEqual([encoded, encoded]);
    expect(encoded).toBe(
      '{"pipeline":"main-app-production-v3","stage":"Approve","action":"ManualApproval",' +
        '"executionId":"3f1c2b7e-9a4d-4e2b-8c6f-1d2e3f4a5b6c",' +
        '"actionExecutionId":"6c1f0e2d-3a4b-4c5d-9e6f-7a8b9c0d1e2f"}',
    );
  });

  it("link buttons are not decisions", () => {
    // Act
    const others = renderedButtons().filter(
      (b) => b.action_id !== APPROVE_ACTION_ID && b.action_id !== REJECT_ACTION_ID,
    );
    // Assess
    expect(others.map((b) => decisionOf(b.action_id as string))).toEqual(
      others.map(() => undefined),
    );
  });

  it("carries the attempt the request was asked in (a decision keeps it), and refuses a malformed one", () => {
    // Prepare: the request of a retried stage (pipeline-execution-attempt 2, REFERENCE.md).
    const retried = { ...notification, attempt: 2 };
    const message = formatSlack(retried, { type: "slack", mode: "webhook" });
    const actions = message.blocks.find((b): b is ActionsBlock => b.type === "actions");
    const approve = actions?.elements.find(
      (e): e is Button => e.type === "button" && e.action_id === APPROVE_ACTION_ID,
    );
    // Act
    const target = parseApprovalButtonValue(approve?.value);
    // Assess
    expect(target?.attempt).toBe(2);
    const base = '"pipeline":"p","stage":"s","action":"a","executionId":"e"';
    for (const bad of ["0", "1.5", '"2"', "null"]) {
      expect([bad, parseApprovalButtonValue(`{${base},"attempt":${bad}}`)]).toEqual([
        bad,
        undefined,
      ]);
    }
  });

  it("refuses values with a missing or empty field", () => {
    // Assess
    expect(
      parseApprovalButtonValue('{"pipeline":"p","stage":"","action":"a","executionId":"e"}'),
    ).toBeUndefined();
    expect(parseApprovalButtonValue("not json")).toBeUndefined();
    expect(parseApprovalButtonValue(undefined)).toBeUndefined();
  });
});
