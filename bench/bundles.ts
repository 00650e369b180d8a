// Lambda cold start: each function bundled exactly as the stack bundles it (infra/bundling.ts), its
// size, and the time a fresh Node process takes to import it; for the mapper also import + first
// invocation (which opens the GeoIP database) against the Elasticsearch emulator. Usage:
// node --expose-gc --import tsx bench/bundles.ts [--quick]
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type BuildOptions, build, type Metafile } from "esbuild";
import type { CityResponse } from "maxmind";
import { BUNDLE_FILE, ENTRIES, LAMBDA_BUNDLE, lambdaBuildOptions } from "../infra/bundling.ts";
import { RUNTIME_VARIABLES } from "../infra/constructs/functions.ts";
import { openGeoIpReader } from "../lib/ecs/geo.ts";
import { ElasticsearchEmulator } from "../simulators/elasticsearch/server.ts";
import { generateTenantEvents } from "../simulators/jumpcloud/tenant.ts";
import { type BenchOptions, type BenchRow, type BenchSection, median } from "./section.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TEST_CITY_DB = join(ROOT, "test/fixtures/geoip/GeoLite2-City-Test.mmdb");
/** GeoLite2-City's size (about 60 MB in 2026): what a real database costs to open. */
const REALISTIC_DB_BYTES = 60 * 1024 * 1024;
const KIB = 1024;

type FunctionName = keyof typeof ENTRIES;

/** One way of building a function: the deployed options, or a comparison. */
interface Build {
  key: string;
  options: (entry: string, outdir: string) => BuildOptions;
}

const DEPLOYED: Build = { key: "", options: lambdaBuildOptions };

// The comparisons: the previous settings (the AWS SDK left to the runtime's copy, main fields
// main-first, sources in the map), and the mapper without apache-arrow, which
// @elastic/elasticsearch's helpers require at load: its cost, not a deployable option.
const RUNTIME_SDK: Build = {
  key: "runtimeSdk",
  options: (entry, outdir) => ({
    ...lambdaBuildOptions(entry, outdir),
    external: ["@aws-sdk/*"],
    mainFields: ["main", "module"],
    sourcesContent: true,
  }),
};
const NO_ARROW: Build = {
  key: "noArrow",
  options: (entry, outdir) => ({
    ...lambdaBuildOptions(entry, outdir),
    plugins: [
      {
        name: "no-arrow",
        setup(b) {
          b.onResolve({ filter: /^apache-arrow(\/|$)/ }, () => ({ path: "arrow", namespace: "no-arrow" }));
          b.onLoad({ filter: /.*/, namespace: "no-arrow" }, () => ({ contents: "", loader: "js" }));
        },
      },
    ],
  }),
};

/** A built bundle: where, its sizes, and what weighs most in it. */
interface Bundle {
  file: string;
  bytes: number;
  mapBytes: number;
  packages: Record<string, number>;
}

async function bundle(fn: FunctionName, how: Build, dir: string): Promise<Bundle> {
  const outdir = join(dir, `${fn}${how.key ? `-${how.key}` : ""}`);
  const result = await build(how.options(ENTRIES[fn], outdir));
  const file = join(outdir, BUNDLE_FILE);
  return {
    file,
    bytes: statSync(file).size,
    mapBytes: statSync(`${file}.map`).size,
    packages: packageBytes(result.metafile as Metafile),
  };
}

// Bytes in the output by package (our own code under "(ours)"), largest first.
function packageBytes(metafile: Metafile): Record<string, number> {
  const totals = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const name = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1] ?? "(ours)";
      totals.set(name, (totals.get(name) ?? 0) + bytesInOutput);
    }
  }
  return Object.fromEntries([...totals].sort((a, b) => b[1] - a[1]));
}

// Lambda's runtime in miniature, as test/infra/emulators/runtime.ts: require the bundle (timed),
// then, given an event, call the handler once (timed) and print both on the last line.
const CHILD = `"use strict";
const [file, eventJson] = process.argv.slice(2);
const ms = (from) => Number(process.hrtime.bigint() - from) / 1e6;
const start = process.hrtime.bigint();
const { handler } = require(file);
const importMs = ms(start);
const report = (extra) => console.log("BENCH " + JSON.stringify({ importMs, ...extra }));
if (eventJson === undefined) report({});
else {
  const context = {
    awsRequestId: "bench", functionName: "bench", functionVersion: "$LATEST", memoryLimitInMB: "512",
    invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:bench",
    getRemainingTimeInMillis: () => 60000,
  };
  handler(JSON.parse(eventJson), context).then((result) => report({ firstInvocationMs: ms(start), result }));
}
`;

interface Run {
  importMs: number;
  firstInvocationMs?: number;
  result?: { indexed?: number };
}

/** The world the child processes run in: the wrapper, the runtime's SDK, the cluster. */
interface Sandbox {
  dir: string;
  child: string;
  nodePath: string;
  es: ElasticsearchEmulator;
  esUrl: string;
}

async function sandbox(): Promise<Sandbox> {
  const dir = mkdtempSync(join(tmpdir(), "bench-bundles-"));
  const child = join(dir, "child.cjs");
  writeFileSync(child, CHILD);
  // Only the AWS SDK is offered, as Lambda's runtime offers it: a bundle missing anything else fails.
  const nodePath = join(dir, "runtime", "node_modules");
  mkdirSync(nodePath, { recursive: true });
  symlinkSync(join(ROOT, "node_modules/@aws-sdk"), join(nodePath, "@aws-sdk"), "dir");
  const es = new ElasticsearchEmulator({ retainSources: false });
  return { dir, child, nodePath, es, esUrl: await es.start() };
}

// The deployed function's variables that matter at start, and nothing from this process.
function childEnvironment(box: Sandbox, geoIpCityDb: string | undefined): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    ...RUNTIME_VARIABLES,
    NODE_PATH: box.nodePath,
    TZ: "UTC",
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "bench",
    AWS_SECRET_ACCESS_KEY: "bench",
    AWS_LAMBDA_FUNCTION_NAME: "bench",
    ELASTICSEARCH_URL: box.esUrl,
    DEAD_LETTER_BUCKET: "bench-dead-letters",
    ...(geoIpCityDb !== undefined && { GEOIP_CITY_DB: geoIpCityDb }),
  };
}

async function runChild(
  box: Sandbox,
  file: string,
  env: Record<string, string>,
  event?: unknown,
): Promise<Run> {
  const args = [box.child, file, ...(event === undefined ? [] : [JSON.stringify(event)])];
  const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => (out += text));
  child.stderr.setEncoding("utf8").on("data", (text: string) => (err += text));
  const [code] = (await once(child, "close")) as [number | null];
  const line = out.split("\n").find((l) => l.startsWith("BENCH "));
  if (code !== 0 || line === undefined) throw new Error(`${file} failed (exit ${code}):\n${err}${out}`);
  return JSON.parse(line.slice("BENCH ".length)) as Run;
}

/** One measured case: a bundle, a GeoIP database or none, an event or none. */
interface Case {
  key: string;
  file: string;
  geoIpCityDb?: string;
  event?: boolean;
}

// One raw event per run, its address in the test database, a new id each time (a fresh document).
function mapperEvent(run: number): unknown {
  const start = Date.parse("2026-01-01T00:00:00Z");
  const [generated] = generateTenantEvents({ seed: 7, start, end: start + 60_000, count: 1 });
  const event = { ...(generated?.event ?? {}), id: `bench-${run}-${Date.now()}`, client_ip: "81.2.69.142" };
  return { events: [event] };
}

// Cases take turns (one run of each, then again), so a slow spell on a shared machine hits all alike.
async function timeCases(box: Sandbox, cases: Case[], runs: number): Promise<Map<string, Run[]>> {
  const times = new Map<string, Run[]>(cases.map((c) => [c.key, []]));
  for (let run = -1; run < runs; run++) {
    for (const c of cases) {
      const env = childEnvironment(box, c.geoIpCityDb);
      const result = await runChild(box, c.file, env, c.event ? mapperEvent(run) : undefined);
      if (c.event && result.result?.indexed !== 1)
        throw new Error(`${c.key}: the event was not indexed: ${JSON.stringify(result.result)}`);
      // The first round warms the file cache and installs the index template: not counted.
      if (run >= 0) times.get(c.key)?.push(result);
    }
  }
  return times;
}

/**
 * A valid City database of `bytes`: the MaxMind test database with zero bytes added at the end of
 * its data section, where no record points, so the reader opens and reads all of it.
 */
export function paddedCityDb(path: string, bytes: number): void {
  const source = readFileSync(TEST_CITY_DB);
  const marker = source.lastIndexOf(Buffer.from("\xab\xcd\xefMaxMind.com", "latin1"));
  if (marker < 0) throw new Error(`${TEST_CITY_DB}: no metadata marker`);
  const padding = Buffer.alloc(Math.max(0, bytes - source.length));
  writeFileSync(path, Buffer.concat([source.subarray(0, marker), padding, source.subarray(marker)]));
}

// The padded database must answer as the original does, or the figure would not be of a database.
async function checkPadded(path: string): Promise<void> {
  const reader = await openGeoIpReader<CityResponse>(path, "City");
  const city = reader.get("81.2.69.142")?.city?.names?.en;
  if (city !== "London") throw new Error(`${path}: 81.2.69.142 answers ${city}, not London`);
}

const kib = (bytes: number) => `${Math.round(bytes / KIB).toLocaleString("en")} KiB`;
const ms = (value: number) => `${Math.round(value)} ms`;

/** Sizes and fresh-process import times of both bundles, and the mapper's first invocation with GeoIP. */
export async function measure(options: BenchOptions = {}): Promise<BenchSection> {
  const log = options.log ?? (() => {});
  const runs = options.quick ? 3 : 10;
  const box = await sandbox();
  try {
    const realisticDb = join(box.dir, "GeoLite2-City-padded.mmdb");
    paddedCityDb(realisticDb, REALISTIC_DB_BYTES);
    await checkPadded(realisticDb);
    log("bundles: building");
    const bundles: Record<string, Bundle> = {};
    for (const fn of Object.keys(ENTRIES) as FunctionName[])
      for (const how of [DEPLOYED, RUNTIME_SDK]) bundles[`${fn}${how.key}`] = await bundle(fn, how, box.dir);
    bundles.mapperNoArrow = await bundle("mapper", NO_ARROW, box.dir);
    const cases = measuredCases(bundles, realisticDb);
    log(`bundles: ${cases.length} cases × ${runs} fresh processes`);
    const times = await timeCases(box, cases, runs);
    return section(bundles, times, runs, statSync(realisticDb).size);
  } finally {
    await box.es.stop();
    rmSync(box.dir, { recursive: true, force: true });
  }
}

function measuredCases(bundles: Record<string, Bundle>, realisticDb: string): Case[] {
  const file = (key: string) => (bundles[key] as Bundle).file;
  return [
    ...Object.keys(bundles).map((key) => ({ key: `${key}Import`, file: file(key) })),
    { key: "mapperFirstNoGeoIp", file: file("mapper"), event: true },
    { key: "mapperFirstTestDb", file: file("mapper"), event: true, geoIpCityDb: TEST_CITY_DB },
    { key: "mapperFirstRealisticDb", file: file("mapper"), event: true, geoIpCityDb: realisticDb },
  ];
}

function section(
  bundles: Record<string, Bundle>,
  times: Map<string, Run[]>,
  runs: number,
  realisticDbBytes: number,
): BenchSection {
  const importMs = (key: string) => median((times.get(`${key}Import`) ?? []).map((r) => r.importMs));
  const firstMs = (key: string) =>
    median((times.get(key) ?? []).map((r) => r.firstInvocationMs ?? Number.NaN));
  const rows: BenchRow[] = [];
  for (const fn of Object.keys(ENTRIES) as FunctionName[]) {
    const deployed = bundles[fn] as Bundle;
    const previous = bundles[`${fn}runtimeSdk`] as Bundle;
    rows.push({
      measure: `${fn}: bundle (${LAMBDA_BUNDLE.format}, ${LAMBDA_BUNDLE.target}, minified, AWS SDK bundled)`,
      value: `${kib(deployed.bytes)} (source map ${kib(deployed.mapBytes)})`,
      against: `${kib(previous.bytes)} + the runtime's AWS SDK with the previous settings`,
    });
    rows.push({
      measure: `${fn}: import in a fresh Node process`,
      value: ms(importMs(fn)),
      against: `${ms(importMs(`${fn}runtimeSdk`))} with the previous settings (the SDK from the runtime's node_modules)`,
    });
  }
  const arrow = (bundles.mapper?.packages["apache-arrow"] ?? 0) + (bundles.mapper?.packages.flatbuffers ?? 0);
  rows.push({
    measure: "mapper: apache-arrow + flatbuffers",
    value: `${kib(arrow)}; import ${ms(importMs("mapper") - importMs("mapperNoArrow"))} of ${ms(importMs("mapper"))}`,
    against:
      "kept: @elastic/elasticsearch's helpers require them at top level; leaving them out needs patching the client",
  });
  const mb = (realisticDbBytes / 1e6).toFixed(0);
  // Labels kept short: the table pads every label to the longest; the detail goes beside the value.
  for (const [key, label, detail] of [
    ["mapperFirstNoGeoIp", "no GeoIP", ""],
    ["mapperFirstTestDb", "GeoIP City 21 KB", "MaxMind's test database; "],
    ["mapperFirstRealisticDb", `GeoIP City ${mb} MB`, "the test database padded with unreferenced bytes; "],
  ] as const) {
    rows.push({
      measure: `mapper: import + first invocation (1 event), ${label}`,
      value: ms(firstMs(key)),
      against: `${detail}import alone ${ms(importMs("mapper"))}`,
    });
  }
  return {
    title: `Bundles: esbuild as the stack bundles them; times are medians of ${runs} fresh Node ${process.version} processes`,
    rows,
    results: results(bundles, times, realisticDbBytes),
  };
}

function results(bundles: Record<string, Bundle>, times: Map<string, Run[]>, realisticDbBytes: number) {
  return {
    node: process.version,
    realisticDbBytes,
    bundles: Object.fromEntries(
      Object.entries(bundles).map(([key, b]) => [
        key,
        {
          bytes: b.bytes,
          mapBytes: b.mapBytes,
          packages: Object.fromEntries(Object.entries(b.packages).slice(0, 12)),
        },
      ]),
    ),
    runsMs: Object.fromEntries(
      [...times].map(([key, list]) => [key, list.map((r) => Math.round(r.firstInvocationMs ?? r.importMs))]),
    ),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { quick: { type: "boolean" } } });
  const section = await measure({ quick: values.quick ?? false, log: (line) => console.error(line) });
  console.log(section.title);
  for (const row of section.rows)
    console.log(`${row.measure}: ${row.value}${row.against ? ` — ${row.against}` : ""}`);
  console.log(JSON.stringify(section.results, null, 2));
}
