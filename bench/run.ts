// `npm run bench`: every part of the benchmark in one run, one table on stdout, and the raw
// figures in bench/results.json (a --quick run in bench/results.quick.json, never committed).
// Usage: npm run bench [-- --quick] [-- --only mapping,collection]
import { readFile, writeFile } from "node:fs/promises";
import { availableParallelism, cpus, totalmem } from "node:os";
import { parseArgs } from "node:util";
import { costSection } from "./cost.ts";
import type { PageCost } from "./page.ts";
import { type BenchOptions, type BenchSection, formatTable } from "./section.ts";

type Part = { measure: (options: BenchOptions) => Promise<BenchSection> };

/** The parts in table order; each module can also be run alone. */
const PARTS: Record<string, () => Promise<Part>> = {
  mapping: () => import("./mapping.ts"),
  collection: () => import("./collection.ts"),
  bundles: () => import("./bundles.ts"),
  memory: () => import("./memory.ts"),
  page: () => import("./page.ts"),
};

const { values } = parseArgs({
  options: { quick: { type: "boolean", default: false }, only: { type: "string" } },
});
const only = values.only?.split(",").map((s) => s.trim());
const unknown = only?.filter((name) => !(name in PARTS)) ?? [];
if (unknown.length > 0) {
  process.stderr.write(
    `--only takes parts among ${Object.keys(PARTS).join(", ")}; not ${unknown.join(", ")}\n`,
  );
  process.exit(2);
}

const options: BenchOptions = { quick: values.quick, log: (line) => process.stderr.write(`${line}\n`) };
const sections: Record<string, BenchSection> = {};
const started = Date.now();
for (const [name, load] of Object.entries(PARTS)) {
  if (only && !only.includes(name)) continue;
  sections[name] = await (await load()).measure(options);
}
const collection = sections.collection?.results.defaults as
  | { events: number; wallMs: number; pageLimit: number }
  | undefined;
if (collection && sections.page) sections.cost = costSection(collection, sections.page.results as PageCost);

const machine = {
  cpu: cpus()[0]?.model ?? "unknown",
  cores: availableParallelism(),
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
};
const header = `jumpcloud-elastic benchmark${values.quick ? " (quick: smaller inputs, not for publishing)" : ""} — ${machine.cores} cores (${machine.cpu}), Node ${machine.node}, ${((Date.now() - started) / 60_000).toFixed(1)} min`;
process.stdout.write(`${header}\n\n${formatTable(Object.values(sections))}\n`);
const results = Object.fromEntries(Object.entries(sections).map(([name, s]) => [name, s.results]));
// A quick run is a smoke test: it never replaces the published figures. A partial run (--only)
// replaces its own parts and keeps the others, each part saying when it was measured.
const file = new URL(values.quick ? "./results.quick.json" : "./results.json", import.meta.url);
const at = new Date().toISOString();
const previous = only ? await readPrevious(file) : {};
// Cost is computed from collection and page: measuring one of them anew makes the old cost stale.
if (!results.cost && (results.collection || results.page)) delete previous.cost;
const measuredAt = {
  ...(previous.measuredAt as object),
  ...Object.fromEntries(Object.keys(results).map((n) => [n, at])),
};
await writeFile(
  file,
  `${JSON.stringify({ ...previous, at, quick: values.quick, machine, measuredAt, ...results }, null, 2)}\n`,
);
process.stderr.write(`raw figures: bench/${values.quick ? "results.quick.json" : "results.json"}\n`);

async function readPrevious(url: URL): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(url, "utf8")) as Record<string, unknown>;
  } catch {
    return {};
  }
}
