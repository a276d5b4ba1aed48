/**
 * What stays out of the Lambda archives. CallbackFunction ships every package in package.json
 * `dependencies` (and their dependencies) unless excluded; `@pulumi/*` is skipped by Pulumi itself.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** Deploy-time only: config validation runs in `pulumi preview`, never in a Lambda. */
const DEPLOY_TIME_ONLY = ["zod"];

/**
 * Packages a handler requires, shipped as only the files `require()` reads: CallbackFunction would
 * otherwise copy the whole package (croner: 206 KB with its ESM and UMD builds, type files and
 * README) into EVERY archive. Paths are relative to the package's folder; `package.json` is needed
 * for Node to find the CommonJS entry (`main`/`exports.require`).
 */
export const TRIMMED_PACKAGES: Readonly<Record<string, readonly string[]>> = {
  croner: ["package.json", "dist/croner.cjs"],
};

/**
 * Packages to exclude: deploy-time-only ones, the AWS SDK v3 clients, which the nodejs22.x
 * runtime already provides (REFERENCE.md: AWS Lambda), and the {@link TRIMMED_PACKAGES}, which
 * go in file by file through {@link archiveIncludes} where a handler needs them.
 */
export function archiveExcludes(
  packageJsonPath = path.join(__dirname, "..", "package.json"),
): string[] {
  const pkg = JSON.parse(fs.readFileSync(packageJsonPath, "utf8")) as {
    dependencies?: Record<string, string>;
  };
  const deps = Object.keys(pkg.dependencies ?? {});
  return deps.filter(
    (d) => d.startsWith("@aws-sdk/") || DEPLOY_TIME_ONLY.includes(d) || d in TRIMMED_PACKAGES,
  );
}

/**
 * The archive paths (`node_modules/<package>/<file>`, relative to the program's root, which is
 * Pulumi's working directory) of the trimmed `packages` a handler requires.
 * @throws Error naming a package that is not in {@link TRIMMED_PACKAGES}.
 */
export function archiveIncludes(packages: readonly string[]): string[] {
  return packages.flatMap((name) => {
    const files = TRIMMED_PACKAGES[name];
    if (!files) throw new Error(`archiveIncludes: ${name} is not a trimmed package`);
    return files.map((f) => path.posix.join("node_modules", name, f));
  });
}
