/**
 * The policy evaluator (testing/iam/evaluate.ts) against the examples and rules of the IAM User
 * Guide ("Policy evaluation logic", "IAM JSON policy elements reference", "Condition operators",
 * "Single-valued vs. multivalued context keys") and the DynamoDB / SQS developer guides.
 */
import {
  arnMatch,
  evaluatePolicies,
  wildcardMatch,
  type PolicyDocument,
} from "../../testing/iam/evaluate";

const doc = (...Statement: PolicyDocument["Statement"][]): PolicyDocument => ({
  Version: "2012-10-17",
  Statement: Statement.flat(),
});

describe("the IAM policy evaluator", () => {
  it("denies by default, allows on an Allow, and an explicit Deny overrides any Allow", () => {
    // "Policy evaluation logic": implicit deny, then explicit deny wins over allow.
    const allow = doc({ Sid: "A", Effect: "Allow", Action: "s3:GetObject", Resource: "*" });
    const deny = doc({
      Sid: "D",
      Effect: "Deny",
      Action: "s3:*",
      Resource: "arn:aws:s3:::secret-bucket/*",
    });
    const req = (resource: string) => ({ action: "s3:GetObject", resource });
    expect(evaluatePolicies([], req("arn:aws:s3:::b/k"))).toEqual({ decision: "ImplicitDeny" });
    expect(evaluatePolicies([allow, deny], req("arn:aws:s3:::b/k"))).toEqual({
      decision: "Allow",
      statement: "A",
    });
    expect(evaluatePolicies([allow, deny], req("arn:aws:s3:::secret-bucket/k"))).toEqual({
      decision: "ExplicitDeny",
      statement: "D",
    });
  });

  it("matches actions case-insensitively with wildcards, and honours NotAction", () => {
    // "Action": "the prefix and the action name are case insensitive"; "s3:Get*" example.
    const p = doc({ Effect: "Allow", Action: ["S3:get*", "iam:?etUser"], Resource: "*" });
    expect(evaluatePolicies([p], { action: "s3:GetObject", resource: "x" }).decision).toBe("Allow");
    expect(evaluatePolicies([p], { action: "iam:GetUser", resource: "x" }).decision).toBe("Allow");
    expect(evaluatePolicies([p], { action: "s3:PutObject", resource: "x" }).decision).toBe(
      "ImplicitDeny",
    );
    // "NotAction" example: allow everything except IAM.
    const notIam = doc({ Effect: "Allow", NotAction: "iam:*", Resource: "*" });
    expect(evaluatePolicies([notIam], { action: "sqs:SendMessage", resource: "x" }).decision).toBe(
      "Allow",
    );
    expect(evaluatePolicies([notIam], { action: "iam:CreateUser", resource: "x" }).decision).toBe(
      "ImplicitDeny",
    );
  });

  it("matches resource ARNs with * and ?, case-sensitively, never spanning the fixed segments", () => {
    expect(arnMatch("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b.txt")).toBe(true);
    expect(arnMatch("arn:aws:s3:::bucket/*", "arn:aws:s3:::Bucket/a")).toBe(false);
    expect(
      arnMatch(
        "arn:aws:sqs:us-east-1:123456789012:queue?",
        "arn:aws:sqs:us-east-1:123456789012:queue1",
      ),
    ).toBe(true);
    expect(
      arnMatch(
        "arn:aws:sqs:us-east-1:123456789012:queue?",
        "arn:aws:sqs:us-east-1:123456789012:queue12",
      ),
    ).toBe(false);
    // A pipeline ARN grant and its "/*" sibling (grants.ts): the action ARN needs the second.
    const pipeline = "arn:aws:codepipeline:us-east-1:123456789012:app";
    expect(arnMatch(pipeline, `${pipeline}/Approve/Manual`)).toBe(false);
    expect(arnMatch(`${pipeline}/*`, `${pipeline}/Approve/Manual`)).toBe(true);
    // "*" in the region segment does not swallow the account segment.
    expect(arnMatch("arn:aws:sns:*:111111111111:t", "arn:aws:sns:us-east-1:123456789012:t")).toBe(
      false,
    );
    expect(
      arnMatch(
        "arn:aws:dynamodb:us-east-1:123456789012:table/t",
        "arn:aws:dynamodb:us-east-1:123456789012:table/t/index/i",
      ),
    ).toBe(false);
    expect(wildcardMatch("a*c", "abbbc")).toBe(true);
  });

  it("ANDs operators and keys, ORs the values of one key (Condition element)", () => {
    const p = doc({
      Effect: "Allow",
      Action: "sqs:SendMessage",
      Resource: "*",
      Condition: {
        ArnEquals: {
          "aws:SourceArn": [
            "arn:aws:events:us-east-1:123456789012:rule/a",
            "arn:aws:events:us-east-1:123456789012:rule/b",
          ],
        },
        StringEquals: { "aws:SourceAccount": "123456789012" },
      },
    });
    const req = (context: Record<string, string>) => ({
      action: "sqs:SendMessage",
      resource: "q",
      context,
    });
    const account = { "aws:SourceAccount": "123456789012" };
    expect(
      evaluatePolicies(
        [p],
        req({ ...account, "aws:SourceArn": "arn:aws:events:us-east-1:123456789012:rule/b" }),
      ).decision,
    ).toBe("Allow");
    expect(
      evaluatePolicies(
        [p],
        req({ ...account, "aws:SourceArn": "arn:aws:events:us-east-1:123456789012:rule/c" }),
      ).decision,
    ).toBe("ImplicitDeny");
    // A missing key fails a positive operator.
    expect(evaluatePolicies([p], req(account)).decision).toBe("ImplicitDeny");
    // Condition key names are case-insensitive (the program writes "AWS:SourceAccount").
    expect(
      evaluatePolicies(
        [p],
        req({
          "AWS:SOURCEACCOUNT": "123456789012",
          "aws:SourceArn": "arn:aws:events:us-east-1:123456789012:rule/a",
        }),
      ).decision,
    ).toBe("Allow");
  });

  it("treats a negated operator on a missing key as true, and an unknown operator as false", () => {
    // The SQS "deny everyone but the rule" pattern: Deny unless aws:SourceArn equals the rule.
    const p = doc(
      { Sid: "Send", Effect: "Allow", Principal: "*", Action: "sqs:SendMessage", Resource: "*" },
      {
        Sid: "OnlyTheRule",
        Effect: "Deny",
        Principal: "*",
        Action: "sqs:SendMessage",
        Resource: "*",
        Condition: {
          ArnNotEquals: { "aws:SourceArn": "arn:aws:events:us-east-1:123456789012:rule/r" },
        },
      },
    );
    const send = (context: Record<string, string>) => ({
      action: "sqs:SendMessage",
      resource: "q",
      principal: { AWS: "arn:aws:iam::123456789012:role/ci" },
      context,
    });
    expect(evaluatePolicies([p], send({})).decision).toBe("ExplicitDeny");
    expect(
      evaluatePolicies(
        [p],
        send({ "aws:SourceArn": "arn:aws:events:us-east-1:123456789012:rule/r" }),
      ).decision,
    ).toBe("Allow");
    const unknown = doc({
      Effect: "Allow",
      Action: "*",
      Resource: "*",
      Condition: { NumericLessThan: { "aws:MultiFactorAuthAge": "3600" } },
    });
    expect(
      evaluatePolicies([unknown], {
        action: "s3:GetObject",
        resource: "x",
        context: { "aws:MultiFactorAuthAge": "1" },
      }).decision,
    ).toBe("ImplicitDeny");
  });

  it("evaluates dynamodb:LeadingKeys with ForAllValues, true on an empty set as documented", () => {
    // DynamoDB developer guide, fine-grained access control: ForAllValues:StringLike on LeadingKeys.
    const p = doc({
      Effect: "Allow",
      Action: ["dynamodb:PutItem"],
      Resource: "arn:aws:dynamodb:us-east-1:123456789012:table/audit",
      Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["ledger#*", "audit#*"] } },
    });
    const put = (keys?: string[]) => ({
      action: "dynamodb:PutItem",
      resource: "arn:aws:dynamodb:us-east-1:123456789012:table/audit",
      context: keys ? { "dynamodb:LeadingKeys": keys } : {},
    });
    expect(evaluatePolicies([p], put(["ledger#n1"])).decision).toBe("Allow");
    expect(evaluatePolicies([p], put(["ledger#n1", "claim#x"])).decision).toBe("ImplicitDeny");
    // "ForAllValues … returns true if there are no context keys in the request": the reason AWS
    // recommends pairing it with a Null check.
    expect(evaluatePolicies([p], put()).decision).toBe("Allow");
  });

  it("matches Principal elements of resource-based policies and Bool conditions", () => {
    const topic = doc({
      Effect: "Allow",
      Principal: { Service: "cloudwatch.amazonaws.com" },
      Action: "sns:Publish",
      Resource: "arn:aws:sns:us-east-1:123456789012:ops",
    });
    const publish = (principal: { Service?: string; AWS?: string }) => ({
      action: "sns:Publish",
      resource: "arn:aws:sns:us-east-1:123456789012:ops",
      principal,
    });
    expect(
      evaluatePolicies([topic], publish({ Service: "cloudwatch.amazonaws.com" })).decision,
    ).toBe("Allow");
    expect(evaluatePolicies([topic], publish({ Service: "events.amazonaws.com" })).decision).toBe(
      "ImplicitDeny",
    );
    // A key policy delegating to IAM names the account root: every principal of the account.
    const key = doc({
      Effect: "Allow",
      Principal: { AWS: "arn:aws:iam::123456789012:root" },
      Action: "kms:*",
      Resource: "*",
    });
    expect(
      evaluatePolicies([key], {
        action: "kms:Decrypt",
        resource: "k",
        principal: { AWS: "arn:aws:iam::123456789012:role/r" },
      }).decision,
    ).toBe("Allow");
    // "Deny": "aws:SecureTransport": "false" (the documented HTTPS-only statement).
    const https = doc({
      Effect: "Deny",
      Action: "*",
      Resource: "*",
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    });
    expect(
      evaluatePolicies([https], {
        action: "s3:GetObject",
        resource: "x",
        context: { "aws:SecureTransport": false },
      }).decision,
    ).toBe("ExplicitDeny");
    expect(
      evaluatePolicies([https], {
        action: "s3:GetObject",
        resource: "x",
        context: { "aws:SecureTransport": true },
      }).decision,
    ).toBe("ImplicitDeny");
  });
});
