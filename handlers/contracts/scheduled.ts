/**
 * The messages that this stack's own scheduled EventBridge rules put on the events queue (the
 * heartbeat, ./heartbeat.ts, and the approval reminder scan, ./reminder-scan.ts): each rule's
 * target sends a constant JSON text as its `Input`, `{"deploy-notifier": "<kind>"}`, instead of the
 * event (EventBridge API reference, `Target.Input`: "Valid JSON text passed to the target. In this
 * case, nothing from the event itself is passed to the target"). The fan-out tells them from
 * CodePipeline events by that one field.
 */

/** The field that marks a scheduled message; a CodePipeline event never has it. */
export const SCHEDULED_FIELD = "deploy-notifier";

/** The kinds of scheduled message. */
export type ScheduledKind = "heartbeat" | "approval-reminder-scan";

/** The JSON text a scheduled rule sends for `kind`, e.g. `{"deploy-notifier":"heartbeat"}`. */
export function scheduledInput(kind: ScheduledKind): string {
  return JSON.stringify({ [SCHEDULED_FIELD]: kind });
}

/**
 * Whether an SQS message body is the scheduled message of `kind`. Only the exact marker counts
 * (the queue's policy lets only this stack's rules send); bodies over 200 characters never are.
 */
export function isScheduled(body: string | undefined, kind: ScheduledKind): boolean {
  if (!body || body.length > 200) return false;
  try {
    const parsed = JSON.parse(body) as unknown;
    return (
      typeof parsed === "object" &&
      parsed !== null &&
      (parsed as Record<string, unknown>)[SCHEDULED_FIELD] === kind
    );
  } catch {
    return false;
  }
}
