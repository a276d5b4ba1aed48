/**
 * Whether an event posted by hand could have come from CodePipeline at all: the shape
 * CodePipeline's state-change events have (EventBridge event reference, "AWS CodePipeline events";
 * user guide, detect-state-changes-cloudwatch-events.html) with the identifiers the API documents
 * (API_PipelineDeclaration.html `name`, API_StageDeclaration.html, API_ActionDeclaration.html:
 * 1–100 of `[A-Za-z0-9.@\-_]`; API_PipelineExecution.html `pipelineExecutionId`: a lower-case
 * UUID). The stand-in records only what passes (record.ts): a malformed event still goes to the
 * notifier, which rejects and audits it, but CodePipeline never had such an execution, so the
 * stand-in must not have one either.
 */

/** API_PipelineDeclaration.html, API_StageDeclaration.html, API_ActionDeclaration.html `name`. */
const NAME = /^[A-Za-z0-9.@\-_]{1,100}$/;
/** API_PipelineExecution.html `pipelineExecutionId`. */
const EXECUTION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** An AWS region as EventBridge stamps it (`us-east-1`, `eu-west-1`, `ap-southeast-2`). */
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
/** A 12-digit AWS account id. */
const ACCOUNT = /^\d{12}$/;

/** The states each level's events carry (user guide, "Monitoring CodePipeline events"). */
const STATES: Record<string, readonly string[]> = {
  "CodePipeline Pipeline Execution State Change": [
    "STARTED",
    "SUCCEEDED",
    "RESUMED",
    "FAILED",
    "CANCELED",
    "STOPPED",
    "STOPPING",
    "SUPERSEDED",
  ],
  "CodePipeline Stage Execution State Change": [
    "STARTED",
    "SUCCEEDED",
    "RESUMED",
    "FAILED",
    "CANCELED",
    "STOPPED",
    "STOPPING",
  ],
  "CodePipeline Action Execution State Change": [
    "STARTED",
    "SUCCEEDED",
    "FAILED",
    "CANCELED",
    "ABANDONED",
  ],
};

/** A value for a reason: quoted, at most 48 characters of it, "missing" when absent. */
const show = (value: unknown): string => {
  if (value === undefined) return "missing";
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
  return JSON.stringify(text.length > 48 ? `${text.slice(0, 48)}…` : text);
};

/** `pipeline-execution-attempt` arrives as 2, 2.0 or "2" (REFERENCE.md: real events vary). */
function isAttempt(value: unknown): boolean {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  return typeof n === "number" && Number.isInteger(n) && n >= 1;
}

/**
 * Why CodePipeline could not have emitted `event` (an EventBridge event with `source`
 * `aws.codepipeline`, as EventBridge delivers it: `account`, `region` and `time` stamped), or
 * undefined when it could have. The reason names the field, e.g.
 * `detail.execution-id "x" is not a pipeline execution id (a lower-case UUID)`.
 */
export function notCodePipelines(event: Record<string, unknown>): string | undefined {
  const detailType = String(event["detail-type"] ?? "");
  const states = STATES[detailType];
  if (!states) return `detail-type ${show(event["detail-type"])} is not a CodePipeline event`;
  if (!ACCOUNT.test(String(event.account))) return `account ${show(event.account)} is no account`;
  if (!REGION.test(String(event.region))) return `region ${show(event.region)} is no AWS region`;
  if (Number.isNaN(Date.parse(String(event.time)))) return `time ${show(event.time)} is no time`;
  const raw = event.detail;
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return "detail is not an object";
  const detail = raw as Record<string, unknown>;
  const checks: Array<[boolean, string]> = [
    [
      NAME.test(String(detail.pipeline)),
      `detail.pipeline ${show(detail.pipeline)} is no pipeline name`,
    ],
    [
      typeof detail["execution-id"] === "string" && EXECUTION_ID.test(detail["execution-id"]),
      `detail.execution-id ${show(detail["execution-id"])} is no pipeline execution id (a lower-case UUID)`,
    ],
    [
      typeof detail.state === "string" && states.includes(detail.state),
      `detail.state ${show(detail.state)} is none of ${states.join(", ")}`,
    ],
    [
      !detailType.includes("Stage") && !detailType.includes("Action")
        ? true
        : typeof detail.stage === "string" && NAME.test(detail.stage),
      `detail.stage ${show(detail.stage)} is no stage name`,
    ],
    [
      !detailType.includes("Action") ||
        (typeof detail.action === "string" && NAME.test(detail.action)),
      `detail.action ${show(detail.action)} is no action name`,
    ],
    [
      detail["pipeline-execution-attempt"] === undefined ||
        isAttempt(detail["pipeline-execution-attempt"]),
      `detail.pipeline-execution-attempt ${show(detail["pipeline-execution-attempt"])} is no attempt number`,
    ],
  ];
  return checks.find(([ok]) => !ok)?.[1];
}
