/**
 * A hand-written declared IAM with two accounts, shared by the STS and CodePipeline-accounts
 * tests: the home account's approval function (its role may assume the source role), and a role
 * in a source account whose trust policy admits that function's role and whose policy allows the
 * four CodePipeline actions on one pipeline of one region only (issue 14's least privilege).
 */
import type { DeclaredIam, PolicyDocument } from "../../testing";

export const HOME = "123456789012";
export const SOURCE = "222233334444";
export const OTHER = "555566667777";
export const FN = "approval-fn";
export const FN_ROLE = `arn:aws:iam::${HOME}:role/approval-role`;
export const SOURCE_ROLE = `arn:aws:iam::${SOURCE}:role/notifier-source-access`;
/** A role in the source account that trusts nobody at home. */
export const UNTRUSTING_ROLE = `arn:aws:iam::${SOURCE}:role/untrusting`;
/** A role the function is not allowed to assume (its policy names only SOURCE_ROLE). */
export const OTHER_ROLE = `arn:aws:iam::${OTHER}:role/notifier-source-access`;
export const SOURCE_REGION = "eu-west-1";
export const PIPELINE_ARN = `arn:aws:codepipeline:${SOURCE_REGION}:${SOURCE}:deploy-api`;

const trustHome: PolicyDocument = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { AWS: FN_ROLE }, Action: "sts:AssumeRole" }],
};

/** The declared IAM of the fixture. */
export function twoAccountIam(): DeclaredIam {
  return {
    region: "us-east-1",
    account: HOME,
    roles: {
      [FN]: {
        functionName: FN,
        roleName: "approval-role",
        roleArn: FN_ROLE,
        policies: [
          {
            Version: "2012-10-17",
            Statement: [
              {
                Sid: "AssumeSource",
                Effect: "Allow",
                Action: "sts:AssumeRole",
                Resource: [SOURCE_ROLE, UNTRUSTING_ROLE],
              },
              {
                Sid: "HomePipelines",
                Effect: "Allow",
                Action: "codepipeline:GetPipelineState",
                Resource: `arn:aws:codepipeline:us-east-1:${HOME}:*`,
              },
            ],
          },
        ],
      },
    },
    assumableRoles: {
      [SOURCE_ROLE]: {
        roleArn: SOURCE_ROLE,
        roleName: "notifier-source-access",
        account: SOURCE,
        trust: trustHome,
        maxSessionSeconds: 3600,
        policies: [
          {
            Version: "2012-10-17",
            Statement: [
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
                Resource: [PIPELINE_ARN, `${PIPELINE_ARN}/*`],
              },
            ],
          },
        ],
      },
      [UNTRUSTING_ROLE]: {
        roleArn: UNTRUSTING_ROLE,
        roleName: "untrusting",
        account: SOURCE,
        trust: {
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { AWS: `arn:aws:iam::${OTHER}:root` },
              Action: "sts:AssumeRole",
            },
          ],
        },
        maxSessionSeconds: 3600,
        policies: [],
      },
      [OTHER_ROLE]: {
        roleArn: OTHER_ROLE,
        roleName: "notifier-source-access",
        account: OTHER,
        trust: trustHome,
        maxSessionSeconds: 3600,
        policies: [],
      },
    },
    tables: {},
    resourcePolicies: {},
    topicKeys: {},
  };
}
