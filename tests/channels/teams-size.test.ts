/**
 * Teams cards sized for what Teams measures, not for the request body (redteam11).
 *
 * Teams refuses a message over 28 KB, 28,672 bytes
 * (https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/format-your-bot-messages),
 * counted on its "message properties": a Workflows run refused a request whose body was 24,453
 * bytes as "Message properties size exceeded. Actual message properties size: 28897 bytes,
 * whereas max allowed size is 28672 bytes" (MicrosoftDocs/msteams-docs#11274), 18 % more than the
 * body. The webhook answers 202 before the flow posts the card (msteams-docs#4145), so a card
 * refused there is lost without an error. Cards filled to 28,672 bytes of body were therefore
 * refused silently; the 60-failure storm's digest filled to 28,643.
 * Asserted below: the body, grown by that observed ratio, stays within 28,672 bytes, and so does
 * the body with every non-ASCII character escaped (`\uXXXX`, a re-serialization's largest form).
 */
import { randomUUID } from "node:crypto";
import { renderTeams } from "../../handlers/channels/teams";
import { formatTeamsDigest } from "../../handlers/channels/teams";
import { consoleUrl } from "../../handlers/events/normalize";
import type { Digest, DigestEntry, Notification } from "../../handlers/types";
import { digestOf, HOME, useHome } from "./digest-support";
import { fixture } from "./helpers";

/** Teams' documented limit (bytes of message properties). */
const TEAMS_MAX_BYTES = 28 * 1024;
/** Message properties / request body in msteams-docs#11274. */
const PROPERTIES_PER_BODY = 28_897 / 24_453;

const utf8 = (m: unknown) => Buffer.byteLength(JSON.stringify(m));
const escaped = (m: unknown) =>
  Buffer.byteLength(JSON.stringify(m).replace(/[\u0080-\uffff]/g, "\\uXXXX"));

function expectWithinTeams(m: unknown): void {
  expect(Math.ceil(utf8(m) * PROPERTIES_PER_BODY)).toBeLessThanOrEqual(TEAMS_MAX_BYTES);
  expect(escaped(m)).toBeLessThanOrEqual(TEAMS_MAX_BYTES);
}

/** A CodeBuild failure summary as CodeBuild writes it (about 160 characters). */
const CODEBUILD_SUMMARY =
  "Build terminated with state: FAILED. Phase: BUILD, Code: COMMAND_EXECUTION_ERROR, " +
  "Message: Error while executing command: ./gradlew build --no-daemon. Reason: exit status 1";

/** A storm's entry: a realistic pipeline name and console link (uuid execution id). */
function stormEntry(i: number, over: Partial<DigestEntry> = {}): DigestEntry {
  const pipeline = `svc-${String(i).padStart(2, "0")}-payments-api-production`;
  const executionId = randomUUID();
  return {
    notificationId: `n-${i}`,
    kind: "failure",
    pipeline,
    account: HOME.account,
    region: HOME.region,
    executionId,
    stage: "Build",
    time: new Date(Date.UTC(2026, 10, 30, 12, 0, i)).toISOString(),
    consoleUrl: consoleUrl(HOME.region, pipeline, executionId),
    summary: CODEBUILD_SUMMARY,
    ...over,
  };
}

function storm(n: number, entry = stormEntry): Digest {
  return digestOf(0, {
    count: n,
    pipelines: n,
    entries: Array.from({ length: n }, (_, i) => entry(i)),
  });
}

let restore: () => void;
beforeAll(() => {
  restore = useHome();
});
afterAll(() => restore());

describe("teams digest card", () => {
  it("a 60-failure storm's card stays within Teams' 28 KB of message properties", () => {
    const m = formatTeamsDigest(storm(60));
    expectWithinTeams(m);
    const body = m.attachments[0].content.body;
    // Still a useful list: the summaries are dropped before any pipeline (digest-groups.ts), so
    // all 60 pipelines are listed (title, window, 60 lines; times as "12:00:00 UTC", not ISO).
    const shown = body.length - 2;
    expect(shown).toBe(60);
    expect(JSON.stringify(body)).not.toContain("more pipeline");
  });

  it("CJK summaries: the card stays within the limit however the text is encoded", () => {
    const cjk = "ビルドが失敗しました。テストの実行中にエラーが発生しました。".repeat(4);
    expectWithinTeams(formatTeamsDigest(storm(60, (i) => stormEntry(i, { summary: cjk }))));
  });
});

describe("teams notification card", () => {
  const cjk = (k: number) => "部署に失敗しました".repeat(k);
  /** Every text at the parser's caps, in CJK (3 bytes in UTF-8, 6 escaped). */
  function longCjk(): Notification {
    const n = fixture("failure-revision");
    return {
      ...n,
      pipeline: cjk(110),
      stage: cjk(60),
      action: cjk(60),
      errorCode: cjk(28),
      trigger: `StartPipelineExecution by ${cjk(110)}`,
      decidedBy: cjk(30),
      summary: cjk(900),
      revision: { ...n.revision, message: cjk(300) },
      notes: [cjk(110), cjk(110)],
    };
  }

  it("long CJK text in every field: within Teams' 28 KB of message properties", () => {
    const { message, truncated } = renderTeams(longCjk());
    expectWithinTeams(message);
    expect(truncated).toContain("summary");
  });

  it("an ordinary card is not cut", () => {
    expect(renderTeams(fixture("failure-revision")).truncated).toEqual([]);
  });
});
