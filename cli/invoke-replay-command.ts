import { setTimeout as sleep } from "node:timers/promises";
import { InvokeCommand, type InvokeCommandOutput, type LambdaClient } from "@aws-sdk/client-lambda";
import { Command } from "commander";
import type { CollectorRequest } from "../functions/collector/handler.ts";
import { awsSetupProblem, awsUnreachable } from "../lib/aws/sdk-failures.ts";
import type { CollectSummary } from "../lib/collect/collector.ts";
import { awsClients } from "../lib/compose/aws.ts";
import { addCounts, type Counts, NO_COUNTS } from "../lib/counts.ts";
import { parseDuration } from "../lib/duration.ts";
import {
  AwsUnreachableError,
  ConfigurationError,
  JumpcloudElasticError,
  LockedError,
} from "../lib/errors.ts";
import { KNOWN_SERVICES, serviceListProblem, unknownServices } from "../lib/jumpcloud/regions.ts";
import type { Logger } from "../lib/logger.ts";
import { cliLogger, emit } from "./output.ts";
import type { CliSeams } from "./settings.ts";
import { inThePast, parseTimeRange } from "./time-options.ts";

interface ReplayFlags {
  function?: string;
  from?: string;
  to?: string;
  services?: string;
  org?: string;
  maxInvocations: string;
  lockRetries: string;
  lockWait: string;
  json?: boolean;
}

type Replay = NonNullable<CollectorRequest["replay"]>;

/** What the command does, every flag checked. */
interface ReplayPlan {
  functionName: string;
  replay: Replay;
  maxInvocations: number;
  lockRetries: number;
  lockWaitMs: number;
}

/** What the invocations did, summed. */
interface ReplayTotal {
  key: string | undefined;
  status: CollectSummary["status"] | "not-started";
  invocations: number;
  windows: number;
  pages: number;
  fetched: number;
  counts: Counts;
}

const START: ReplayTotal = {
  key: undefined,
  status: "not-started",
  invocations: 0,
  windows: 0,
  pages: 0,
  fetched: 0,
  counts: NO_COUNTS,
};

function wholeNumber(flag: string, value: string, min: number, max: number, problems: string[]): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (Number.isInteger(n) && n >= min && n <= max) return n;
  problems.push(`${flag} must be a whole number from ${min} to ${max}, not "${value}"`);
  return min;
}

function lockWait(value: string, problems: string[]): number {
  const ms = parseDuration(value);
  if (ms !== undefined && ms <= 15 * 60_000) return ms;
  problems.push(`--lock-wait must be a duration of at most 15m (such as 30s), not "${value}"`);
  return 0;
}

function replayServices(value: string, problems: string[]): string[] {
  const services = value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const problem = serviceListProblem(services);
  if (problem) problems.push(`--services ${problem}`);
  const unknown = unknownServices(services);
  // As the collector's own setting: refused here rather than by JumpCloud's 400 after a checkpoint.
  if (unknown.length > 0 && !problem)
    problems.push(
      `--services: ${unknown.join(", ")} is not a Directory Insights service (one of ${KNOWN_SERVICES.join(", ")})`,
    );
  return services;
}

// Every flag is checked before anything is invoked, and every problem told at once.
function replayPlan(flags: ReplayFlags): ReplayPlan {
  const problems: string[] = [];
  const now = Date.now();
  for (const [flag, value] of [
    ["--from", flags.from],
    ["--to", flags.to],
  ] as const) {
    if (value === undefined)
      problems.push(
        `${flag} is required: an ISO 8601 time (2026-01-31T12:00:00Z) or a duration ago (2h, 15d)`,
      );
  }
  const before = problems.length;
  const range = parseTimeRange(["--from", flags.from], ["--to", flags.to], now, problems);
  if (problems.length === before)
    inThePast(
      [
        ["--from", range.from],
        ["--to", range.to],
      ],
      now,
      problems,
    );
  const from = range.from ?? new Date(now);
  const to = range.to ?? new Date(now);
  const functionName = flags.function?.trim() ?? "";
  if (functionName === "")
    problems.push(
      "--function is required: the collector Lambda's name or ARN (the stack's CollectorFunction output)",
    );
  const services = flags.services === undefined ? undefined : replayServices(flags.services, problems);
  const plan = {
    functionName,
    replay: {
      start: from.toISOString(),
      end: to.toISOString(),
      ...(services && { services }),
      ...(flags.org !== undefined && { orgId: flags.org }),
    },
    maxInvocations: wholeNumber("--max-invocations", flags.maxInvocations, 1, 10_000, problems),
    lockRetries: wholeNumber("--lock-retries", flags.lockRetries, 0, 100, problems),
    lockWaitMs: lockWait(flags.lockWait, problems),
  };
  if (problems.length > 0) throw new ConfigurationError(problems);
  return plan;
}

/** The region a client sends to, when it can tell (a double, or a client without one, cannot). */
async function clientRegion(client: LambdaClient): Promise<string | undefined> {
  try {
    return await client.config?.region?.();
  } catch {
    return undefined;
  }
}

const arnRegion = (name: string) => /^arn:aws[a-z-]*:lambda:([a-z0-9-]+):/.exec(name)?.[1];

// Lambda only invokes functions of the endpoint's own region: an ARN elsewhere can never work.
function checkArnRegion(functionName: string, region: string | undefined): void {
  const named = arnRegion(functionName);
  if (named === undefined || region === undefined || named === region) return;
  throw new ConfigurationError([
    `--function is in ${named} but the AWS region in use is ${region}: set AWS_REGION=${named}`,
  ]);
}

/** What an SDK failure means for the user, with what to set or fix. */
function invokeFailure(error: unknown, functionName: string, region: string | undefined): Error {
  const { name, message } = error instanceof Error ? error : new Error(String(error));
  const where = region ?? "the configured region";
  const problem =
    awsSetupProblem(error, `invoking ${functionName}`) ??
    (name === "ResourceNotFoundException"
      ? `function ${functionName} not found in ${where}: check --function (the stack's CollectorFunction output) and AWS_REGION`
      : name === "AccessDeniedException" || name === "AccessDenied"
        ? `access denied invoking ${functionName}: the AWS identity needs lambda:InvokeFunction on it (${message})`
        : undefined);
  if (problem) return new ConfigurationError([problem], { cause: error });
  const unreachable = awsUnreachable(error, `invoking ${functionName}`);
  if (unreachable) return new AwsUnreachableError(unreachable, { cause: error });
  return new JumpcloudElasticError(`invoking ${functionName} in ${where} failed: ${name}: ${message}`, {
    cause: error,
  });
}

// Lambda answers a function error as {errorType, errorMessage, trace}; anything else is shown as sent.
function functionErrorText(text: string): string {
  try {
    const { errorType, errorMessage } = JSON.parse(text) as { errorType?: string; errorMessage?: string };
    if (errorType !== undefined || errorMessage !== undefined)
      return `${errorType ?? "Error"}: ${errorMessage ?? ""}`;
  } catch {
    // not JSON: the text itself says most
  }
  return text.slice(0, 500);
}

function collectorSummaries(text: string, functionName: string): CollectSummary[] {
  let answer: { mode?: unknown; summaries?: unknown } | undefined;
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    // reported below
  }
  const summaries = answer?.mode === "collected" ? answer.summaries : undefined;
  if (!Array.isArray(summaries) || summaries.length === 0) {
    throw new JumpcloudElasticError(
      `${functionName} did not answer with a collection summary (is --function the collector?): ${text.slice(0, 200)}`,
    );
  }
  return summaries as CollectSummary[];
}

/** One synchronous invocation of the collector with the replay: its summaries. */
async function invokeOnce(
  client: LambdaClient,
  plan: ReplayPlan,
  region: string | undefined,
): Promise<CollectSummary[]> {
  const payload: CollectorRequest = { replay: plan.replay };
  let response: InvokeCommandOutput;
  try {
    response = await client.send(
      new InvokeCommand({
        FunctionName: plan.functionName,
        InvocationType: "RequestResponse",
        Payload: Buffer.from(JSON.stringify(payload)),
      }),
    );
  } catch (error) {
    throw invokeFailure(error, plan.functionName, region);
  }
  const text = response.Payload ? Buffer.from(response.Payload).toString("utf8") : "";
  if (response.FunctionError) {
    throw new JumpcloudElasticError(
      `${plan.functionName} failed: ${functionErrorText(text)} (its log has the details; progress up to the last acknowledged page is kept)`,
    );
  }
  return collectorSummaries(text, plan.functionName);
}

/** One invocation's summaries as one: locked if any is, work remaining if any has some. */
function merge(summaries: CollectSummary[]) {
  const locked = summaries.some((s) => s.status === "locked");
  const workRemaining = summaries.some((s) => s.workRemaining);
  const status: CollectSummary["status"] = locked
    ? "locked"
    : workRemaining
      ? "work-remaining"
      : (summaries[0] as CollectSummary).status;
  return { key: summaries[0]?.key, status, workRemaining, summaries };
}

function add(total: ReplayTotal, summaries: readonly CollectSummary[]): ReplayTotal {
  let { windows, pages, fetched, counts } = total;
  for (const s of summaries) {
    windows += s.windows;
    pages += s.pages;
    fetched += s.fetched;
    counts = addCounts(counts, s.counts);
  }
  return { ...total, windows, pages, fetched, counts };
}

function progressFields(summaries: CollectSummary[]) {
  const one = add(START, summaries);
  const cursors = summaries.map((s) => s.cursorAfter).filter((c) => c !== undefined);
  return {
    windows: one.windows,
    pages: one.pages,
    fetched: one.fetched,
    ...one.counts,
    ...(cursors.length > 0 && { cursor: cursors.join(",") }),
  };
}

/**
 * Invokes until the replay is caught up: summed as it goes, locked invocations retried
 * `lockRetries` times, `lockWaitMs` apart. Throws LockedError past them, and an error past
 * `maxInvocations`, each with the total so far.
 */
async function replayLoop(
  client: LambdaClient,
  plan: ReplayPlan,
  logger: Logger,
  report: (total: ReplayTotal) => Promise<void>,
): Promise<ReplayTotal> {
  const region = await clientRegion(client);
  checkArnRegion(plan.functionName, region);
  let total = START;
  let lockedInARow = 0;
  for (;;) {
    if (total.invocations >= plan.maxInvocations) {
      await report(total);
      throw new JumpcloudElasticError(
        `work remains after ${total.invocations} invocation(s) (--max-invocations): progress is saved; run again with --from ${plan.replay.start} --to ${plan.replay.end} (and the same --services and --org) to resume`,
      );
    }
    const invocation = total.invocations + 1;
    const { key, status, workRemaining, summaries } = merge(await invokeOnce(client, plan, region));
    total = { ...total, key: key ?? total.key, status, invocations: invocation };
    if (status === "locked") {
      lockedInARow++;
      if (lockedInARow > plan.lockRetries) {
        await report(total);
        throw new LockedError(
          `another run of this replay holds its lease (${key}), still after ${plan.lockRetries} retries: wait until it ends (a run that died frees it after the collector's LEASE_DURATION), then run this again to resume`,
        );
      }
      logger.warn(`invocation ${invocation}: locked by another run of this replay; retrying`, {
        retry: `${lockedInARow} of ${plan.lockRetries}`,
        waitMs: plan.lockWaitMs,
      });
      await sleep(plan.lockWaitMs);
      continue;
    }
    lockedInARow = 0;
    total = add(total, summaries);
    logger.info(
      `invocation ${invocation}: ${workRemaining ? "work remains" : status}`,
      progressFields(summaries),
    );
    if (!workRemaining) return total;
  }
}

function humanTotal(plan: ReplayPlan, total: ReplayTotal): string {
  const c = total.counts;
  return [
    `replay ${plan.replay.start} to ${plan.replay.end}: ${total.status} after ${total.invocations} invocation(s) of ${plan.functionName}`,
    `fetched ${total.fetched} event(s) in ${total.windows} window(s), ${total.pages} page(s): ${c.indexed} indexed, ${c.duplicates} duplicate(s), ${c.deadLettered} dead-lettered, ${c.pipelineErrors} pipeline error(s)${c.withoutGeo ? `, ${c.withoutGeo} without geo (the cluster's GeoIP databases were not there yet)` : ""}`,
  ].join("\n");
}

/** `invoke-replay`: replays a window with the deployed collector, invoking it until caught up. */
export function invokeReplayCommand(seams: CliSeams): Command {
  return new Command("invoke-replay")
    .description(
      "replay a window with the deployed collector Lambda: invoke it again while work remains, then print the total",
    )
    .option("--function <name>", "the collector Lambda's name or ARN (the stack's CollectorFunction output)")
    .option("--from <time>", "window start: ISO 8601, or a duration ago such as 2h")
    .option("--to <time>", "window end: ISO 8601, or a duration ago such as 1h")
    .option(
      "--services <list>",
      "comma-separated services to replay (default: the collector's JUMPCLOUD_SERVICES)",
    )
    .option(
      "--org <id>",
      "the org to replay (default: every org the collector lists in JUMPCLOUD_ORG_IDS, in turn)",
    )
    .option("--max-invocations <n>", "stop, progress saved, after this many invocations", "100")
    .option("--lock-retries <n>", "retries while another run of the same replay holds its lease", "4")
    .option("--lock-wait <duration>", "wait between those retries", "15s")
    .action(async (flags: ReplayFlags) => {
      const logger = cliLogger(seams, flags.json);
      const plan = replayPlan(flags);
      const print = (total: ReplayTotal) =>
        emit(seams, flags.json, { function: plan.functionName, replay: plan.replay, ...total }, () =>
          humanTotal(plan, total),
        );
      const client = (seams.aws ?? awsClients()).lambda();
      await print(await replayLoop(client, plan, logger, print));
    });
}
