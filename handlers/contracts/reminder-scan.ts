/**
 * The reminder scan's message: the scheduled EventBridge rule (infra/event-intake.ts) sends this
 * constant text as the target's `Input` to the events queue, and the fan-out recognizes it
 * (handlers/reminders). With `Input` set, EventBridge passes that JSON text to the target instead
 * of the event (EventBridge API reference, `Target.Input`: "Valid JSON text passed to the target.
 * In this case, nothing from the event itself is passed to the target").
 */

/** The marker field and value of a reminder scan message. */
export const REMINDER_SCAN = { field: "deploy-notifier", value: "approval-reminder-scan" } as const;

/** The JSON text the schedule rule sends: `{"deploy-notifier":"approval-reminder-scan"}`. */
export const REMINDER_SCAN_INPUT = JSON.stringify({ [REMINDER_SCAN.field]: REMINDER_SCAN.value });

/**
 * Whether an SQS message body is a reminder scan. Only the exact marker counts: a CodePipeline
 * event never has the field, and the queue's policy lets only this stack's rules send.
 */
export function isReminderScan(body: string | undefined): boolean {
  if (!body || body.length > 200) return false;
  try {
    const parsed = JSON.parse(body) as unknown;
    return (
      typeof parsed === "object" &&
      parsed !== null &&
      (parsed as Record<string, unknown>)[REMINDER_SCAN.field] === REMINDER_SCAN.value
    );
  } catch {
    return false;
  }
}
