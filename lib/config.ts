import { ConfigurationError } from "./errors.ts";

/** The environment as a plain record; only handlers and the CLI pass `process.env` in. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** How events become documents (shared by the mapper Lambda and the CLI). */
export interface MappingConfig {
  namespace: string;
  tags: string[];
  preserveOriginalEvent: boolean;
  preserveDuplicateCustomFields: boolean;
  geoIpCityDb: string | undefined;
  geoIpAsnDb: string | undefined;
}

const TRUE_WORDS = new Set(["true", "1", "yes", "on"]);
const FALSE_WORDS = new Set(["false", "0", "no", "off"]);

/** Reads a boolean variable; records a problem for anything that is not clearly true or false. */
export function readBoolean(env: Environment, name: string, problems: string[], fallback = false): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === "") return fallback;
  if (TRUE_WORDS.has(raw)) return true;
  if (FALSE_WORDS.has(raw)) return false;
  problems.push(`${name} must be true or false, not "${env[name]}"`);
  return fallback;
}

/** Reads a comma-separated list; blank items are dropped. */
export function readList(env: Environment, name: string, fallback: readonly string[]): string[] {
  const raw = env[name];
  if (raw === undefined) return [...fallback];
  return raw
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

// Elasticsearch's rules for the namespace part of a data stream name.
const NAMESPACE_FORBIDDEN = /[\\/*?"<>|,# :A-Z-]/;

/** Checks a data stream namespace; returns the problem, or `undefined` when it is valid. */
export function namespaceProblem(namespace: string): string | undefined {
  if (namespace === "") return "must not be empty";
  if (Buffer.byteLength(namespace) > 100) return "must be at most 100 bytes";
  if (NAMESPACE_FORBIDDEN.test(namespace)) {
    return 'must be lowercase and contain none of \\ / * ? " < > | , # : - or spaces';
  }
  return undefined;
}

/** Reads the mapping settings (DESIGN.md names); problems are collected, not thrown. */
export function readMappingConfig(env: Environment, problems: string[]): MappingConfig {
  const namespace = env.DATA_STREAM_NAMESPACE?.trim() || "default";
  const problem = namespaceProblem(namespace);
  if (problem) problems.push(`DATA_STREAM_NAMESPACE "${namespace}" ${problem}`);
  return {
    namespace,
    tags: readList(env, "TAGS", ["forwarded"]),
    preserveOriginalEvent: readBoolean(env, "PRESERVE_ORIGINAL_EVENT", problems),
    preserveDuplicateCustomFields: readBoolean(env, "PRESERVE_DUPLICATE_CUSTOM_FIELDS", problems),
    geoIpCityDb: env.GEOIP_CITY_DB?.trim() || undefined,
    geoIpAsnDb: env.GEOIP_ASN_DB?.trim() || undefined,
  };
}

/** Reads the mapping settings or throws one ConfigurationError naming every problem. */
export function loadMappingConfig(env: Environment): MappingConfig {
  const problems: string[] = [];
  const config = readMappingConfig(env, problems);
  if (problems.length > 0) throw new ConfigurationError(problems);
  return config;
}
