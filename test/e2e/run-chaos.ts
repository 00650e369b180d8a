import { parseArgs } from "node:util";
import { describeScenario, generateScenario, runScenario } from "./chaos.ts";

// `npm run test:chaos -- --seeds 500 [--from 1]` or `-- --seed 42`: runs the chaos scenarios of
// those seeds one after the other and prints each failing seed with its scenario, to replay it.
const { values } = parseArgs({
  options: {
    seeds: { type: "string", default: "50" },
    from: { type: "string", default: "1" },
    seed: { type: "string" },
    verbose: { type: "boolean", default: false },
  },
});

function whole(name: string, text: string | undefined): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`--${name} must be a whole number, not ${JSON.stringify(text)}\n`);
    process.exit(2);
  }
  return n;
}

const seeds =
  values.seed !== undefined
    ? [whole("seed", values.seed)]
    : Array.from({ length: whole("seeds", values.seeds) }, (_, i) => whole("from", values.from) + i);

const failing: number[] = [];
const started = Date.now();
for (const seed of seeds) {
  const scenario = generateScenario(seed);
  const result = await runScenario(scenario).catch((error: unknown) => ({
    violations: [`the harness failed: ${(error as Error).stack ?? String(error)}`],
    tail: [] as string[],
    elapsedMs: 0,
    ticks: 0,
    served: undefined,
  }));
  const ok = result.violations.length === 0;
  if (!ok) failing.push(seed);
  const served = result.served ? `, ${JSON.stringify(result.served)}` : "";
  process.stdout.write(
    `seed ${seed}: ${ok ? "ok" : "FAILED"} (${result.ticks} ticks, ${result.elapsedMs} ms${served})\n`,
  );
  if (!ok || values.verbose) {
    process.stdout.write(`  scenario: ${describeScenario(scenario)}\n`);
    for (const v of result.violations) process.stdout.write(`  violation: ${v}\n`);
    for (const line of result.tail) process.stdout.write(`  log: ${line}\n`);
    if (!ok) process.stdout.write(`  replay: npm run test:chaos -- --seed ${seed}\n`);
  }
}
const seconds = ((Date.now() - started) / 1000).toFixed(1);
process.stdout.write(
  `${seeds.length - failing.length}/${seeds.length} seeds passed in ${seconds} s${failing.length > 0 ? `; failing: ${failing.join(" ")}` : ""}\n`,
);
// A killed run's lease timer is never cleared (as in a real crash): exit rather than wait for it.
process.exit(failing.length > 0 ? 1 : 0);
