/**
 * A Discord notification's embed within every one of Discord's embed limits (redteam11):
 * title 256, description 4096, 25 fields, field name 256, field value 1024, footer 2048, author
 * 256, and 6000 characters for all of them together
 * (https://discord.com/developers/docs/resources/message#embed-object-embed-limits). Over any of
 * them Discord answers 400 code 50035 "Embed size exceeds maximum size of 6000": permanent, the
 * message is lost. The driver shrank only the description, never the fields: long identifiers
 * (within the parser's 1024-character cap) and a long log link made a 6,794-character embed.
 * The limits below are written out from the documentation, not read from the driver.
 */
import { formatDiscord, renderDiscord, type DiscordMessage } from "../../handlers/channels/discord";
import type { Notification } from "../../handlers/types";
import { fixture } from "./helpers";

/** Discord's documented embed limits (characters). */
const DOC = {
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  total: 6000,
};

/** Characters as Discord counts them (code points). */
const chars = (s: string | undefined) => [...(s ?? "")].length;

function expectWithinLimits(m: DiscordMessage): void {
  const e = m.embeds[0];
  expect(chars(e.title)).toBeLessThanOrEqual(DOC.title);
  expect(chars(e.description)).toBeLessThanOrEqual(DOC.description);
  expect(e.fields.length).toBeLessThanOrEqual(DOC.fields);
  for (const f of e.fields) {
    expect(chars(f.name)).toBeLessThanOrEqual(DOC.fieldName);
    expect(chars(f.value)).toBeLessThanOrEqual(DOC.fieldValue);
  }
  expect(chars(e.footer.text)).toBeLessThanOrEqual(DOC.footer);
  const total =
    chars(e.title) +
    chars(e.description) +
    chars(e.footer.text) +
    e.fields.reduce((s, f) => s + chars(f.name) + chars(f.value), 0);
  expect(total).toBeLessThanOrEqual(DOC.total);
}

const long = (c: string, k: number) => c.repeat(k);
/** Identifiers at the parser's 1024-character cap, a long trigger, commit and log link. */
function hostile(over: Partial<Notification> = {}): Notification {
  return {
    ...fixture("failure-revision"),
    pipeline: long("p", 1024),
    stage: long("S", 600),
    action: long("A", 600),
    executionId: long("e", 1024),
    errorCode: long("E", 256),
    trigger: `StartPipelineExecution by ${long("u", 1000)}`,
    revision: { id: "0123456789ab", message: long("m", 3000) },
    externalUrl: `https://eu-west-1.console.aws.amazon.com/codesuite/codebuild/projects/p/build/${long("b", 900)}`,
    summary: long("z", 5000),
    ...over,
  };
}

describe("discord: one notification's embed", () => {
  it("long identifiers, trigger, commit and log link: every embed limit holds", () => {
    const m = formatDiscord(hostile(), { type: "discord" } as never);
    expectWithinLimits(m);
    const e = m.embeds[0];
    // The summary keeps a readable part, and the log link is whole (never cut open).
    expect(chars(e.description)).toBeGreaterThanOrEqual(1000);
    expect(e.fields.find((f) => f.name === "Logs")?.value).toMatch(/^\[View logs\]\(https:.*b\)$/);
    // Short fields are not cut to make room for long ones.
    expect(e.fields.find((f) => f.name === "Tier")?.value).toBe(hostile().tier);
  });

  it("the same with emoji everywhere: cut on code points, within the limits", () => {
    const emoji = (k: number) => "🔥".repeat(k);
    const n = hostile({
      pipeline: emoji(512),
      stage: emoji(300),
      action: emoji(300),
      trigger: emoji(500),
      summary: emoji(2500),
    });
    const m = formatDiscord(n, { type: "discord" } as never);
    expectWithinLimits(m);
    const strings = [m.embeds[0].title, m.embeds[0].description ?? ""].concat(
      m.embeds[0].fields.flatMap((f) => [f.name, f.value]),
    );
    for (const s of strings)
      expect((s as unknown as { isWellFormed(): boolean }).isWellFormed()).toBe(true);
  });

  it("a log link longer than a field value is left out, not cut into a broken link", () => {
    const n = hostile({ externalUrl: `https://example.com/${long("b", 1100)}` });
    const e = formatDiscord(n, { type: "discord" } as never).embeds[0];
    expect(e.fields.find((f) => f.name === "Logs")).toBeUndefined();
    expectWithinLimits(formatDiscord(n, { type: "discord" } as never));
  });

  it("an ordinary notification is not cut at all", () => {
    const out = renderDiscord(fixture("failure-revision"), { type: "discord" } as never);
    expect(out.truncated).toEqual([]);
  });
});
