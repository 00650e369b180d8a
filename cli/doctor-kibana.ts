import type { AwsClients } from "../lib/compose/aws.ts";
import { createKibanaClient } from "../lib/compose/kibana.ts";
import { ConfigurationError, KibanaRequestError, KibanaUnavailableError } from "../lib/errors.ts";
import { raceAbort } from "../lib/jumpcloud/http.ts";
import type { KibanaClient } from "../lib/kibana/client.ts";
import { storedAsWanted, storedRules } from "../lib/kibana/detection-rules.ts";
import {
  compareVersions,
  DASHBOARD_ID,
  INTEGRATION_KIBANA,
  integrationSupports,
} from "../lib/kibana/fleet.ts";
import { rulePack } from "../lib/kibana/rule-pack.ts";
import { kibanaVersion, RULES_KIBANA } from "../lib/kibana/setup.ts";
import type { ParsedSettings } from "../lib/settings/load.ts";
import { type Check, fail, pass, skip, warn } from "./doctor-checks.ts";
import { cliHttp } from "./proxy.ts";

/** The checklist lines of the Kibana group, in order. */
export const KIBANA_CHECKS = {
  kibana: "Kibana",
  privileges: "Kibana privileges",
  content: "Dashboard and rules",
};

const RUN_SETUP = "run `setup --kibana` (npm run cli -- setup --kibana)";

interface KibanaContext {
  loaded: ParsedSettings;
  aws: AwsClients;
  signal: AbortSignal;
  /** Per request, and its retry policy: the doctor's own bounds. */
  timeoutMs: number;
  retry: { maxAttempts: number; baseDelayMs: number; maxDelayMs: number; maxElapsedMs: number };
}

function failure(error: unknown): Check {
  if (error instanceof ConfigurationError) return fail(KIBANA_CHECKS.kibana, error.problems.join("; "));
  if (error instanceof KibanaRequestError || error instanceof KibanaUnavailableError)
    return fail(
      KIBANA_CHECKS.kibana,
      error.message,
      error instanceof KibanaUnavailableError
        ? "check KIBANA_URL and that it is reachable from here (proxy, firewall)"
        : undefined,
    );
  if (error instanceof DOMException && error.name === "TimeoutError")
    return fail(KIBANA_CHECKS.kibana, "no answer within the doctor's time budget", "check KIBANA_URL");
  return fail(
    KIBANA_CHECKS.kibana,
    `unexpected error: ${error instanceof Error ? error.message : String(error)}`,
  );
}

function versionCheck(client: KibanaClient, version: string): Check {
  const where = `${version} at ${client.spaceUrl("")}`;
  if (compareVersions(version, RULES_KIBANA) < 0)
    return fail(
      KIBANA_CHECKS.kibana,
      where,
      `the detection rules need Kibana ${RULES_KIBANA} or later (new terms on two fields)`,
    );
  if (!integrationSupports(version))
    return warn(
      KIBANA_CHECKS.kibana,
      where,
      `Fleet installs the jumpcloud integration (the dashboard) on Kibana ${INTEGRATION_KIBANA}: the rules install, the dashboard does not`,
    );
  return pass(KIBANA_CHECKS.kibana, where);
}

// What each step of `setup --kibana` needs, asked of Kibana itself (the key may not be the cluster's).
async function privilegesCheck(client: KibanaClient): Promise<Check> {
  const missing: string[] = [];
  const fleet = await client.request<{ success?: boolean; error?: string }>(
    "GET",
    "/api/fleet/check-permissions",
  );
  if (fleet.status !== 200 || fleet.body?.success !== true)
    missing.push(
      `Fleet (${fleet.body?.error ?? `status ${fleet.status}`}): the dashboard needs Fleet and Integrations "all"`,
    );
  const rules = await client.request("GET", "/api/detection_engine/privileges");
  if (rules.status !== 200)
    missing.push(
      `Security rules (status ${rules.status}): the rules need the Security feature "all" (Rules and Alerts)`,
    );
  if (missing.length === 0) return pass(KIBANA_CHECKS.privileges, "Fleet and Security rules");
  return warn(
    KIBANA_CHECKS.privileges,
    missing.join("; "),
    "grant them to the key's role, in the space used",
  );
}

async function contentCheck(client: KibanaClient): Promise<Check> {
  const dashboard = await client.request("GET", `/api/saved_objects/dashboard/${DASHBOARD_ID}`);
  const rules = rulePack();
  let stored: Awaited<ReturnType<typeof storedRules>>;
  try {
    stored = await storedRules(
      client,
      rules.map((r) => r.rule_id),
    );
  } catch (error) {
    return warn(KIBANA_CHECKS.content, `rules cannot be read: ${(error as Error).message}`);
  }
  const current = rules.filter((r) => {
    const s = stored.get(r.rule_id);
    return s !== undefined && storedAsWanted(s, { ...r, enabled: s.enabled === true });
  }).length;
  const enabled = [...stored.values()].filter((r) => r.enabled === true).length;
  const parts = [
    dashboard.status === 200 ? "dashboard installed" : "no dashboard",
    `${current} of ${rules.length} rules current (${stored.size - current} outdated, ${rules.length - stored.size} missing; ${enabled} enabled)`,
  ];
  const complete = dashboard.status === 200 && current === rules.length;
  return complete
    ? pass(KIBANA_CHECKS.content, parts.join(", "))
    : warn(KIBANA_CHECKS.content, parts.join(", "), RUN_SETUP);
}

/** The Kibana group: reachable with a usable version, the privileges `setup --kibana` needs, what is installed. */
export async function kibanaChecks(ctx: KibanaContext): Promise<Check[]> {
  const { settings } = ctx.loaded;
  if (settings.kibanaUrl === undefined && settings.elasticsearchCloudId === undefined) {
    return [skip(KIBANA_CHECKS.kibana, "no KIBANA_URL: only `setup --kibana` uses Kibana")];
  }
  const rest = (why: string) => [skip(KIBANA_CHECKS.privileges, why), skip(KIBANA_CHECKS.content, why)];
  try {
    const client = await raceAbort(
      (async () =>
        createKibanaClient(settings, ctx.aws, {
          ...(await cliHttp(settings)),
          http: { timeoutMs: ctx.timeoutMs, retry: ctx.retry },
        }))(),
      ctx.signal,
    );
    const version = versionCheck(client, await raceAbort(kibanaVersion(client), ctx.signal));
    if (version.status === "fail") return [version, ...rest("fix Kibana first")];
    return [
      version,
      await raceAbort(privilegesCheck(client), ctx.signal),
      await raceAbort(contentCheck(client), ctx.signal),
    ];
  } catch (error) {
    return [failure(error), ...rest("fix the connection first")];
  }
}
