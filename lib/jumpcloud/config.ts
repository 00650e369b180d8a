import { type Environment, readList } from "../config.ts";
import { readDuration } from "../duration.ts";
import { ConfigurationError } from "../errors.ts";
import { checkServices, checkServiceUrl, resolveApiUrl, tokenUrlFor } from "./regions.ts";

/** How to authenticate, as configured. */
export type JumpcloudCredentials =
  | { kind: "apiKey"; apiKey: string }
  | { kind: "oauth"; clientId: string; clientSecret: string }
  | { kind: "none" };

/** Directory Insights settings shared by the Lambdas and the CLI. */
export interface JumpcloudConfig {
  apiUrl: string;
  /** OAuth token endpoint; undefined for a custom API URL without JUMPCLOUD_TOKEN_URL (keys still work). */
  tokenUrl: string | undefined;
  credentials: JumpcloudCredentials;
  orgIds: string[];
  services: string[];
  timeoutMs: number;
}

/**
 * Reads JUMPCLOUD_API_URL (URL or `us`/`eu`/`in`), JUMPCLOUD_TOKEN_URL, JUMPCLOUD_API_KEY or
 * JUMPCLOUD_CLIENT_ID + JUMPCLOUD_CLIENT_SECRET, JUMPCLOUD_ORG_IDS, JUMPCLOUD_SERVICES and
 * JUMPCLOUD_TIMEOUT; problems are collected, not thrown.
 */
export function readJumpcloudConfig(env: Environment, problems: string[]): JumpcloudConfig {
  const apiUrl = resolveApiUrl(env.JUMPCLOUD_API_URL, problems);
  const tokenUrl = env.JUMPCLOUD_TOKEN_URL?.trim()
    ? checkServiceUrl("JUMPCLOUD_TOKEN_URL", env.JUMPCLOUD_TOKEN_URL.trim(), problems)
    : tokenUrlFor(apiUrl);

  const apiKey = env.JUMPCLOUD_API_KEY?.trim();
  const clientId = env.JUMPCLOUD_CLIENT_ID?.trim();
  const clientSecret = env.JUMPCLOUD_CLIENT_SECRET?.trim();
  let credentials: JumpcloudCredentials = { kind: "none" };
  if (apiKey && (clientId || clientSecret)) {
    problems.push("set JUMPCLOUD_API_KEY or JUMPCLOUD_CLIENT_ID + JUMPCLOUD_CLIENT_SECRET, not both");
  } else if (apiKey) {
    credentials = { kind: "apiKey", apiKey };
  } else if (clientId && clientSecret) {
    credentials = { kind: "oauth", clientId, clientSecret };
    if (tokenUrl === undefined) {
      problems.push(
        "JUMPCLOUD_TOKEN_URL is required with service account credentials and a custom JUMPCLOUD_API_URL",
      );
    }
  } else if (clientId || clientSecret) {
    problems.push("JUMPCLOUD_CLIENT_ID and JUMPCLOUD_CLIENT_SECRET go together");
  }

  const services = readList(env, "JUMPCLOUD_SERVICES", ["all"]);
  try {
    checkServices(services);
  } catch (error) {
    problems.push(...(error as ConfigurationError).problems);
  }

  return {
    apiUrl,
    tokenUrl,
    credentials,
    orgIds: readList(env, "JUMPCLOUD_ORG_IDS", []),
    services,
    timeoutMs: readTimeout(env, problems),
  };
}

function readTimeout(env: Environment, problems: string[]): number {
  const ms = readDuration(env, "JUMPCLOUD_TIMEOUT", 30_000, problems);
  if (ms < 1_000 || ms > 600_000) {
    problems.push("JUMPCLOUD_TIMEOUT must be from 1s to 10m");
    return 30_000;
  }
  return ms;
}

/** Reads the settings or throws one ConfigurationError naming every problem. */
export function loadJumpcloudConfig(env: Environment): JumpcloudConfig {
  const problems: string[] = [];
  const config = readJumpcloudConfig(env, problems);
  if (problems.length > 0) throw new ConfigurationError(problems);
  return config;
}
