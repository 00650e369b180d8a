// `npm run bench`: every part of the benchmark in one run, one table on stdout, and the raw
// figures in bench/results.json. Usage: npm run bench [-- --quick] [-- --only mapping,collection]
import { writeFile } from "node:fs/promises";
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
const file = new URL("./results.json", import.meta.url);
await writeFile(
  file,
  `${JSON.stringify({ at: new Date().toISOString(), quick: values.quick, machine, ...results }, null, 2)}\n`,
);
process.stderr.write(`raw figures: bench/results.json\n`);
