import { ConfigurationError } from "../errors.ts";

/** JumpCloud's data regions: Directory Insights base URL and OAuth token endpoint of each. */
export const REGIONS = {
  us: {
    apiUrl: "https://api.jumpcloud.com/insights/directory/v1",
    tokenUrl: "https://admin-oauth.id.jumpcloud.com/oauth2/token",
  },
  eu: {
    apiUrl: "https://api.eu.jumpcloud.com/insights/directory/v1",
    tokenUrl: "https://admin-oauth.id.eu.jumpcloud.com/oauth2/token",
  },
  in: {
    apiUrl: "https://api.in.jumpcloud.com/insights/directory/v1",
    tokenUrl: "https://admin-oauth.id.in.jumpcloud.com/oauth2/token",
  },
} as const;

/** A region preset name. */
export type Region = keyof typeof REGIONS;

/** Directory Insights services the API knows (`all` means every one). */
export const KNOWN_SERVICES = [
  "all",
  "alerts",
  "directory",
  "ldap",
  "mdm",
  "notifications",
  "object_storage",
  "password_manager",
  "radius",
  "reports",
  "saas_app_management",
  "software",
  "sso",
  "systems",
  "access_management",
  "asset_management",
] as const;

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * Checks an API or token URL: HTTPS, or plain HTTP only on loopback (simulators), so a key is
 * never sent in clear over a network. Returns the URL without a trailing slash.
 */
export function checkServiceUrl(name: string, value: string, problems: string[]): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(`${name} is not a URL`);
    return value;
  }
  // Problems name the origin only: a URL's user info or query may hold a credential.
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK.has(url.hostname))) {
    problems.push(
      `${name} must use https (plain http is accepted only on localhost), got ${url.protocol}//${url.host}`,
    );
  }
  if (url.username || url.password) problems.push(`${name} must not carry credentials`);
  return value.replace(/\/+$/, "");
}

/** Resolves a region name or URL into the API base URL; problems are collected. */
export function resolveApiUrl(value: string | undefined, problems: string[]): string {
  if (value === undefined || value.trim() === "") return REGIONS.us.apiUrl;
  const preset = REGIONS[value.trim().toLowerCase() as Region];
  if (preset) return preset.apiUrl;
  return checkServiceUrl("JUMPCLOUD_API_URL", value.trim(), problems);
}

/**
 * The token endpoint that belongs with an API URL (same region), for OAuth service accounts;
 * `undefined` for other URLs, so credentials never go to a guessed region's endpoint.
 */
export function tokenUrlFor(apiUrl: string): string | undefined {
  for (const region of Object.values(REGIONS)) if (region.apiUrl === apiUrl) return region.tokenUrl;
  return undefined;
}

/** Validates a service list the way the API does; throws ConfigurationError naming the problem. */
export function checkServices(services: readonly string[]): string[] {
  const problems: string[] = [];
  if (services.length === 0) problems.push("at least one service is needed (or `all`)");
  const unknown = services.filter((s) => !(KNOWN_SERVICES as readonly string[]).includes(s));
  if (unknown.length > 0)
    problems.push(`unknown service(s): ${unknown.join(", ")} (known: ${KNOWN_SERVICES.join(", ")})`);
  if (services.includes("all") && services.length > 1)
    problems.push("`all` cannot be combined with named services");
  if (problems.length > 0) throw new ConfigurationError(problems.map((p) => `JUMPCLOUD_SERVICES: ${p}`));
  return [...services];
}
