/**
 * The heartbeat's message: a scheduled EventBridge rule (infra/event-intake.ts) sends this
 * constant text as its target's `Input` to the events queue, like the reminder scan
 * (./reminder-scan.ts), and the fan-out answers it with one `Heartbeat` metric
 * (./metrics.ts). An alarm that treats missing data as breaching (infra/alarms.ts) fires when the
 * heartbeat stops arriving: the rule, the queue, the event source mapping or the fan-out broke.
 * With `Input` set, EventBridge passes that JSON text to the target instead of the event
 * (EventBridge API reference, `Target.Input`).
 */

/** The marker field and value of a heartbeat message. */
export const HEARTBEAT = { field: "deploy-notifier", value: "heartbeat" } as const;

/** The JSON text the heartbeat rule sends: `{"deploy-notifier":"heartbeat"}`. */
export const HEARTBEAT_INPUT = JSON.stringify({ [HEARTBEAT.field]: HEARTBEAT.value });

/**
 * Whether an SQS message body is a heartbeat. Only the exact marker counts: a CodePipeline event
 * never has the field, and the queue's policy lets only this stack's rules send.
 */
export function isHeartbeat(body: string | undefined): boolean {
  if (!body || body.length > 200) return false;
  try {
    const parsed = JSON.parse(body) as unknown;
    return (
      typeof parsed === "object" &&
      parsed !== null &&
      (parsed as Record<string, unknown>)[HEARTBEAT.field] === HEARTBEAT.value
    );
  } catch {
    return false;
  }
}
