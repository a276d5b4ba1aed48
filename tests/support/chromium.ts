/**
 * Headless Chromium for the tests of the sandbox page (tests/sandbox/browser.test.ts,
 * page-markdown.test.ts), driven by playwright-core: which binary, and how it is launched.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { chromium, type Browser } from "playwright-core";

const SYSTEM_CHROMIUM = "/usr/bin/chromium";

/**
 * The Chromium binary to launch: `CHROMIUM_PATH`, else Debian's when installed, else the one inside
 * `@sparticuz/chromium` (Linux x64 only: the package ships no other build). The package unpacks its
 * brotli archives (about 10 s, 200 MB) into `os.tmpdir()` and reuses whatever `chromium` it finds
 * there, of any version. So it unpacks here in a child process whose TMPDIR is a private directory,
 * renamed afterwards to one named after the package version: a later version never launches an
 * older unpack, and a test run started meanwhile never launches a half-written binary.
 *
 * @returns the path of the executable
 * @throws Error on another platform without `CHROMIUM_PATH`, or when the unpack fails (the child's
 *   stderr is in the message)
 */
export async function chromiumExecutable(): Promise<string> {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  if (fs.existsSync(SYSTEM_CHROMIUM)) return SYSTEM_CHROMIUM;
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Error(
      `@sparticuz/chromium has no build for ${process.platform}-${process.arch}: ` +
        "set CHROMIUM_PATH to a Chrome or Chromium executable",
    );
  }
  const entry = require.resolve("@sparticuz/chromium");
  // The package's exports map hides package.json; its CommonJS entry is build/cjs/index.cjs.
  const manifest = path.resolve(path.dirname(entry), "..", "..", "package.json");
  const { version } = JSON.parse(fs.readFileSync(manifest, "utf8")) as { version: string };
  const target = path.join(os.tmpdir(), `deploy-notifier-chromium-${version}`);
  const executable = path.join(target, "chromium");
  if (fs.existsSync(executable)) return executable;
  const staging = fs.mkdtempSync(`${target}.partial-`);
  try {
    await promisify(execFile)(
      process.execPath,
      ["-e", "require(process.argv[1]).executablePath().then(() => {})", entry],
      { env: { ...process.env, TMPDIR: staging } },
    );
    fs.renameSync(staging, target);
  } catch (err: unknown) {
    fs.rmSync(staging, { recursive: true, force: true });
    // Another run renamed its unpack into place first: use that one.
    if (fs.existsSync(executable)) return executable;
    throw new Error(`unpacking @sparticuz/chromium ${version} failed: ${String(err)}`, {
      cause: err,
    });
  }
  return executable;
}

/** Launches `executablePath` headless, without the network chatter of a first run. */
export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
