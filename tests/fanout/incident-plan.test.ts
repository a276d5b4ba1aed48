/**
 * What a rollback's success says it undid, now that one incident holds every failure of a
 * pipeline (issue 11): the LAST failing execution added to the incident it resolves
 * (store/incidents.ts `lastExecution`), not the execution whose key opened it.
 */
import { noteRolledBackFailure, resolveDelivery } from "../../handlers/fanout/plan";
import type { Notification } from "../../handlers/types";

const PIPELINE = "main-app-production-v3";

function rollbackSuccess(): Notification {
  return {
    pipeline: PIPELINE,
    account: "123456789012",
    region: "us-east-1",
    kind: "success",
    rollback: { trigger: "AutomatedRollback" },
  } as unknown as Notification;
}

describe("noteRolledBackFailure with one incident per pipeline", () => {
  it("names the incident's last failing execution, not the one whose key opened it", () => {
    const n = rollbackSuccess();
    const d = resolveDelivery("pagerduty-oncall", `deploy-notifier/${PIPELINE}/first`, "last");

    expect(d).toMatchObject({ resolveDedupKey: `deploy-notifier/${PIPELINE}/first` });
    expect(noteRolledBackFailure(n, [d])).toBe("last");
    expect(n.rollback).toMatchObject({ failedExecutionId: "last" });
  });

  it("falls back to the key's execution for an incident without one (pre-issue-11 keys)", () => {
    const n = rollbackSuccess();
    const d = resolveDelivery("pagerduty-oncall", `deploy-notifier/${PIPELINE}/old`);

    expect(noteRolledBackFailure(n, [d])).toBe("old");
  });
});
