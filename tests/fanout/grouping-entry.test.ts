/**
 * A digest entry's text stays Unicode (redteam11): intake makes every text well-formed
 * (events/fields.ts `wellFormed`), and a cut after it must not undo that. `entryOf` keeps 200
 * UTF-16 code units of a summary; an emoji (two code units) straddling the cut left its high
 * surrogate alone in the grouped ledger item and in every digest (Slack, Teams, Discord,
 * webhook). A lone surrogate cannot be encoded as UTF-8 (https://www.unicode.org/versions/Unicode15.0.0/ch03.pdf,
 * D76, D92): DynamoDB, SQS attributes and the receivers may refuse it or show U+FFFD.
 * The same for the other cuts of text that did not come from us: revision ids and the Discord
 * webhook's username (80 characters, https://discord.com/developers/docs/resources/webhook#execute-webhook).
 */
import { formatDiscord, formatDiscordDigest } from "../../handlers/channels/discord";
import { formatSlack, formatSlackDigest } from "../../handlers/channels/slack";
import { formatTeams, formatTeamsDigest } from "../../handlers/channels/teams";
import { formatWebhookDigest } from "../../handlers/channels/webhook";
import { ENTRY_SUMMARY_CHARS, entryOf } from "../../handlers/fanout/grouping";
import type { Digest } from "../../handlers/types";
import { digestOf, useHome } from "../channels/digest-support";
import { fixture } from "../channels/helpers";

/** Every string in `value`, object keys included. */
function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) for (const v of value) strings(v, out);
  else if (value !== null && typeof value === "object")
    for (const [k, v] of Object.entries(value)) {
      out.push(k);
      strings(v, out);
    }
  return out;
}
const wellFormed = (s: string) => (s as unknown as { isWellFormed(): boolean }).isWellFormed();
const isWellFormed = (v: unknown) => strings(v).every(wellFormed);

/** An emoji in code units 199 and 200: a cut at 200 code units would keep half of it. */
const SUMMARY = `${"Build failed: snapshot mismatch ".padEnd(ENTRY_SUMMARY_CHARS - 1, "x")}😀 in ui-checkout`;

let restore: () => void;
beforeAll(() => {
  restore = useHome();
});
afterAll(() => restore());

describe("entryOf: the summary a digest entry keeps", () => {
  it("is cut on a code point: at most 200 code units, never half an emoji", () => {
    expect(wellFormed(SUMMARY)).toBe(true);
    const entry = entryOf({ ...fixture("failure-revision"), summary: SUMMARY });
    expect(entry.summary!.length).toBeLessThanOrEqual(ENTRY_SUMMARY_CHARS);
    expect(SUMMARY.startsWith(entry.summary!)).toBe(true);
    expect(isWellFormed(entry)).toBe(true);
  });

  const digestWith = (summary: string): Digest => {
    const d = digestOf(4);
    d.entries[0] = { ...d.entries[0], summary };
    return d;
  };
  it.each([
    ["slack", (d: Digest) => formatSlackDigest(d, { type: "slack", mode: "webhook" } as never)],
    ["teams", (d: Digest) => formatTeamsDigest(d)],
    ["discord", (d: Digest) => formatDiscordDigest(d, { type: "discord" } as never)],
    ["webhook", (d: Digest) => formatWebhookDigest(d)],
  ])("the %s digest of such an entry is well-formed Unicode", (_name, format) => {
    const entry = entryOf({ ...fixture("failure-revision"), summary: SUMMARY });
    expect(isWellFormed(format(digestWith(entry.summary!)))).toBe(true);
  });
});

describe("other cuts of text that did not come from us", () => {
  // A revision id shown as its first 12 code units (a commit SHA; S3 version ids and others are
  // free text), an emoji in code units 11 and 12.
  const revisionId = `${"r".repeat(11)}😀tail`;
  it.each([
    ["slack", () => formatSlack(withRevision(), { type: "slack", mode: "webhook" } as never)],
    ["teams", () => formatTeams(withRevision())],
    ["discord", () => formatDiscord(withRevision(), { type: "discord" } as never)],
  ])("%s: a revision id cut to 12 code units stays well-formed", (_name, format) => {
    expect(isWellFormed(format())).toBe(true);
  });
  function withRevision() {
    const n = fixture("failure-revision");
    return { ...n, revision: { ...n.revision, id: revisionId } };
  }

  it("discord: a username cut to Discord's 80 characters stays well-formed", () => {
    const username = `${"d".repeat(79)}😀 deploys`;
    const config = { type: "discord", username } as never;
    expect(isWellFormed(formatDiscord(fixture("failure-revision"), config).username)).toBe(true);
    expect(isWellFormed(formatDiscordDigest(digestOf(2), config).username)).toBe(true);
  });
});
