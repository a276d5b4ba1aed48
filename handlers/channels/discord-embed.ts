/**
 * Discord's embed limits and the fitting of a notification's embed fields to them (discord.ts):
 * apart so that the limits and the cutting read together and discord.ts stays one screenful per
 * function.
 */
import type { Fitter } from "./common";
import { fitEscaped } from "./markdown";

/**
 * Embed limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits),
 * in characters: title 256, description 4096, 25 fields, field name 256, field value 1024,
 * footer text 2048, author name 256 (no author is sent), and 6000 for all of them together in a
 * message; over any of them Discord answers 400 code 50035 ("Embed size exceeds maximum size of
 * 6000"), which no retry fixes. Measured here in UTF-16 code units, never fewer than the
 * characters Discord counts. `username`: 80 (https://discord.com/developers/docs/resources/webhook#execute-webhook).
 */
export const DISCORD_LIMITS = {
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  author: 256,
  /** Sum of title, description, field names and values, footer text. */
  total: 6000,
  username: 80,
} as const;

/** One Discord embed field. */
export interface DiscordField {
  name: string;
  value: string;
  inline: boolean;
}

/**
 * Characters of the 6000 total an embed's description (the summary) keeps before the fields take
 * the rest: the summary says what broke, and the fields can each be cut.
 */
export const DESCRIPTION_FLOOR = 1024;

/** A field value that is one masked link of ours: kept whole or left out, never cut open. */
const LINK_VALUE = /^\[[^\]]*\]\([^()\s]*\)$/;

/**
 * The embed's fields within Discord's limits: each name at most 256 characters, each value at
 * most 1024, and all names and values together at most `budget` characters. When they are over
 * `budget`, the longest values are cut to one common length (the largest that fits), so a short
 * value is never cut to make room for a long one; a masked link is never cut open (left out when
 * over 1024). Cuts are on code points with a visible "…" (markdown.ts `fitEscaped`), recorded as
 * `fields`. Lengths are UTF-16 code units, never fewer than the characters Discord counts.
 */
export function fitFields(
  f: Fitter,
  present: [string, string, boolean][],
  budget: number,
): DiscordField[] {
  const kept = present.filter(([, value]) => {
    const whole = !LINK_VALUE.test(value) || value.length <= DISCORD_LIMITS.fieldValue;
    if (!whole) f.truncated.push("fields");
    return whole;
  });
  const named = kept.map(([name, value, inline]) => ({
    name: f.fit("fields", name, DISCORD_LIMITS.fieldName),
    value,
    inline,
    cuttable: !LINK_VALUE.test(value),
  }));
  const fixed = named.reduce((s, x) => s + x.name.length + (x.cuttable ? 0 : x.value.length), 0);
  const lengths = named.filter((x) => x.cuttable).map((x) => x.value.length);
  const cap = Math.min(DISCORD_LIMITS.fieldValue, commonCap(lengths, budget - fixed));
  return named.map(({ name, value, inline, cuttable }) => ({
    name,
    value: cuttable ? fitEscaped(f, "fields", value, cap) : value,
    inline,
  }));
}

/**
 * The largest length `c` such that the `lengths`, each cut to at most `c`, add up to at most
 * `budget` (Infinity when they fit uncut); at least 2, room for one character and "…".
 */
function commonCap(lengths: number[], budget: number): number {
  const sorted = [...lengths].sort((a, b) => a - b);
  let rest = budget;
  for (let i = 0; i < sorted.length; i++) {
    const c = Math.floor(rest / (sorted.length - i));
    if (sorted[i] > c) return Math.max(2, c);
    rest -= sorted[i];
  }
  return Number.POSITIVE_INFINITY;
}
