/**
 * The sandbox page shows Slack's emoji shortcodes as Slack does (sandbox/page/blockkit.js
 * `EMOJI`): every shortcode the Slack formatters use must be there, or the page shows it raw
 * (":hourglass:" in the approval-expired title, a new-user finding).
 */
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..", "..");

/** The shortcodes in the `EMOJI` object of the page's Block Kit renderer. */
function pageShortcodes(): Set<string> {
  const source = fs.readFileSync(path.join(ROOT, "sandbox", "page", "blockkit.js"), "utf8");
  const body = /const EMOJI = \{([^}]*)\}/.exec(source)?.[1] ?? "";
  return new Set([...body.matchAll(/^\s*([a-z_]+):/gm)].map((m) => m[1]));
}

/** The shortcodes the channel formatters write (`:name:` in a string). */
function usedShortcodes(): string[] {
  const dir = path.join(ROOT, "handlers", "channels");
  const used = new Set<string>();
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".ts"))) {
    const text = fs.readFileSync(path.join(dir, file), "utf8");
    for (const m of text.matchAll(/["`]:([a-z_]+):/g)) used.add(m[1]);
  }
  return [...used].sort();
}

it("knows every emoji shortcode the channel formatters use", () => {
  const known = pageShortcodes();
  expect(known.size).toBeGreaterThan(5);
  expect(usedShortcodes().filter((s) => !known.has(s))).toEqual([]);
});
