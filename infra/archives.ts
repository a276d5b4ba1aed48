/**
 * What stays out of the Lambda archives. CallbackFunction ships every package in package.json
 * `dependencies` (and their dependencies) unless excluded; `@pulumi/*` is skipped by Pulumi itself.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** Deploy-time only: config validation runs in `pulumi preview`, never in a Lambda. */
const DEPLOY_TIME_ONLY = ["zod"];

/**
 * Packages to exclude: deploy-time-only ones, and the AWS SDK v3 clients, which the nodejs22.x
 * runtime already provides (REFERENCE.md: AWS Lambda).
 */
export function archiveExcludes(
  packageJsonPath = path.join(__dirname, "..", "package.json"),
): string[] {
  const pkg = JSON.parse(fs.readFileSync(packageJsonPath, "utf8")) as {
    dependencies?: Record<string, string>;
  };
  const deps = Object.keys(pkg.dependencies ?? {});
  return deps.filter((d) => d.startsWith("@aws-sdk/") || DEPLOY_TIME_ONLY.includes(d));
}
