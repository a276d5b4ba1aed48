/**
 * The code's shape, as the layout promises it (README "Layout", handlers/README.md): small units,
 * one place for the table's keys, handlers that Pulumi can serialize. These read the source as
 * TypeScript (the compiler's own parser), so a rename or a new file is covered without a list.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";

const ROOT = path.resolve(__dirname, "..", "..");
/** Issue 9: "no function … longer than about 120 lines"; handlers' files "about 300 lines". */
const MAX_FUNCTION_LINES = 120;
const MAX_HANDLER_FILE_LINES = 320;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory())
      return e.name === "node_modules" || e.name === "page" ? [] : sourceFiles(rel);
    return e.name.endsWith(".ts") ? [rel] : [];
  });
}

function parse(rel: string): ts.SourceFile {
  const text = fs.readFileSync(path.join(ROOT, rel), "utf8");
  return ts.createSourceFile(rel, text, ts.ScriptTarget.ES2022, true);
}

/** Every function-like node with its name (or position) and its length in lines. */
function functionLengths(file: ts.SourceFile): Array<{ where: string; lines: number }> {
  const out: Array<{ where: string; lines: number }> = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && "body" in node && node.body) {
      const start = file.getLineAndCharacterOfPosition(node.getStart()).line;
      const end = file.getLineAndCharacterOfPosition(node.getEnd()).line;
      const name = node.name && ts.isIdentifier(node.name) ? node.name.text : "(anonymous)";
      out.push({ where: `${file.fileName}:${start + 1} ${name}`, lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return out;
}

const DIRS = ["handlers", "infra", "config", "sandbox", "testing"];

describe("small units", () => {
  it.each(DIRS)(`no function in %s/ is longer than ${MAX_FUNCTION_LINES} lines`, (dir) => {
    const long = sourceFiles(dir)
      .flatMap((f) => functionLengths(parse(f)))
      .filter((f) => f.lines > MAX_FUNCTION_LINES)
      .map((f) => `${f.where}: ${f.lines} lines`);
    expect(long).toEqual([]);
  });

  it(`no file in handlers/ is longer than ${MAX_HANDLER_FILE_LINES} lines`, () => {
    const long = sourceFiles("handlers")
      .map((f) => ({ f, lines: fs.readFileSync(path.join(ROOT, f), "utf8").split("\n").length }))
      .filter(({ lines }) => lines > MAX_HANDLER_FILE_LINES)
      .map(({ f, lines }) => `${f}: ${lines} lines`);
    expect(long).toEqual([]);
  });
});

describe("one definition per contract", () => {
  const handlerFiles = sourceFiles("handlers");

  it("only handlers/store/ builds a DynamoDB key", () => {
    // A key is an object literal with a `pk` property; store/keys.ts has the builders.
    const builders = handlerFiles.filter((f) => !f.startsWith(path.join("handlers", "store")));
    const offenders: string[] = [];
    for (const f of builders) {
      const visit = (node: ts.Node): void => {
        if (
          ts.isPropertyAssignment(node) &&
          ts.isIdentifier(node.name) &&
          ["pk", "sk", "gsi1pk"].includes(node.name.text)
        ) {
          offenders.push(`${f}: ${node.getText().slice(0, 60)}`);
        }
        ts.forEachChild(node, visit);
      };
      visit(parse(f));
    }
    expect(offenders).toEqual([]);
  });

  it("handlers/ imports nothing from @pulumi/* and only types from outside handlers/", () => {
    const offenders: string[] = [];
    for (const f of handlerFiles) {
      for (const stmt of parse(f).statements) {
        if (!ts.isImportDeclaration(stmt) && !ts.isExportDeclaration(stmt)) continue;
        const spec = stmt.moduleSpecifier;
        if (!spec || !ts.isStringLiteral(spec)) continue;
        const from = spec.text;
        const typeOnly = ts.isImportDeclaration(stmt)
          ? stmt.importClause?.isTypeOnly === true
          : stmt.isTypeOnly;
        const outside =
          from.startsWith(".") &&
          !path.resolve(ROOT, path.dirname(f), from).startsWith(path.join(ROOT, "handlers"));
        if (from.startsWith("@pulumi/") || (outside && !typeOnly) || from === "zod") {
          offenders.push(`${f}: ${stmt.getText()}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });
});
