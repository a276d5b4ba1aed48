/**
 * The two roles' IAM policies as the prod program declares them: exactly the actions each
 * Lambda's code calls, on its own item kinds (`dynamodb:LeadingKeys`), audit records append-only;
 * the topics' customer managed key and its policy; the approval function's reserved concurrency.
 * The DynamoDB checks build keys with handlers/store/keys.ts, the only place that builds them, and
 * evaluate the declared policy with the sandbox's evaluator (testing/iam/evaluate.ts), so a key
 * format and a grant cannot drift apart unnoticed.
 */
import { EXECUTION_INDEX } from "../../handlers/store/keys";
import {
  approvalKey,
  auditKey,
  deliveryKey,
  incidentKey,
  outcomeKey,
  replayKey,
  type ItemKey,
} from "../../handlers/store/keys";
import { IMPLICIT_URL_GRANTS } from "../../infra/notifier";
import { readStackConfig } from "../../testing";
import { evaluate, type PolicyDocument } from "../../testing/iam/evaluate";
import {
  ACCOUNT,
  find,
  declareForTest,
  recordResources,
  REGION,
  valueOf,
  type Registered,
} from "./mocks";

const arn = (service: string, name: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${name}`;
const TABLE = arn("dynamodb", "audit-physical");
const KEY = arn("kms", "topics-key-physical");
const leadingKeys = (...kinds: string[]) => ({
  "ForAllValues:StringLike": { "dynamodb:LeadingKeys": kinds },
});
let registered: Registered[];
let outputs: Record<string, unknown>;

beforeAll(async () => {
  registered = await recordResources();
  outputs = (await declareForTest(readStackConfig("prod").raw)).outputs;
}, 120_000);

function policy(fn: "fanout" | "approval"): PolicyDocument & { Statement: any[] } {
  return JSON.parse(
    find(registered, "aws:iam/rolePolicy:RolePolicy", `${fn}-policy`).inputs.policy,
  );
}

function statement(fn: "fanout" | "approval", sid: string): any {
  const found = policy(fn).Statement.filter((s) => s.Sid === sid);
  expect(found).toHaveLength(1);
  return found[0];
}

describe("the fan-out's role", () => {
  it("has exactly the statements its code needs, in order", () => {
    expect(policy("fanout").Statement.map((s) => s.Sid)).toEqual([
      "Logs",
      "ConsumeEvents",
      // Issue 11: deferral of rate-limited records to the events queue (fanout/requeue.ts).
      "RequeueEvents",
      "DeadLetterWithReasons",
      // No ReadOwnItems (GetItem on DELIVERY#/OUTCOME#/INCIDENT#) since issue 12's round 8: a
      // refused claim carries the item (ReturnValuesOnConditionCheckFailure), no read follows.
      "LedgerAndIncidents",
      "OutcomeClaims",
      // Issue 11: the channel's send slot (store/pacing.ts), PACE# items only.
      "SendPacing",
      "ReadDecisions",
      // Issue 11: a digest's flush queries its window's grouped entries (store/digest.ts), on the
      // byExecution index under DIGEST# hash keys only (dynamodb:LeadingKeys).
      "DigestEntries",
      // Issue 11: one Slack thread per execution in bot mode (store/threads.ts), THREAD# items only.
      "SlackThreads",
      "PendingApprovals",
      "AuditAppendOnly",
      "ChannelSecrets",
      "SmsAndEmail",
      "EncryptedTopics",
      "Enrichment",
    ]);
  });

  it("reaches the table with each action on its own item kinds, and its index only for DIGEST# entries", () => {
    const table = (sid: string, actions: string[], ...kinds: string[]) =>
      expect(statement("fanout", sid)).toEqual({
        Sid: sid,
        Effect: "Allow",
        Action: actions,
        Resource: [TABLE],
        Condition: leadingKeys(...kinds),
      });
    table("LedgerAndIncidents", ["dynamodb:UpdateItem"], "DELIVERY#*", "INCIDENT#*");
    table("OutcomeClaims", ["dynamodb:PutItem"], "OUTCOME#*");
    table("SendPacing", ["dynamodb:UpdateItem"], "PACE#*");
    table("ReadDecisions", ["dynamodb:Query"], "APPROVAL#*");
    // The parent claim (conditional PutItem), its ts and newest state (UpdateItem), a wait for a
    // parent another delivery is posting (GetItem): store/threads.ts.
    table(
      "SlackThreads",
      ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem"],
      "THREAD#*",
    );
    // Pending approval requests (handlers/store/pending.ts): recorded after a request was posted,
    // queried by the reminder scan (the table, not an index), claimed and removed by it.
    table(
      "PendingApprovals",
      ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"],
      "PENDING#*",
    );
    table("AuditAppendOnly", ["dynamodb:PutItem"], "PIPELINE#*");
    // Issue 11: the one index statement, a digest flush's Query of its window's entries
    // (store/digest-window.ts); on an index Query, dynamodb:LeadingKeys is the index's partition key.
    expect(statement("fanout", "DigestEntries")).toEqual({
      Sid: "DigestEntries",
      Effect: "Allow",
      Action: ["dynamodb:Query"],
      Resource: [`${TABLE}/index/${EXECUTION_INDEX}`],
      Condition: leadingKeys("DIGEST#*"),
    });
  });

  it("publishes to the SMS topic through its key, via SNS only", () => {
    expect(statement("fanout", "SmsAndEmail")).toEqual({
      Sid: "SmsAndEmail",
      Effect: "Allow",
      Action: ["sns:Publish"],
      Resource: [arn("sns", "channel-sms-oncall-physical")],
    });
    // SNS developer guide, "Key management": a publisher to an encrypted topic needs these two.
    expect(statement("fanout", "EncryptedTopics")).toEqual({
      Sid: "EncryptedTopics",
      Effect: "Allow",
      Action: ["kms:GenerateDataKey", "kms:Decrypt"],
      Resource: [KEY],
      Condition: { StringEquals: { "kms:ViaService": `sns.${REGION}.amazonaws.com` } },
    });
  });
});

describe("the fan-out's CodePipeline reads", () => {
  it("reads the configured pipelines, a stopped execution's reason too (ListPipelineExecutions)", () => {
    // The rewrite of a request that ended without a click tells a stop's reason, which only
    // ListPipelineExecutions returns (`stopTrigger.reason`, API_StopExecutionTrigger.html): on
    // the same pipelines as the fan-out's other reads, as the approval's own grant has it.
    const enrichment = statement("fanout", "Enrichment");
    expect(enrichment.Action).toEqual([
      "codepipeline:GetPipeline",
      "codepipeline:GetPipelineExecution",
      "codepipeline:ListActionExecutions",
      "codepipeline:ListPipelineExecutions",
    ]);
    expect(enrichment.Resource).toEqual(
      expect.arrayContaining([
        arn("codepipeline", "main-app-production-v3"),
        arn("codepipeline", "main-app-production-v3/*"),
      ]),
    );
    expect(enrichment.Resource.every((r: string) => r.startsWith(arn("codepipeline", "")))).toBe(
      true,
    );
  });
});

describe("the approval's role", () => {
  it("has exactly the statements its code needs: nothing of the fan-out's items", () => {
    expect(policy("approval").Statement).toEqual([
      expect.objectContaining({ Sid: "Logs" }),
      {
        Sid: "Decisions",
        Effect: "Allow",
        Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
        Resource: [TABLE],
        Condition: leadingKeys("APPROVAL#*"),
      },
      {
        Sid: "ReplayGuard",
        Effect: "Allow",
        Action: ["dynamodb:PutItem"],
        Resource: [TABLE],
        Condition: leadingKeys("REPLAY#*"),
      },
      {
        Sid: "AuditAppendOnly",
        Effect: "Allow",
        Action: ["dynamodb:PutItem"],
        Resource: [TABLE],
        Condition: leadingKeys("PIPELINE#*"),
      },
      {
        Sid: "SlackAppSecret",
        Effect: "Allow",
        Action: ["secretsmanager:GetSecretValue"],
        Resource: [arn("secretsmanager", "slack-app-physical")],
      },
      {
        Sid: "Approvals",
        Effect: "Allow",
        Action: [
          "codepipeline:GetPipelineState",
          "codepipeline:ListActionExecutions",
          "codepipeline:GetPipelineExecution",
          "codepipeline:ListPipelineExecutions",
          "codepipeline:PutApprovalResult",
        ],
        Resource: [
          arn("codepipeline", "main-app-production-v3"),
          arn("codepipeline", "main-app-production-v3/*"),
        ],
      },
      {
        Sid: "AsyncSelfInvoke",
        Effect: "Allow",
        Action: ["lambda:InvokeFunction"],
        Resource: [arn("lambda", "deploy-notifier-prod-approval")],
      },
    ]);
  });
});

describe("item access, evaluated against keys built by handlers/store/keys.ts", () => {
  const ACTIONS = [
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchWriteItem",
    "BatchGetItem",
  ];
  /** The actions `fn` may take on the item `key`, as IAM decides with the role policy alone. */
  const allowed = (fn: "fanout" | "approval", key: ItemKey, resource = TABLE) =>
    ACTIONS.filter(
      (a) =>
        evaluate([policy(fn)], {
          action: `dynamodb:${a}`,
          resource,
          context: { "dynamodb:LeadingKeys": [key.pk] },
        }).decision === "Allow",
    );
  const at = "2026-11-30T05:00:00.000Z";
  const keys = {
    audit: auditKey("api-prod", at, "1a2b3c4d"),
    delivery: deliveryKey("n-1", "slack-eng"),
    outcome: outcomeKey("api-prod", "exec-1", "FAILED"),
    incident: incidentKey("pagerduty-oncall", "api-prod"),
    approval: approvalKey({ pipeline: "p", executionId: "e", stage: "s", action: "a" }),
    replay: replayKey("v0=abc"),
  };

  it("lets the fan-out do exactly what its store calls do", () => {
    // Claims, not reads: a refused claim carries the item that refused it (store/claim.ts).
    expect(allowed("fanout", keys.delivery)).toEqual(["UpdateItem"]);
    expect(allowed("fanout", keys.outcome)).toEqual(["PutItem"]);
    expect(allowed("fanout", keys.incident)).toEqual(["UpdateItem"]);
    expect(allowed("fanout", keys.approval)).toEqual(["Query"]);
    expect(allowed("fanout", keys.replay)).toEqual([]);
  });

  it("lets the approval do exactly what its store calls do", () => {
    expect(allowed("approval", keys.approval)).toEqual(["GetItem", "PutItem", "DeleteItem"]);
    expect(allowed("approval", keys.replay)).toEqual(["PutItem"]);
    for (const kind of ["delivery", "outcome", "incident"] as const) {
      expect({ kind, allowed: allowed("approval", keys[kind]) }).toEqual({ kind, allowed: [] });
    }
  });

  it("keeps the audit trail append-only for both: PutItem and nothing else", () => {
    expect(allowed("fanout", keys.audit)).toEqual(["PutItem"]);
    expect(allowed("approval", keys.audit)).toEqual(["PutItem"]);
  });

  it("refuses a request that mixes an owned and a foreign partition (ForAllValues)", () => {
    const mixed = { "dynamodb:LeadingKeys": [keys.delivery.pk, keys.audit.pk] };
    const decision = evaluate([policy("fanout")], {
      action: "dynamodb:UpdateItem",
      resource: TABLE,
      context: mixed,
    });
    expect(decision.decision).toBe("ImplicitDeny");
  });

  it("grants nothing on the execution index", () => {
    const index = `${TABLE}/index/byExecution`;
    expect(allowed("fanout", keys.audit, index)).toEqual([]);
    expect(allowed("approval", keys.audit, index)).toEqual([]);
  });
});

describe("the topics' customer managed key", () => {
  it("encrypts the ops and SMS topics", () => {
    for (const name of ["ops", "channel-sms-oncall"]) {
      expect(find(registered, "aws:sns/topic:Topic", name).inputs.kmsMasterKeyId).toBe(KEY);
    }
  });

  it("lets CloudWatch alarms encrypt with it, and the account grant its use through IAM", () => {
    const key = find(registered, "aws:kms/key:Key", "topics-key");
    expect(key.inputs).toMatchObject({ enableKeyRotation: true, deletionWindowInDays: 30 });
    const keyPolicy = JSON.parse(key.inputs.policy);
    // SNS developer guide, "Enable compatibility between event sources from AWS services and
    // encrypted topics": cloudwatch.amazonaws.com needs kms:Decrypt and kms:GenerateDataKey*.
    expect(keyPolicy.Statement[1]).toEqual({
      Sid: "CloudWatchAlarms",
      Effect: "Allow",
      Principal: { Service: "cloudwatch.amazonaws.com" },
      Action: ["kms:GenerateDataKey*", "kms:Decrypt"],
      Resource: ["*"],
    });
    const byCloudWatch = (action: string) =>
      evaluate([keyPolicy], {
        action,
        resource: KEY,
        principal: { Service: "cloudwatch.amazonaws.com" },
      }).decision;
    expect(byCloudWatch("kms:GenerateDataKey")).toBe("Allow");
    expect(byCloudWatch("kms:Decrypt")).toBe("Allow");
    expect(byCloudWatch("kms:ScheduleKeyDeletion")).toBe("ImplicitDeny");
    // The account root statement is what lets the fan-out's IAM policy grant the key's use.
    expect(keyPolicy.Statement[0]).toMatchObject({
      Sid: "AccountAdministers",
      Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
    });
    for (const action of ["kms:GenerateDataKey", "kms:Decrypt", "kms:PutKeyPolicy"]) {
      expect(
        evaluate([keyPolicy], {
          action,
          resource: KEY,
          principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
        }).decision,
      ).toBe("Allow");
    }
    expect(find(registered, "aws:kms/alias:Alias", "topics-key").inputs.name).toBe(
      "alias/deploy-notifier-prod-topics",
    );
  });
});

it("reserves 10 executions for the public approval function, none for the fan-out", () => {
  const fn = (name: string) => find(registered, "aws:lambda/function:Function", name).inputs;
  expect(fn("approval").reservedConcurrentExecutions).toBe(10);
  expect(fn("fanout")).not.toHaveProperty("reservedConcurrentExecutions");
});

it("names the function URL's implicit public grants in a stack output", async () => {
  expect(await valueOf(outputs.slackInteractivityImplicitGrants as string)).toBe(
    IMPLICIT_URL_GRANTS,
  );
  expect(IMPLICIT_URL_GRANTS).toContain("lambda:InvokeFunctionUrl");
  expect(IMPLICIT_URL_GRANTS).toContain("lambda:InvokeFunction ");
  // Not declared: a Permission with the provider's statement ids would conflict.
  expect(registered.filter((r) => r.type === "aws:lambda/permission:Permission")).toEqual([]);
});
