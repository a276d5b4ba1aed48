/**
 * The reminder scan's message: the scheduled EventBridge rule (infra/event-intake.ts) sends this
 * constant text as the target's `Input` to the events queue, and the fan-out recognizes it
 * (handlers/reminders). With `Input` set, EventBridge passes that JSON text to the target instead
 * of the event (EventBridge API reference, `Target.Input`: "Valid JSON text passed to the target.
 * In this case, nothing from the event itself is passed to the target").
 */

import { isScheduled, SCHEDULED_FIELD, scheduledInput } from "./scheduled";

/** The marker field and value of this message. */
export const REMINDER_SCAN = { field: SCHEDULED_FIELD, value: "approval-reminder-scan" } as const;

/** The JSON text the schedule rule sends: `{"deploy-notifier":"approval-reminder-scan"}`. */
export const REMINDER_SCAN_INPUT = scheduledInput(REMINDER_SCAN.value);

/** Whether an SQS message body is this message (./scheduled.ts, `isScheduled`). */
export function isReminderScan(body: string | undefined): boolean {
  return isScheduled(body, REMINDER_SCAN.value);
}
