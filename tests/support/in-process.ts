/**
 * Runs a script's command function (`bench(argv)`, `preview(argv)`: resolves with the exit code
 * the script sets) in the jest process instead of a child: a child loads every import under
 * ts-node first (2–3 s of CPU, 20–45 s of wall on the busy 2-core machine) to print one line.
 * The scripts' own `require.main` glue (exit code, a crash's message) is left to the tests that
 * run them as processes (tests/support/scripts.ts).
 */
import type { ScriptRun } from "./scripts";

/** What an in-process run printed: as a {@link ScriptRun}, and what went through `console`. */
export interface InProcessRun extends ScriptRun {
  /**
   * What the run printed through console methods that write to stdout in a real process
   * (`console.log: …`; jest shows console output elsewhere, so it is collected apart).
   */
  console: string[];
}

/**
 * Calls `main(argv)` with process.stdout and process.stderr writes captured (not printed), and
 * console.log, info, debug, dir and table collected; puts them all back when it settles.
 */
export async function runInProcess(
  main: (argv: string[]) => Promise<number>,
  argv: string[],
): Promise<InProcessRun> {
  const out: string[] = [];
  const err: string[] = [];
  const printed: string[] = [];
  const capture = (into: string[]) => (chunk: string | Uint8Array) => {
    into.push(String(chunk));
    return true;
  };
  const spies = [
    jest.spyOn(process.stdout, "write").mockImplementation(capture(out)),
    jest.spyOn(process.stderr, "write").mockImplementation(capture(err)),
    ...(["log", "info", "debug", "dir", "table"] as const).map((method) =>
      jest.spyOn(console, method).mockImplementation((...values: unknown[]) => {
        printed.push(`console.${method}: ${values.map(String).join(" ")}`);
      }),
    ),
  ];
  try {
    const code = await main(argv);
    return { code, stdout: out.join(""), stderr: err.join(""), console: printed };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}
