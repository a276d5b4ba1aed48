/**
 * Request constraints CodePipeline checks before it looks anything up, as the API reference
 * documents them per field (https://docs.aws.amazon.com/codepipeline/latest/APIReference/), and
 * the answer AWS gives for a field that breaks one: `ValidationException` ("The input fails to
 * satisfy the constraints specified by an AWS service", CommonErrors.html, HTTP 400) with the
 * AWS wording "1 validation error detected: Value '…' at '<field>' failed to satisfy constraint:
 * …". (API_PipelineExecutionNotFoundException says "specified in an invalid format or cannot be
 * found"; an id that breaks the documented pattern never reaches that lookup.)
 */
import { serviceError, type ServiceError } from "../core";

/**
 * `pipelineExecutionId`: "Pattern: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
 * required (API_GetPipelineExecution.html, API_RetryStageExecution.html).
 */
export const EXECUTION_ID_PATTERN = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const EXECUTION_ID = new RegExp(`^${EXECUTION_ID_PATTERN}$`);

/** RetryStageExecution `retryMode`: "Valid Values: FAILED_ACTIONS | ALL_ACTIONS", required. */
export const RETRY_MODES: readonly string[] = ["FAILED_ACTIONS", "ALL_ACTIONS"];

/** AWS's ValidationException for one field. */
function invalid(field: string, value: unknown, constraint: string): ServiceError {
  const shown = value === undefined ? "null" : String(value);
  return serviceError(
    "ValidationException",
    `1 validation error detected: Value '${shown}' at '${field}' failed to satisfy constraint: ${constraint}`,
  );
}

/**
 * `input[field]` when it is a pipeline execution id of the documented pattern.
 * @throws ValidationException naming the field, its value and the pattern.
 */
export function requireExecutionId(input: Record<string, unknown>, field: string): string {
  const value = input[field];
  if (typeof value !== "string" || !EXECUTION_ID.test(value))
    throw invalid(
      field,
      value,
      `Member must satisfy regular expression pattern: ${EXECUTION_ID_PATTERN}`,
    );
  return value;
}

/**
 * `input[field]` when it is one of `values`.
 * @throws ValidationException naming the field, its value and the enum value set.
 */
export function requireEnum(
  input: Record<string, unknown>,
  field: string,
  values: readonly string[],
): string {
  const value = input[field];
  if (typeof value !== "string" || !values.includes(value))
    throw invalid(field, value, `Member must satisfy enum value set: [${values.join(", ")}]`);
  return value;
}
