// The load test: a tenant of 1 000 000 events collected and indexed locally, reporting wall time,
// events/s and the collector's peak RSS; exit 1 when a check fails.
// Usage: npm run test:load [-- --events 200000 --hours 24 --max-rss-mb 400 --latency-ms 150 --set LOOKUP_EXISTING=off --json]
import { parseArgs } from "node:util";
import { formatReport, runLoad } from "./run-load.ts";

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "1000000" },
    hours: { type: "string", default: "24" },
    "latency-ms": { type: "string" },
    "max-rss-mb": { type: "string" },
    json: { type: "boolean", default: false },
    set: { type: "string", multiple: true, default: [] },
  },
});

function wholeNumber(flag: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (Number.isInteger(value) && value >= min && value <= max) return value;
  process.stderr.write(`--${flag} must be a whole number from ${min} to ${max}, not "${text}"\n`);
  process.exit(2);
}

// `--set NAME=value`: a setting for the run, as its environment variable.
function setting(text: string): [string, string] {
  const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(text);
  if (match) return [match[1] as string, match[2] as string];
  process.stderr.write(`--set takes NAME=value (e.g. LOOKUP_EXISTING=off), not "${text}"\n`);
  process.exit(2);
}

const report = await runLoad({
  events: wholeNumber("events", values.events, 1, 4_000_000) as number,
  hours: wholeNumber("hours", values.hours, 1, 24 * 89) as number,
  maxRssMb: wholeNumber("max-rss-mb", values["max-rss-mb"], 1, 1_000_000),
  latencyMs: wholeNumber("latency-ms", values["latency-ms"], 0, 60_000),
  env: Object.fromEntries(values.set.map(setting)),
});
process.stdout.write(`${values.json ? JSON.stringify(report) : formatReport(report)}\n`);
process.exitCode = report.problems.length === 0 ? 0 : 1;
