/**
 * The heartbeat's message: a scheduled EventBridge rule (infra/event-intake.ts) sends this
 * constant text as its target's `Input` to the events queue, like the reminder scan
 * (./reminder-scan.ts), and the fan-out answers it with one `Heartbeat` metric
 * (./metrics.ts). An alarm that treats missing data as breaching (infra/alarms.ts) fires when the
 * heartbeat stops arriving: the rule, the queue, the event source mapping or the fan-out broke.
 * With `Input` set, EventBridge passes that JSON text to the target instead of the event
 * (EventBridge API reference, `Target.Input`).
 */

import { isScheduled, SCHEDULED_FIELD, scheduledInput } from "./scheduled";

/** The marker field and value of this message. */
export const HEARTBEAT = { field: SCHEDULED_FIELD, value: "heartbeat" } as const;

/** The JSON text the schedule rule sends: `{"deploy-notifier":"heartbeat"}`. */
export const HEARTBEAT_INPUT = scheduledInput(HEARTBEAT.value);

/** Whether an SQS message body is this message (./scheduled.ts, `isScheduled`). */
export function isHeartbeat(body: string | undefined): boolean {
  return isScheduled(body, HEARTBEAT.value);
}
