import { type Environment, readList } from "../config.ts";
import { readDuration } from "../duration.ts";
import { ConfigurationError } from "../errors.ts";
import { type CollectOptions, checkpointKey } from "./collector.ts";
import { DEFAULT_WINDOW_SETTINGS, type TimeWindow, type WindowSettings } from "./windows.ts";

/** How the collector runs (shared by the collector Lambda and `run --once`). */
export interface CollectorConfig {
  windows: WindowSettings;
  pageLimit: number;
  backfillConcurrency: number;
  maxEventsPerWindow: number;
  safetyMarginMs: number;
  leaseMs: number;
  orgConcurrency: number;
  checkpointTable: string | undefined;
  checkpointFile: string;
  mapperFunctionName: string | undefined;
  jumpcloudSecretArn: string | undefined;
}

function readInteger(
  env: Environment,
  name: string,
  fallback: number,
  min: number,
  max: number,
  problems: string[],
): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    problems.push(`${name} must be a whole number from ${min} to ${max}, not "${raw}"`);
    return fallback;
  }
  return value;
}

/** Reads SOURCE_LAG, OVERLAP, MAX_WINDOW, INITIAL_LOOKBACK and the collector's other settings. */
export function readCollectorConfig(env: Environment, problems: string[]): CollectorConfig {
  const windows: WindowSettings = {
    sourceLag: readDuration(env, "SOURCE_LAG", DEFAULT_WINDOW_SETTINGS.sourceLag, problems),
    overlap: readDuration(env, "OVERLAP", DEFAULT_WINDOW_SETTINGS.overlap, problems),
    maxWindow: readDuration(env, "MAX_WINDOW", DEFAULT_WINDOW_SETTINGS.maxWindow, problems),
    initialLookback: readDuration(env, "INITIAL_LOOKBACK", DEFAULT_WINDOW_SETTINGS.initialLookback, problems),
  };
  if (windows.maxWindow < 1_000) problems.push("MAX_WINDOW must be at least 1s");
  if (windows.initialLookback > 90 * 86_400_000)
    problems.push("INITIAL_LOOKBACK must be at most 90d (JumpCloud keeps 15 to 90 days)");
  return {
    windows,
    pageLimit: readInteger(env, "PAGE_LIMIT", 1_000, 1, 10_000, problems),
    backfillConcurrency: readInteger(env, "BACKFILL_CONCURRENCY", 4, 1, 32, problems),
    maxEventsPerWindow: readInteger(env, "MAX_EVENTS_PER_WINDOW", 50_000, 100, 10_000_000, problems),
    safetyMarginMs: readDuration(env, "SAFETY_MARGIN", 60_000, problems),
    leaseMs: readDuration(env, "LEASE_DURATION", 16 * 60_000, problems),
    orgConcurrency: readInteger(env, "ORG_CONCURRENCY", 4, 1, 64, problems),
    checkpointTable: env.CHECKPOINT_TABLE?.trim() || undefined,
    checkpointFile: env.CHECKPOINT_FILE?.trim() || ".jumpcloud-elastic/checkpoints.json",
    mapperFunctionName: env.MAPPER_FUNCTION_NAME?.trim() || undefined,
    jumpcloudSecretArn: env.JUMPCLOUD_SECRET_ARN?.trim() || undefined,
  };
}

/** Reads the settings or throws one ConfigurationError naming every problem. */
export function loadCollectorConfig(env: Environment): CollectorConfig {
  const problems: string[] = [];
  const config = readCollectorConfig(env, problems);
  if (problems.length > 0) throw new ConfigurationError(problems);
  return config;
}

/** The orgs to collect: JUMPCLOUD_ORG_IDS, or the key's own org (undefined) when none are listed. */
export function orgsToCollect(env: Environment): (string | undefined)[] {
  const orgs = readList(env, "JUMPCLOUD_ORG_IDS", []);
  return orgs.length > 0 ? orgs : [undefined];
}

/** The collector's options for one target (an org's schedule, or a replay window) under `config`. */
export function collectOptions(
  config: CollectorConfig,
  target: { orgId?: string | undefined; services: string[]; replay?: TimeWindow | undefined },
): CollectOptions {
  return {
    key: checkpointKey(target.orgId, target.services, target.replay),
    ...(target.orgId !== undefined && { orgId: target.orgId }),
    services: target.services,
    pageLimit: config.pageLimit,
    windows: config.windows,
    safetyMarginMs: config.safetyMarginMs,
    leaseMs: config.leaseMs,
    backfillConcurrency: config.backfillConcurrency,
    maxEventsPerWindow: config.maxEventsPerWindow,
    ...(target.replay && { replay: target.replay }),
  };
}
