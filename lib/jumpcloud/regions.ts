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
 * The problem with an API or token URL, or `undefined`: HTTPS, or plain HTTP only on loopback
 * (simulators), so a key is never sent in clear over a network. Problems name the origin only:
 * a URL's user info or query may hold a credential.
 */
export function serviceUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "must be a URL";
  }
  if (url.username || url.password) return "must not carry credentials";
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK.has(url.hostname))) {
    return `must use https (plain http is accepted only on localhost), got ${url.protocol}//${url.host}`;
  }
  return undefined;
}

/** Checks a URL (see serviceUrlProblem), recording a problem named `name`; returns it without a trailing slash. */
export function checkServiceUrl(name: string, value: string, problems: string[]): string {
  const problem = serviceUrlProblem(value);
  if (problem) problems.push(`${name} ${problem}`);
  return value.replace(/\/+$/, "");
}

/** A region name's API base URL, or `undefined` when `value` is not a region name. */
export function regionApiUrl(value: string): string | undefined {
  return REGIONS[value.trim().toLowerCase() as Region]?.apiUrl;
}

/** Resolves a region name or URL into the API base URL; problems are collected. */
export function resolveApiUrl(value: string | undefined, problems: string[]): string {
  if (value === undefined || value.trim() === "") return REGIONS.us.apiUrl;
  return regionApiUrl(value) ?? checkServiceUrl("JUMPCLOUD_API_URL", value.trim(), problems);
}

/**
 * The token endpoint that belongs with an API URL (same region), for OAuth service accounts;
 * `undefined` for other URLs, so credentials never go to a guessed region's endpoint.
 */
export function tokenUrlFor(apiUrl: string): string | undefined {
  for (const region of Object.values(REGIONS)) if (region.apiUrl === apiUrl) return region.tokenUrl;
  return undefined;
}

/** What the API would refuse in a service list for certain: none at all, or `all` mixed with names. */
export function serviceListProblem(services: readonly string[]): string | undefined {
  if (services.length === 0) return "needs at least one service (or `all`)";
  if (services.includes("all") && services.length > 1) return "cannot combine `all` with named services";
  return undefined;
}

/**
 * Services this project does not know. JumpCloud adds services over time, so they are a warning
 * and still sent: the API's own answer decides.
 */
export function unknownServices(services: readonly string[]): string[] {
  return services.filter((s) => !(KNOWN_SERVICES as readonly string[]).includes(s));
}
