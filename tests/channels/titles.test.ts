/**
 * What a reader sees first keeps its meaning when the names are long: the Discord embed title,
 * the Teams card title and the SMS shorten the names, never the words that say what happened.
 * The titles cut the headline from its end before, so a 100-character pipeline and stage took
 * ": approval needed … (attempt 2)" out of a 256-character Discord title, and an SMS left out
 * "by <caller>" whole, the person with it.
 *
 * Long names as AWS allows them: pipeline, stage and action names of up to 100 characters of
 * `A-Za-z0-9.@-_` (API_PipelineDeclaration.html, API_StageDeclaration.html,
 * API_ActionDeclaration.html `name`: "Maximum length of 100"); a role name of up to 64
 * characters (IAM API_CreateRole.html `RoleName`), which IAM Identity Center writes as
 * `AWSReservedSSO_<permission set, at most 32>_<16 hex>`; a session name of up to 64 characters
 * of `[\w+=,.@-]` (STS API_AssumeRole.html `RoleSessionName`), an e-mail address under SSO.
 */
import { renderDiscord } from "../../handlers/channels/discord";
import { formatSms, isGsm7, SMS_MAX_CHARS } from "../../handlers/channels/sms";
import { renderTeams } from "../../handlers/channels/teams";
import type { Notification } from "../../handlers/types";
import { fixture } from "./helpers";

const PIPELINE =
  "payments_checkout-api.eu-central-1_blue-green-production-release-train-2026_q4-hotfix-canary-v2-euw1";
const STAGE =
  "Approve_Production_Release_For_EU_Central_1_After_Canary_Bake_Time_And_Error_Budget_Review_Sign-offs";
const ACTION =
  "ManualApproval_By_Release_Managers_On_Call_Rotation_With_Change_Advisory_Board_Ticket_Ref-CAB-229100";
/** An IAM Identity Center role of 64 characters. */
const ROLE = "AWSReservedSSO_ProductionReleaseApproversEUWest_9b2e4f1c2b3a4d5e";
/** Who rejected in the console: the resource of the caller's ARN (enrich.ts `callerName`). */
const CALLER = `assumed-role/${ROLE}/jane.doe@example.com`;

/** Discord's embed title limit (https://discord.com/developers/docs/resources/message#embed-object-embed-limits). */
const DISCORD_TITLE = 256;

/** The pipeline in another account: its name is said with where it lives (origin.ts). */
function long(name: string, over: Partial<Notification> = {}): Notification {
  return {
    ...fixture(name),
    pipeline: PIPELINE,
    stage: STAGE,
    action: ACTION,
    account: "210987654321",
    accountAlias: "payments-prod",
    showOrigin: true,
    ...over,
  };
}

it("the names are as long as AWS allows", () => {
  expect([PIPELINE.length, STAGE.length, ACTION.length, ROLE.length]).toEqual([100, 100, 100, 64]);
  for (const name of [PIPELINE, STAGE, ACTION]) expect(name).toMatch(/^[A-Za-z0-9.@\-_]+$/);
});

describe("discord embed title", () => {
  const title = (n: Notification) => renderDiscord(n, { type: "discord" } as never);

  it("a retried approval: the names are cut, ': approval needed at' and '(attempt 2)' kept", () => {
    const { message, truncated } = title(long("approval-request", { attempt: 2 }));
    const text = message.embeds[0].title;
    expect(text.length).toBeLessThanOrEqual(DISCORD_TITLE);
    // Escaped for Discord's Markdown after the cut: "\_" whole, never a backslash before "…".
    expect(text).toMatch(
      /^payments\\_checkout-api\.[^…]*… \\\(payments-prod, eu-west-1\\\): approval needed at Approve\\_Production[^…]*…\/ManualApproval\\_[^…]*… \\\(attempt 2\\\)$/,
    );
    expect(text).not.toMatch(/(^|[^\\])(\\\\)*\\…/);
    expect(truncated).toContain("title");
  });

  it("a retried failure: 'failed again (attempt 2)' kept", () => {
    const { message } = title(long("failure-retry", { attempt: 2 }));
    const text = message.embeds[0].title;
    expect(text.length).toBeLessThanOrEqual(DISCORD_TITLE);
    expect(text).toMatch(
      /^payments\\_checkout[^…]*… \\\(payments-prod, eu-west-1\\\) failed again \\\(attempt 2\\\) at Approve\\_[^…]*…\/ManualApproval\\_[^…]*…$/,
    );
  });

  it("a rejection in the console: the caller's role is cut in its middle, the person kept", () => {
    const { message } = title(long("rejection", { decidedBy: CALLER }));
    const text = message.embeds[0].title;
    expect(text.length).toBeLessThanOrEqual(DISCORD_TITLE);
    expect(text).toMatch(
      /^payments\\_[^…]*… \\\(payments-prod, eu-west-1\\\): Rejected by assumed-role\/AWSReservedS[^/…]*…\/jane\.doe\\@example\.com at Approve\\_[^…]*…\/ManualApproval\\_[^…]*…$/,
    );
  });

  it("an ordinary title is whole", () => {
    const { message, truncated } = title(fixture("approval-request"));
    expect(message.embeds[0].title).toBe(
      "main-app-production-v3: approval needed at Approve/ManualApproval",
    );
    expect(truncated).not.toContain("title");
  });
});

describe("teams card title", () => {
  /**
   * A card over its byte budget (adaptive-card.ts TEAMS_CARD_BUDGET_BYTES), so that its texts are
   * cut to 100 characters: the summary, commit message, trigger and error code at the parser's
   * caps in Japanese (6 bytes each as `\uXXXX`).
   */
  function crowded(name: string, over: Partial<Notification> = {}): Notification {
    const ja = (k: number) => "部署に失敗しました".repeat(k);
    const n = long(name, over);
    return {
      ...n,
      errorCode: ja(28),
      trigger: `StartPipelineExecution by ${ja(110)}`,
      summary: ja(900),
      revision: { id: "0123456789ab", message: ja(300) },
      decidedBy: n.decidedBy ?? ja(30),
      notes: Array.from({ length: 8 }, () => ja(110)),
    };
  }
  const titleOf = (n: Notification) => {
    const { message, truncated } = renderTeams(n);
    const block = message.attachments[0].content.body[0];
    if (block.type !== "TextBlock") throw new Error("the title is the card's first TextBlock");
    return { text: block.text, truncated };
  };

  it("a retried approval on a crowded card: ': approval needed at' and '(attempt 2)' kept", () => {
    const { text, truncated } = titleOf(crowded("approval-request", { attempt: 2 }));
    expect(truncated).toContain("title");
    expect(text.length).toBeLessThanOrEqual(100);
    expect(text).toMatch(
      /^payments\\_[^…]*… \\\(payments-prod…\\\): approval needed at Approve\\_[^…]*…\/ManualApprova[^…]*… \\\(attempt 2\\\)$/,
    );
    expect(text).not.toMatch(/(^|[^\\])(\\\\)*\\…/);
  });

  it("a rejection on a crowded card: the session name's start kept, and where", () => {
    const { text } = titleOf(crowded("rejection", { decidedBy: CALLER }));
    expect(text).toMatch(/: Rejected by …\/jane\.doe@[^ ]*… at Approve\\_[^…]*…\/ManualApproval/);
  });
});

describe("sms", () => {
  const rejection = (decidedBy: string) =>
    formatSms({
      ...fixture("rejection"),
      decidedBy,
      summary: "Rejected by a release manager: CAB-22910 not approved yet",
    }).message;

  it("a console rejection: the caller's role is cut in its middle, the session name kept", () => {
    const message = rejection(CALLER);
    expect(message.length).toBeLessThanOrEqual(SMS_MAX_CHARS);
    expect(isGsm7(message)).toBe(true);
    // 55 characters before " by ", and "..." at the end: 78 for the caller.
    expect(message).toBe(
      `REJECTED main-app-production-v3 @Approve/ManualApproval by assumed-role/${ROLE.slice(0, 41)}.../jane.doe@example.com...`,
    );
  });

  it("the caller's whole ARN (a summary's 'Rejected by arn:…'): the session name kept", () => {
    const message = rejection(`arn:aws:sts::123456789012:${CALLER}`);
    expect(message.length).toBeLessThanOrEqual(SMS_MAX_CHARS);
    expect(message).toMatch(
      /^REJECTED main-app-production-v3 @Approve\/ManualApproval by arn:aws:sts::123456789012:assumed-role\/AWSReservedSSO_\w*\.\.\.\/jane\.doe@example\.com\.\.\.$/,
    );
  });

  it("no room for the session name whole: left out, not shown as a fragment", () => {
    const message = formatSms(long("rejection", { decidedBy: CALLER })).message;
    expect(message).not.toMatch(/ by /);
    expect(message.length).toBeLessThanOrEqual(SMS_MAX_CHARS);
  });

  it("a name that is no path is left out whole when it does not fit, as before", () => {
    const message = rejection(`Jane Doe ${"(release manager, payments platform) ".repeat(3)}`);
    expect(message).toBe("REJECTED main-app-production-v3 @Approve/ManualApproval...");
  });
});
