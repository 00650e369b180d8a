import { Option } from "commander";
import type { AwsClients } from "../lib/compose/aws.ts";
import { ConfigurationError } from "../lib/errors.ts";
import {
  type Environment,
  type LoadedSettings,
  type Overrides,
  type ParseOptions,
  parseSettings,
} from "../lib/settings/load.ts";
import type { Requirement } from "../lib/settings/rules.ts";
import { SETTINGS, type SettingName } from "../lib/settings/schema.ts";
import type { CliIo } from "./io.ts";
import type { SignalSource } from "./signals.ts";

/** What every command gets: the environment, its streams, stop signals, and (tests) AWS clients. */
export interface CliSeams {
  env: Environment;
  io: CliIo;
  aws?: AwsClients;
  /** Ctrl-C and SIGTERM (the process's by default). */
  signals?: SignalSource;
}

/** A command option for a setting, described from the schema: the flag wins over the variable. */
export function settingOption(name: SettingName, description?: string): Option {
  const spec = SETTINGS[name];
  const flag = spec.flag as string;
  const takesValue = typeof spec.default !== "boolean";
  const shown = spec.defaultText ?? (spec.default === undefined ? undefined : String(spec.default));
  return new Option(
    takesValue ? `${flag} <value>` : flag,
    `${description ?? spec.description} [env ${spec.env}${shown === undefined ? "" : `, default: ${shown}`}]`,
  );
}

// Commander keys an option by its flag in camelCase (`--geoip-city` → `geoipCity`).
const optionKey = (flag: string) =>
  flag.replace(/^--/, "").replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** The overrides given by flags: only those the user set. */
export function flagOverrides(options: object, names: readonly SettingName[]): Overrides {
  const overrides: Record<string, { value: unknown }> = {};
  for (const name of names) {
    const value = (options as Record<string, unknown>)[optionKey(SETTINGS[name].flag as string)];
    if (value !== undefined) overrides[name] = { value };
  }
  return overrides as Overrides;
}

/**
 * Settings for a command: parsed once, warnings printed, problems thrown as one
 * ConfigurationError, with those `more` finds on the parsed settings (files it opens, say).
 */
export async function commandSettings(
  seams: CliSeams,
  overrides: Overrides,
  require: readonly Requirement[] = [],
  more?: (loaded: LoadedSettings, problems: string[]) => Promise<void>,
  uses?: ParseOptions["uses"],
): Promise<LoadedSettings> {
  const { problems, ...loaded } = parseSettings(seams.env, { overrides, require, ...(uses && { uses }) });
  for (const warning of loaded.warnings) seams.io.log(`warning: ${warning}`);
  await more?.(loaded, problems);
  if (problems.length > 0) throw new ConfigurationError(problems);
  return loaded;
}

/** Runs `load`, recording a ConfigurationError's problems instead of throwing, so they join others. */
export async function collectingProblems<T>(
  problems: string[],
  load: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await load();
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    problems.push(...error.problems);
    return undefined;
  }
}

/** Settings by what they are about, for commands that read only some (status reads no JumpCloud key). */
export const SETTING_GROUPS = {
  jumpcloud: [
    "jumpcloudApiUrl",
    "jumpcloudTokenUrl",
    "jumpcloudApiKey",
    "jumpcloudClientId",
    "jumpcloudClientSecret",
    "jumpcloudSecretArn",
    "jumpcloudOrgIds",
    "jumpcloudServices",
    "jumpcloudTimeout",
    "pageLimit",
    "awsRegion",
    "httpsProxy",
    "httpProxy",
    "noProxy",
  ],
  checkpoints: ["checkpointTable", "checkpointFile", "awsRegion"],
  elasticsearch: [
    "elasticsearchUrl",
    "elasticsearchCloudId",
    "elasticsearchApiKey",
    "elasticsearchUsername",
    "elasticsearchPassword",
    "elasticsearchSecretArn",
    "elasticsearchCaCert",
    "elasticsearchRequestTimeout",
    "elasticsearchCompression",
    "elasticsearchBulkMaxMb",
    "lookUpExisting",
    "namespace",
    "awsRegion",
    "httpsProxy",
    "httpProxy",
    "noProxy",
  ],
  kibana: [
    "kibanaUrl",
    "kibanaApiKey",
    "kibanaSecretArn",
    "kibanaSpace",
    "httpsProxy",
    "httpProxy",
    "noProxy",
  ],
  deadLetters: ["deadLetterBucket", "deadLetterPrefix", "deadLetterDir", "awsRegion"],
  geoip: ["geoIp", "geoIpCityDb", "geoIpAsnDb", "awsRegion"],
} as const satisfies Record<string, readonly SettingName[]>;
