/**
 * Terminal formatting shared by the scripts (`npm run preview`, `npm run bench`): aligned text
 * tables, byte sizes and small statistics. No colours: the output is read in CI logs too.
 */

/** Column alignment: numbers read best right-aligned. */
export type Align = "left" | "right";

/** A titled table of text cells. */
export interface Table {
  title: string;
  columns: string[];
  rows: string[][];
  /** Per column; missing entries are left-aligned. */
  align?: Align[];
  /** Lines printed under the table (explanations, targets). */
  notes?: string[];
}

/** Renders a table with a title line, a header, a rule and one line per row. */
export function renderTable(table: Table): string {
  const widths = table.columns.map((c, i) =>
    Math.max(c.length, ...table.rows.map((r) => (r[i] ?? "").length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) =>
        table.align?.[i] === "right" ? cell.padStart(widths[i]) : cell.padEnd(widths[i]),
      )
      .join("  ")
      .trimEnd();
  const out = [
    table.title,
    `  ${line(table.columns)}`,
    `  ${widths.map((w) => "-".repeat(w)).join("  ")}`,
  ];
  for (const row of table.rows) out.push(`  ${line(row)}`);
  if (table.rows.length === 0) out.push("  (none)");
  for (const note of table.notes ?? []) out.push(`  ${note}`);
  return out.join("\n");
}

/** `1538` → `"1.5 KiB"`; binary units, as `du -h` prints them. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Milliseconds with one decimal, for tables. */
export function formatMs(ms: number): string {
  return `${ms.toFixed(1)} ms`;
}

/** The median of a non-empty list (the mean of the two middle values for an even count). */
export function median(values: number[]): number {
  if (values.length === 0) throw new Error("median of an empty list");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** `"PASS"` or `"FAIL"`, for target columns. */
export function verdict(ok: boolean): "PASS" | "FAIL" {
  return ok ? "PASS" : "FAIL";
}

/** The message of an unknown thrown value. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
