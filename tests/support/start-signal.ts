/**
 * A worker's side of tests/support/together.ts (no imports, so that a worker loads nothing more
 * for it): {@link awaitStart} prints {@link READY} on a line of its own on stdout, then resolves
 * with the start time (epoch ms) the test writes on a line of stdin.
 */

/** The line a worker prints on stdout when it is loaded and waits for its start time. */
export const READY = "ready";

/** Prints {@link READY}, then resolves with the start time (epoch ms) read from stdin. */
export function awaitStart(): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = "";
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (chunk: string) => {
      text += chunk;
      if (text.includes("\n")) resolve(Number(text.split("\n")[0]));
    });
    process.stdin.on("end", () => reject(new Error("stdin closed before a start time")));
    process.stdout.write(`${READY}\n`);
  });
}
