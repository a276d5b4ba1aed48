/**
 * Approval reminders and expiry (issue 10): the fan-out records every approval request it posted
 * to Slack (record.ts → store/pending.ts); a scheduled rule sends a scan message to the events
 * queue (contracts/reminder-scan.ts), and the fan-out runs the scan (scan.ts): one reminder to
 * the approvers before the request expires, and the request marked expired when it does. A request
 * whose run ended otherwise without a Slack decision is rewritten by the fan-out (ended.ts).
 */
export { isReminderScan, REMINDER_SCAN_INPUT } from "../contracts/reminder-scan";
export { rememberRequest, pendingOf } from "./record";
export { runReminderScan, scanRecord, reminderLeadMs, type ScanCounts } from "./scan";
export { endRequestsOf, endRequest, type EndResult } from "./ended";
