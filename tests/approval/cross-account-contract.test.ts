/**
 * The pieces of issue 14's approvals that need no stand-ins: the button value carries the
 * pipeline's account and region (handlers/contracts/slack-approval.ts) — old values without them
 * mean the home account and region — the Slack request posts them for a pipeline outside home
 * only, and `codepipelineFor` refuses an account without a role with an error naming it.
 */
import {
  approvalPipelineRef,
  encodeApprovalButtonValue,
  parseApprovalButtonValue,
} from "../../handlers/contracts/slack-approval";
import { formatSlack } from "../../handlers/channels/slack-format";
import { codepipelineFor, sourceAccessProblem } from "../../handlers/aws";
import type { Notification } from "../../handlers/types";
import approvalRequestFixture from "../fixtures/notifications/approval-request.json";

const HOME = "123456789012";
const SOURCE = "222233334444";
const base = { pipeline: "deploy-api", stage: "Prod", action: "Approve", executionId: "e-1" };

describe("the approval button value across accounts", () => {
  const env = { HOME_ACCOUNT: HOME, AWS_REGION: "us-east-1" };

  it("round-trips account and region", () => {
    const value = { ...base, account: SOURCE, region: "eu-west-1" };
    expect(parseApprovalButtonValue(encodeApprovalButtonValue(value))).toEqual(value);
  });

  it("reads a value without account and region (every button before issue 14) as the home pipeline", () => {
    const parsed = parseApprovalButtonValue(JSON.stringify(base));
    expect(parsed).toEqual(base);
    expect(approvalPipelineRef(parsed!, env)).toEqual({
      account: HOME,
      region: "us-east-1",
      name: "deploy-api",
    });
  });

  it.each([
    ["an account alone", { account: SOURCE }],
    ["a region alone", { region: "eu-west-1" }],
    ["an account that is not 12 digits", { account: "2222", region: "eu-west-1" }],
    ["a region that is not a region name", { account: SOURCE, region: "../x" }],
  ])("refuses %s", (_, extra) => {
    expect(parseApprovalButtonValue(JSON.stringify({ ...base, ...extra }))).toBeUndefined();
  });

  it("is posted with account and region for a pipeline outside home, and without them at home", () => {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const valueOf = (n: Notification) => {
        const msg = formatSlack(n, { type: "slack", mode: "webhook" }) as unknown as {
          blocks: Array<{ type: string; elements?: Array<{ value?: string }> }>;
        };
        const actions = msg.blocks.find((b) => b.type === "actions");
        return JSON.parse(actions!.elements!.find((e) => e.value)!.value!);
      };
      const fixture = approvalRequestFixture as unknown as Notification;
      const away = valueOf({ ...fixture, account: SOURCE, region: "eu-west-1" });
      expect(away).toMatchObject({ account: SOURCE, region: "eu-west-1" });
      const home = valueOf({ ...fixture, account: HOME, region: "us-east-1" });
      expect(home.account).toBeUndefined();
      expect(home.region).toBeUndefined();
    } finally {
      process.env = saved;
    }
  });
});

describe("codepipelineFor", () => {
  const saved = { ...process.env };
  beforeEach(() => {
    Object.assign(process.env, {
      HOME_ACCOUNT: HOME,
      AWS_REGION: "us-east-1",
      SOURCE_ROLES: JSON.stringify({ [SOURCE]: `arn:aws:iam::${SOURCE}:role/notifier` }),
    });
  });
  afterEach(() => {
    process.env = { ...saved };
  });

  it("refuses an account without a role, naming the account and the config key", () => {
    const ref = { account: "555566667777", region: "eu-west-1" };
    expect(sourceAccessProblem(ref)).toBe(
      "no role to assume in account 555566667777: SOURCE_ROLES has no entry for it (list the account in config key sources)",
    );
    expect(() => codepipelineFor(ref)).toThrow(/account 555566667777/);
  });

  it("keeps one client per (account, region) and uses the home client at home", () => {
    const a = codepipelineFor({ account: SOURCE, region: "eu-west-1" });
    expect(codepipelineFor({ account: SOURCE, region: "eu-west-1" })).toBe(a);
    expect(codepipelineFor({ account: SOURCE, region: "us-west-2" })).not.toBe(a);
    const home = codepipelineFor({ account: HOME, region: "us-east-1" });
    expect(codepipelineFor({ account: HOME, region: "us-east-1" })).toBe(home);
    expect(home).not.toBe(a);
  });

  it("names SOURCE_ROLES when it is not JSON", () => {
    process.env.SOURCE_ROLES = "{oops";
    expect(sourceAccessProblem({ account: SOURCE, region: "eu-west-1" })).toBe(
      "environment variable SOURCE_ROLES is not JSON",
    );
  });
});
