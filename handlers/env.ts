/** The environment variables the program sets on the Lambdas (infra/notifier.ts). */
/** Names of the environment variables the program sets on the Lambdas. */
export const ENV = {
  /** DynamoDB table for the delivery ledger and the audit trail. */
  table: "AUDIT_TABLE",
  /** ARN of the Secrets Manager secret with the channel secrets (fan-out). */
  channelSecretsArn: "CHANNEL_SECRETS_ARN",
  /** ARN of the Secrets Manager secret with the Slack app secrets (approval). */
  slackAppSecretArn: "SLACK_APP_SECRET_ARN",
  /** JSON map: channel name → SNS topic ARN (sms and email channels). */
  channelTopics: "CHANNEL_TOPICS",
  /** URL of the DLQ, where the fan-out parks undeliverable events with the reasons. */
  deadLetterQueueUrl: "DEAD_LETTER_QUEUE_URL",
  /** The events queue's maxReceiveCount: the attempt after which an event goes to the DLQ. */
  maxReceiveCount: "MAX_RECEIVE_COUNT",
  /**
   * URL of the events queue itself: the fan-out re-sends a deferred record there with a delay
   * (fanout/requeue.ts: rate-limited channels, digest flushes), as a new message whose receive
   * count starts again, so waiting for a receiver never counts toward the DLQ.
   */
  eventsQueueUrl: "EVENTS_QUEUE_URL",
  /**
   * The notifier's own 12-digit account id (issue 14). With `AWS_REGION`, what "home" means in
   * contracts/pipeline-id.ts; unset: every event counts as home.
   */
  homeAccount: "HOME_ACCOUNT",
  /**
   * JSON map: source account id → ARN of the role the notifier's Lambdas assume there for
   * CodePipeline calls (GetPipelineState, ListActionExecutions, GetPipelineExecution,
   * PutApprovalResult). Absent for the home account, whose calls use the function's own role.
   */
  sourceRoles: "SOURCE_ROLES",
} as const;
