// The shape every benchmark part returns, so `npm run bench` prints one table and writes one
// bench/results.json. Each part is a module exporting `measure(options)`; it can also be run alone.

/** One line of the table: what was measured, its value, and against what. */
export interface BenchRow {
  /** What was measured, e.g. "mapping, GeoIP on". */
  measure: string;
  /** The figure with its unit, e.g. "84 000 events/s". */
  value: string;
  /** The baseline or ratio it is read against, e.g. "2.37× JSON floor (target ≤ 2.0×)". */
  against?: string;
}

/** One part of the benchmark: its table rows and its raw figures for bench/results.json. */
export interface BenchSection {
  title: string;
  rows: BenchRow[];
  /** Raw numbers (ms, bytes, counts), keyed by name; written to bench/results.json as they are. */
  results: Record<string, unknown>;
}

/** Options every part takes. */
export interface BenchOptions {
  /** Smaller inputs, for a smoke test of the benchmark itself (never for published figures). */
  quick?: boolean;
  /** Progress lines (stderr). */
  log?: (line: string) => void;
}

/** A whole number with a thin space every three digits: 1 234 567. */
export function grouped(n: number): string {
  return Math.round(n).toLocaleString("en-US").replaceAll(",", " ");
}

/** The middle value of a run of measurements (the upper one of an even count); NaN for none. */
export function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
}

/** True when `moduleUrl` is the script node was started with (a part run alone). */
export function isMain(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && new URL(moduleUrl).pathname === process.argv[1];
}

/** The table of sections as a person reads it: one block per section, aligned columns. */
export function formatTable(sections: readonly BenchSection[]): string {
  const rows = sections.flatMap((s) => s.rows);
  const width = (pick: (r: BenchRow) => string) => Math.max(...rows.map((r) => pick(r).length), 0);
  const [m, v] = [width((r) => r.measure), width((r) => r.value)];
  return sections
    .map((s) =>
      [
        s.title,
        ...s.rows.map((r) => `  ${r.measure.padEnd(m)}  ${r.value.padEnd(v)}  ${r.against ?? ""}`.trimEnd()),
      ].join("\n"),
    )
    .join("\n\n");
}

/** Prints one section (a part run alone). */
export function printSection(section: BenchSection): void {
  process.stdout.write(`${formatTable([section])}\n`);
}
