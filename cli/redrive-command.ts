import { existsSync, statSync } from "node:fs";
import type { Client } from "@elastic/elasticsearch";
import { Command } from "commander";
import { type AwsClients, awsClients } from "../lib/compose/aws.ts";
import { createElasticsearchClient } from "../lib/compose/elasticsearch.ts";
import { createDocumentSink } from "../lib/compose/pipeline.ts";
import {
  type DeadLetterStore,
  FileDeadLetterStore,
  type RedriveReport,
  redrive,
  S3DeadLetterStore,
  type TimeRange,
} from "../lib/elasticsearch/redrive.ts";
import type { DocumentSink } from "../lib/elasticsearch/sink.ts";
import { JumpcloudElasticError } from "../lib/errors.ts";
import type { Logger } from "../lib/logger.ts";
import type { Settings } from "../lib/settings/schema.ts";
import { cliLogger, emit, table } from "./output.ts";
import { type CliSeams, commandSettings, SETTING_GROUPS } from "./settings.ts";
import { parseTimeRange } from "./time-options.ts";

interface RedriveFlags {
  from?: string;
  to?: string;
  dryRun?: boolean;
  json?: boolean;
}

/** Shown in full in the human summary; `--json` lists every one. */
const SHOWN_REASONS = 5;
const SHOWN_UNREADABLE = 20;

// Times and settings are checked together, so every problem is told at once. A dry run sends
// nothing: it needs no cluster.
async function redrivePlan(flags: RedriveFlags, seams: CliSeams) {
  const now = Date.now();
  const range: TimeRange = {};
  const requirements = flags.dryRun ? [] : (["cluster"] as const);
  const { settings } = await commandSettings(
    seams,
    {},
    requirements,
    async ({ settings, sourceOf }, problems) => {
      Object.assign(range, parseTimeRange(["--from", flags.from], ["--to", flags.to], now, problems));
      // A folder named by hand that is not there is a typo, not "no dead letters".
      const dir = settings.deadLetterDir;
      const named =
        settings.deadLetterBucket === undefined &&
        sourceOf("deadLetterDir") === "DEAD_LETTER_DIR" &&
        seams.env.DEAD_LETTER_DIR?.trim();
      if (named && !existsSync(dir))
        problems.push(
          `DEAD_LETTER_DIR ${dir} does not exist: set it to the folder the run wrote dead letters to`,
        );
      else if (named && !statSync(dir).isDirectory())
        problems.push(
          `DEAD_LETTER_DIR ${dir} is not a folder: set it to the folder the run wrote dead letters to`,
        );
    },
    {
      names: [...SETTING_GROUPS.elasticsearch, ...SETTING_GROUPS.deadLetters, ...SETTING_GROUPS.geoip],
      by: "redrive",
    },
  );
  return { settings, range };
}

/** Where dead letters are: S3 when DEAD_LETTER_BUCKET is set, else DEAD_LETTER_DIR (as they were written). */
function deadLetterStore(settings: Settings, aws: AwsClients): DeadLetterStore {
  return settings.deadLetterBucket !== undefined
    ? new S3DeadLetterStore(aws.s3(), settings.deadLetterBucket, settings.deadLetterPrefix)
    : new FileDeadLetterStore(settings.deadLetterDir);
}

/** One sink per data stream, as the pipeline builds it (same batching, retries, `create` with the `_id`). */
function sinks(settings: Settings, client: Client | undefined, logger: Logger) {
  const made = new Map<string, DocumentSink>();
  return (dataStream: string): DocumentSink => {
    if (!client) throw new Error("a dry run sends nothing");
    let sink = made.get(dataStream);
    if (!sink) {
      sink = createDocumentSink(settings, dataStream, { client, logger });
      made.set(dataStream, sink);
    }
    return sink;
  };
}

function rangeText(report: RedriveReport): string {
  if (report.from === undefined && report.to === undefined) return "all times";
  return `${report.from ?? "the first"} to ${report.to ?? "now"}`;
}

function reasonsText(report: RedriveReport): string[] {
  if (report.reasons.length === 0) return [];
  const rows = report.reasons
    .slice(0, SHOWN_REASONS)
    .map((r) => [String(r.count), String(r.status), r.type, r.reason, r.example]);
  const more = report.reasons.length - SHOWN_REASONS;
  return [
    "still refused, most frequent reasons first:",
    table(["count", "status", "type", "reason", "e.g."], rows),
    ...(more > 0 ? [`… and ${more} more reason(s) (--json lists them all)`] : []),
  ];
}

function unreadableText(report: RedriveReport): string[] {
  if (report.unreadable.length === 0) return [];
  const more = report.unreadable.length - SHOWN_UNREADABLE;
  return [
    `unreadable, left in place (${report.unreadable.length}):`,
    ...report.unreadable.slice(0, SHOWN_UNREADABLE).map((u) => `  ${u.where}: ${u.problem}`),
    ...(more > 0 ? [`  … and ${more} more (--json lists them all)`] : []),
  ];
}

/** The summary for people: counts, then why letters are still refused, then what could not be read. */
export function redriveText(report: RedriveReport): string {
  const head = `dead letters in ${report.location}, ${rangeText(report)}`;
  const counts = report.dryRun
    ? [
        `dry run: ${report.found} found, would be re-sent; nothing sent, nothing removed`,
        ...(report.found > 0
          ? [
              table(
                ["count", "data stream"],
                Object.entries(report.dataStreams).map(([s, n]) => [String(n), s]),
              ),
            ]
          : []),
      ]
    : [
        `found ${report.found}: indexed ${report.indexed}, duplicates ${report.duplicates}, still refused ${report.stillRefused}; removed ${report.removed}`,
      ];
  const warnings = report.warnings.map((w) => `warning: ${w}`);
  return [head, ...counts, ...reasonsText(report), ...unreadableText(report), ...warnings].join("\n");
}

/** `redrive`: dead letters sent again once their cause is fixed; only those that landed are removed. */
export function redriveCommand(seams: CliSeams): Command {
  return new Command("redrive")
    .description(
      "re-send dead-lettered documents (DEAD_LETTER_BUCKET, else DEAD_LETTER_DIR) to the cluster once the cause is fixed; removes those that landed, keeps those still refused",
    )
    .option(
      "--from <time>",
      "only letters refused at or after this time: ISO 8601, or a duration ago such as 7d",
    )
    .option("--to <time>", "only letters refused before this time: ISO 8601, or a duration ago")
    .option("--dry-run", "count what would be re-sent; send nothing, remove nothing (no cluster needed)")
    .action(async (flags: RedriveFlags) => {
      const { settings, range } = await redrivePlan(flags, seams);
      const aws = seams.aws ?? awsClients();
      const client = flags.dryRun ? undefined : await createElasticsearchClient(settings, aws);
      try {
        const logger = cliLogger(seams, flags.json);
        const report = await redrive(deadLetterStore(settings, aws), {
          range,
          dryRun: flags.dryRun === true,
          sinkFor: sinks(settings, client, logger),
        });
        await emit(seams, flags.json, report, () => redriveText(report));
        if (report.stillRefused > 0) {
          throw new JumpcloudElasticError(
            `${report.stillRefused} dead letter(s) still refused, left in place: fix the cause (reasons in the summary) and run redrive again`,
          );
        }
      } finally {
        await client?.close();
      }
    });
}
