/** Runs a project script as a user would (`npm run <script>`), as a child process. */
import * as path from "node:path";
import { ROOT, runTsFile } from "../../testing";

/** What a script run printed and how it ended. */
export interface ScriptRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `scripts/<name>.ts` with `args` under ts-node, from the project root. */
export async function runScript(name: string, args: string[]): Promise<ScriptRun> {
  const { code, stdout, stderr } = await runTsFile(path.join(ROOT, "scripts", `${name}.ts`), args);
  return { code, stdout, stderr };
}
