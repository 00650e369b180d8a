import { PACKAGE } from "../ecs/rules.ts";
import { KibanaUnavailableError } from "../errors.ts";
import type { KibanaAnswer, KibanaClient } from "./client.ts";
import { kibanaMessage } from "./client.ts";

/** The integration version the documents match field for field (docs/design.md): installed unless asked otherwise. */
export const INTEGRATION_VERSION = "1.22.0";

/** Kibana versions the pinned integration version installs on (its manifest's `conditions.kibana.version`). */
export const INTEGRATION_KIBANA = "^8.19.2 || ^9.0.5";

/** True when Fleet can install the pinned integration version on Kibana `version`. */
export function integrationSupports(version: string): boolean {
  const [major] = version.split(".").map(Number);
  if (major === 8) return compareVersions(version, "8.19.2") >= 0;
  return major === 9 && compareVersions(version, "9.0.5") >= 0;
}

/** The id of the integration's dashboard ("[JumpCloud] Directory Insights Summary"). */
export const DASHBOARD_ID = "jumpcloud-fe780080-94a7-11ed-9170-e9f90db17dfc";

/** Which version `setup --kibana` installs: the pinned one, one named, or the registry's latest. */
export type IntegrationChoice = { version: string } | { latest: true };

/** What installing the integration's assets did. */
export type IntegrationResult =
  | {
      action: "installed" | "upgraded" | "unchanged" | "newer-left-alone";
      version: string;
      /** The version installed before, when there was one. */
      previous?: string;
      dashboard: { id: string; url: string; present: boolean };
    }
  | { action: "unavailable"; reason: string };

interface PackageInfo {
  item?: {
    version?: string;
    latestVersion?: string;
    status?: string;
    installationInfo?: { version?: string; install_status?: string };
    savedObject?: { attributes?: { version?: string; install_status?: string } };
  };
  response?: PackageInfo["item"];
}

const PACKAGE_PATH = `/api/fleet/epm/packages/${PACKAGE}`;
const INSTALL_TIMEOUT_MS = 180_000;

// Fleet's package info carries the installed version in installationInfo (8.8+) or, before, in
// the package's saved object; `status` says whether any version is installed.
function installedVersion(info: PackageInfo): string | undefined {
  const item = info.item ?? info.response;
  if (item?.status !== "installed") return undefined;
  return item.installationInfo?.version ?? item.savedObject?.attributes?.version ?? item.version;
}

/** Compares dotted versions numerically (1.10.0 > 1.9.2); prerelease suffixes are ignored. */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) => v.split("-")[0]?.split(".").map(Number) ?? [];
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

// Fleet missing, refused or without its registry: one line saying which, and the rules go on.
function unavailable(answer: KibanaAnswer, what: string): IntegrationResult {
  const message = kibanaMessage(answer);
  if (answer.status === 403)
    return {
      action: "unavailable",
      reason: `Fleet refused ${what} (403: ${message}): the key needs Kibana's Fleet and Integrations "all" privileges`,
    };
  if (answer.status === 404 && !/not found|registry/i.test(message))
    return { action: "unavailable", reason: `Fleet is not available in this Kibana (404: ${message})` };
  // An unreachable registry reads as "not found in registry" (404) or a 502 "Error connecting".
  const registry = answer.status >= 500 || /registry/i.test(message);
  return {
    action: "unavailable",
    reason: `Fleet could not ${what} (${answer.status}: ${message})${registry ? ": is its package registry reachable from Kibana (air-gapped: a local registry in xpack.fleet.registryUrl)?" : ""}`,
  };
}

async function targetVersion(
  client: KibanaClient,
  choice: IntegrationChoice,
): Promise<string | KibanaAnswer> {
  if ("version" in choice) return choice.version;
  const answer = await client.request<PackageInfo>("GET", PACKAGE_PATH, { query: { prerelease: false } });
  // With a version installed, `version` is that one; the registry's newest is `latestVersion`.
  const item = answer.body?.item ?? answer.body?.response;
  const version = item?.latestVersion ?? item?.version;
  return answer.status === 200 && version ? version : answer;
}

async function olderThanLatest(client: KibanaClient, version: string): Promise<boolean> {
  const latest = await targetVersion(client, { latest: true });
  return typeof latest === "string" && compareVersions(version, latest) < 0;
}

/** Where the dashboard is, and whether Kibana has it. */
async function dashboard(client: KibanaClient): Promise<{ id: string; url: string; present: boolean }> {
  const answer = await client.request("GET", `/api/saved_objects/dashboard/${DASHBOARD_ID}`);
  if (answer.status !== 200 && answer.status !== 404) throw client.refusal("reading the dashboard", answer);
  return {
    id: DASHBOARD_ID,
    url: client.spaceUrl(`/app/dashboards#/view/${DASHBOARD_ID}`),
    present: answer.status === 200,
  };
}

/**
 * Installs Elastic's JumpCloud integration's assets through Fleet's package API (index template,
 * ingest pipeline, dashboard: no agent policy, no agent), the version explicit; never forced, never
 * downgraded. Fleet refusing or unreachable is a result, not an error: the rules go on without it.
 */
export async function installIntegration(
  client: KibanaClient,
  choice: IntegrationChoice = { version: INTEGRATION_VERSION },
): Promise<IntegrationResult> {
  const version = await targetVersion(client, choice);
  if (typeof version !== "string") return unavailable(version, "read the latest jumpcloud package");
  const info = await client.request<PackageInfo>("GET", `${PACKAGE_PATH}/${version}`);
  if (info.status === 404 && /not found/i.test(kibanaMessage(info)) && "version" in choice)
    return {
      action: "unavailable",
      reason: `Fleet has no jumpcloud ${version} (404: ${kibanaMessage(info)}): check --integration-version, or its package registry`,
    };
  if (info.status !== 200) return unavailable(info, `find jumpcloud ${version}`);
  const previous = installedVersion(info.body ?? {});
  const done = async (action: Exclude<IntegrationResult["action"], "unavailable">, installed: string) => ({
    action,
    version: installed,
    ...(previous !== undefined && { previous }),
    dashboard: await dashboard(client),
  });
  if (previous === version) return done("unchanged", version);
  // A newer integration someone installed stays: Fleet would refuse the downgrade anyway.
  if (previous !== undefined && compareVersions(previous, version) > 0)
    return done("newer-left-alone", previous);
  // Fleet refuses a version older than the registry's newest unless forced, even on a first
  // install: the pinned one needs it then. Never when it is installed (see above): no reinstall.
  const force = "version" in choice && (await olderThanLatest(client, version));
  // Kibana answers once it has fetched and installed the package: a minute is usual.
  let install: KibanaAnswer;
  try {
    install = await client.request("POST", `${PACKAGE_PATH}/${version}`, {
      json: { force },
      timeoutMs: INSTALL_TIMEOUT_MS,
      // Sent once: Fleet goes on installing after a timeout, and a second request would only wait again.
      maxAttempts: 1,
    });
  } catch (error) {
    if (!(error instanceof KibanaUnavailableError)) throw error;
    return {
      action: "unavailable",
      reason: `Fleet did not answer the install of jumpcloud ${version} in time (${error.message}): it may still be installing; run setup --kibana again in a few minutes`,
    };
  }
  if (install.status !== 200) return unavailable(install, `install jumpcloud ${version}`);
  return done(previous === undefined ? "installed" : "upgraded", version);
}
