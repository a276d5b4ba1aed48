/** Test helpers around the offline program evaluation (testing/program.ts). */
import {
  runProgram,
  type DeclaredResource,
  type ProgramOptions,
  type ProgramResult,
} from "../../testing";

/** Evaluates the program and fails the test with Pulumi's message if the config is rejected. */
export async function evaluate(options: ProgramOptions): Promise<ProgramResult> {
  const result = await runProgram(options);
  if (!result.ok) throw new Error(`program failed: ${result.message}`);
  return result;
}

/** The resources of one type. */
export function ofType(result: ProgramResult, type: string): DeclaredResource[] {
  return result.resources.filter((r) => r.type === type);
}

/** The one resource with this type and logical name. */
export function resource(result: ProgramResult, type: string, name: string): DeclaredResource {
  const found = result.resources.find((r) => r.type === type && r.name === name);
  if (!found) throw new Error(`no ${type} named ${name}`);
  return found;
}

/** Generated pipeline lists live with the scripts, which use them too (npm run bench). */
export { withPipelines } from "../../scripts/lib/stacks";
