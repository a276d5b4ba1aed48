/**
 * Pulumi under jest spends most of an in-process declaration formatting stack traces nobody
 * reads: every resource's promises record `new Error().stack` (@pulumi/pulumi 3.248
 * runtime/debuggable.js `debuggablePromise`), and jest's source-map-support maps each frame of
 * each one through the source maps. `node --cpu-prof` of tests/infra/multi-account-scale.test.ts
 * (2026-12-02): 91 of the 106 s in its two declarations were under `prepareStackTrace`; with
 * V8's own frame text, their CPU went from 40 s to 12 s, with the same resources registered.
 */

/** V8's own text of an error and its frames (what Node prints without source maps). */
function plainStack(error: Error, frames: NodeJS.CallSite[]): string {
  return `${String(error)}\n${frames.map((frame) => `    at ${String(frame)}`).join("\n")}`;
}

/**
 * Runs `work` with unmapped stack traces (frames name the transpiled JavaScript lines), and
 * puts jest's source-mapped ones back when it settles, also when it throws. A function, not
 * `undefined`: Node falls back to the main context's `Error.prepareStackTrace` (jest's) when the
 * test context has none (lib/internal/errors.js `prepareStackTraceCallback`).
 */
export async function withPlainStacks<T>(work: () => Promise<T>): Promise<T> {
  const mapped = Error.prepareStackTrace;
  Error.prepareStackTrace = plainStack;
  try {
    return await work();
  } finally {
    Error.prepareStackTrace = mapped;
  }
}
