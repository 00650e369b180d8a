import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { type Client, errors } from "@elastic/elasticsearch";
import { Command } from "commander";
import pLimit from "p-limit";
import type { Checkpoint } from "../lib/collect/checkpoint.ts";
import { type AwsClients, awsClients } from "../lib/compose/aws.ts";
import { createCheckpointStore, orgsToCollect } from "../lib/compose/collect.ts";
import { createElasticsearchClient, hasCluster } from "../lib/compose/elasticsearch.ts";
import { createEventSource } from "../lib/compose/jumpcloud.ts";
import { openGeoIp } from "../lib/compose/pipeline.ts";
import { formatDuration } from "../lib/duration.ts";
import { describeDatabase, STALE_DATABASE_DAYS } from "../lib/ecs/geo.ts";
import { DATA_STREAM_TYPE, DATASET } from "../lib/ecs/rules.ts";
import { describeElasticsearchError } from "../lib/elasticsearch/client.ts";
import { clusterGeoIp, clusterGeoIpText, pipelineStatus } from "../lib/elasticsearch/ingest-pipeline.ts";
import {
  INTEGRATION_TEMPLATE_NAME,
  integrationInstalled,
  TEMPLATE_NAME,
  templateStatus,
} from "../lib/elasticsearch/template.ts";
import {
  ConfigurationError,
  JumpcloudApiError,
  JumpcloudAuthenticationError,
  JumpcloudBadRequestError,
  JumpcloudElasticError,
  JumpcloudForbiddenError,
  JumpcloudPaymentRequiredError,
  JumpcloudUnavailableError,
} from "../lib/errors.ts";
import { proxyFor, shownProxy } from "../lib/http/proxy.ts";
import { raceAbort } from "../lib/jumpcloud/http.ts";
import type { Logger } from "../lib/logger.ts";
import { type GeoIpMode, geoIpMode } from "../lib/settings/geoip-mode.ts";
import { type LoadedSettings, type ParsedSettings, parseSettings } from "../lib/settings/load.ts";
import type { SettingName, Settings } from "../lib/settings/schema.ts";
import { type Check, type CheckStatus, fail, pass, skip, warn } from "./doctor-checks.ts";
import { KIBANA_CHECKS, kibanaChecks } from "./doctor-kibana.ts";
import { cliLogger, emit } from "./output.ts";
import { cliHttp } from "./proxy.ts";
import { type CliSeams, SETTING_GROUPS } from "./settings.ts";

export type { Check, CheckStatus } from "./doctor-checks.ts";

/** Some check failed: the checklist is printed, then this makes the exit status 1. */
export class DoctorChecksFailedError extends JumpcloudElasticError {}

// The whole doctor must end in about half a minute on an unreachable host, whatever the settings
// say: every check group shares this budget, every request gets at most REQUEST_MS.
const BUDGET_MS = 25_000;
const REQUEST_MS = 10_000;
const DOCTOR_RETRY = { maxAttempts: 2, baseDelayMs: 250, maxDelayMs: 1_000, maxElapsedMs: REQUEST_MS };
const HOUR = 3_600_000;

/** What every check group gets. */
interface Context {
  loaded: ParsedSettings;
  aws: AwsClients;
  logger: Logger;
  signal: AbortSignal;
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));
// The budget's own abort reason (AbortSignal.timeout), not a client's timeout error of the same name.
const timedOut = (error: unknown) => error instanceof DOMException && error.name === "TimeoutError";
// TLS failures are reached hosts whose certificate is wrong: a different fix from "unreachable".
const CERTIFICATE = /CERT|certificate|altnames|self[- ]signed/i;
const BUDGET_TEXT = `no answer within ${formatDuration(BUDGET_MS)}`;

/** `1234567` as `1 234 567`. */
function groupDigits(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, " ");
}

// ---------------------------------------------------------------------------------------------
// Configuration

// Settings each group needs. A problem names the variable (or flag) to fix, so a group whose
// variables a problem names cannot be checked meaningfully: it is skipped, not failed twice.
const GROUPS = {
  jumpcloud: [...SETTING_GROUPS.jumpcloud, "orgConcurrency"],
  elasticsearch: SETTING_GROUPS.elasticsearch,
  geoip: SETTING_GROUPS.geoip,
  checkpoints: SETTING_GROUPS.checkpoints,
  kibana: [...SETTING_GROUPS.kibana, "elasticsearchCloudId", "elasticsearchApiKey", "elasticsearchSecretArn"],
} as const satisfies Record<string, readonly SettingName[]>;

type Group = keyof typeof GROUPS;
const FIX_CONFIGURATION = "fix configuration first";

function names(text: string, variable: string): boolean {
  const escaped = variable.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|[^A-Za-z0-9_-])${escaped}([^A-Za-z0-9_-]|$)`).test(text);
}

function blocked(loaded: ParsedSettings, group: Group): boolean {
  return loaded.problems.some((p) => GROUPS[group].some((name) => names(p, loaded.sourceOf(name))));
}

function jumpcloudCredentialSource(loaded: LoadedSettings): string {
  const { settings, sourceOf } = loaded;
  if (settings.jumpcloudApiKey !== undefined) return sourceOf("jumpcloudApiKey");
  if (settings.jumpcloudClientId !== undefined)
    return `${sourceOf("jumpcloudClientId")} and ${sourceOf("jumpcloudClientSecret")}`;
  if (settings.jumpcloudSecretArn !== undefined) return `the secret ${sourceOf("jumpcloudSecretArn")} names`;
  return "JUMPCLOUD_API_KEY";
}

function configurationChecks(loaded: ParsedSettings): Check[] {
  const name = "Configuration";
  if (loaded.problems.length > 0) return loaded.problems.map((problem) => fail(name, problem));
  if (loaded.warnings.length > 0) return loaded.warnings.map((warning) => warn(name, warning));
  const proxy = proxyRoutes(loaded.settings);
  return [
    pass(
      name,
      `valid (JumpCloud credentials: ${jumpcloudCredentialSource(loaded)}${proxy ? `; ${proxy}` : ""})`,
    ),
  ];
}

// Where each service's traffic goes, once a proxy is set: the first thing to know when one is unreachable.
function proxyRoutes(settings: Settings): string | undefined {
  if (settings.httpsProxy === undefined && settings.httpProxy === undefined) return undefined;
  const route = (what: string, url: string | undefined) => {
    if (url === undefined) return [];
    const proxy = proxyFor(url, settings);
    return [
      `${what} ${proxy ? `via proxy ${shownProxy(proxy)}` : "direct (NO_PROXY or no proxy for its scheme)"}`,
    ];
  };
  return [
    ...route("JumpCloud", settings.jumpcloudApiUrl),
    ...route("Elasticsearch", settings.elasticsearchUrl),
  ].join(", ");
}

// ---------------------------------------------------------------------------------------------
// JumpCloud

type Counted = { ok: true; count: number } | { ok: false; error: unknown };

const jumpcloudName = (org: string | undefined) => (org === undefined ? "JumpCloud" : `JumpCloud org ${org}`);
const refused = (error: unknown) =>
  error instanceof JumpcloudAuthenticationError || error instanceof JumpcloudForbiddenError;
const unreachable = (error: unknown) =>
  timedOut(error) || (error instanceof JumpcloudUnavailableError && error.status === undefined);

function apiFacts(error: JumpcloudApiError): string {
  return `status ${error.status}${error.apiMessage ? `: ${error.apiMessage}` : ""}`;
}

/** The line for a refused org: whose fault it is depends on whether any other org was readable. */
function refusalCheck(ctx: Context, org: string | undefined, error: JumpcloudApiError, anyReadable: boolean) {
  const credentials = jumpcloudCredentialSource(ctx.loaded);
  const name = jumpcloudName(org);
  const orgSource = ctx.loaded.sourceOf("jumpcloudOrgIds");
  if (org !== undefined && anyReadable) {
    return fail(
      name,
      `the credentials may not read org ${org} (${apiFacts(error)})`,
      `give the key access to org ${org}, or remove it from ${orgSource}`,
    );
  }
  const what =
    error instanceof JumpcloudForbiddenError
      ? "the credentials may not read Directory Insights"
      : "the credentials were refused";
  const scope = org === undefined ? "" : `, and that they may read org ${org} (${orgSource})`;
  const action =
    error instanceof JumpcloudForbiddenError
      ? `use credentials of an administrator with Directory Insights access (${credentials})${scope}`
      : `check ${credentials}${scope}`;
  return fail(name, `${what} (${apiFacts(error)})`, action);
}

function jumpcloudFailure(
  ctx: Context,
  org: string | undefined,
  error: unknown,
  anyReadable: boolean,
): Check {
  const name = jumpcloudName(org);
  const { settings, sourceOf } = ctx.loaded;
  const apiHost = new URL(settings.jumpcloudApiUrl).host;
  if (refused(error)) return refusalCheck(ctx, org, error as JumpcloudApiError, anyReadable);
  if (error instanceof ConfigurationError) return fail(name, error.problems.join("; "));
  if (unreachable(error)) {
    // The message names the host that failed: the token endpoint's, or the API's.
    const host = /reaching (\S+)/.exec(errorText(error))?.[1] ?? apiHost;
    const detail = timedOut(error) ? `${BUDGET_TEXT} from ${apiHost}` : errorText(error);
    const fix = CERTIFICATE.test(detail)
      ? `the TLS certificate of ${host} is not valid for it: check ${sourceOf("jumpcloudApiUrl")} (or a proxy in the way)`
      : `check that ${host} is reachable from here (${sourceOf("jumpcloudApiUrl")}, proxy, firewall)`;
    return fail(name, detail, fix);
  }
  if (error instanceof JumpcloudUnavailableError)
    return fail(name, errorText(error), `JumpCloud (${apiHost}) is in trouble: try again later`);
  if (error instanceof JumpcloudPaymentRequiredError)
    return fail(name, errorText(error), "the organization's JumpCloud plan must include Directory Insights");
  if (error instanceof JumpcloudBadRequestError) return badRequestCheck(ctx, name, error);
  if (error instanceof JumpcloudApiError)
    return fail(name, errorText(error), `check ${sourceOf("jumpcloudApiUrl")} (${settings.jumpcloudApiUrl})`);
  return fail(name, errorText(error));
}

// An MSP key without an org, or a service the API does not know: the API's message tells which.
function badRequestCheck(ctx: Context, name: string, error: JumpcloudBadRequestError): Check {
  const { sourceOf } = ctx.loaded;
  const message = error.apiMessage ?? "";
  if (/x-org-id/i.test(message))
    return fail(
      name,
      errorText(error),
      `set ${sourceOf("jumpcloudOrgIds")}: this (MSP) key must name the orgs to read`,
    );
  if (/service/i.test(message)) return fail(name, errorText(error), `check ${sourceOf("jumpcloudServices")}`);
  return fail(name, errorText(error));
}

async function countOrgs(ctx: Context, orgs: (string | undefined)[]): Promise<Counted[]> {
  const { settings } = ctx.loaded;
  const source = await raceAbort(
    createEventSource(settings, {
      aws: ctx.aws,
      logger: ctx.logger,
      http: {
        timeoutMs: Math.min(settings.jumpcloudTimeout, REQUEST_MS),
        retry: DOCTOR_RETRY,
        ...(await cliHttp(settings)),
      },
    }),
    ctx.signal,
  );
  const end = new Date();
  const start = new Date(end.getTime() - HOUR);
  const count = (orgId: string | undefined): Promise<Counted> =>
    source
      .count(
        { services: settings.jumpcloudServices, start, end, ...(orgId !== undefined && { orgId }) },
        ctx.signal,
      )
      .then(
        (n) => ({ ok: true as const, count: n }),
        (error: unknown) => ({ ok: false as const, error }),
      );
  // One request first: when the host is unreachable, asking again per org only repeats it.
  const [first, ...rest] = orgs;
  const firstResult = await count(first);
  if (!firstResult.ok && unreachable(firstResult.error)) return [firstResult];
  const limit = pLimit(settings.orgConcurrency);
  return [firstResult, ...(await Promise.all(rest.map((org) => limit(() => count(org)))))];
}

async function jumpcloudChecks(ctx: Context): Promise<Check[]> {
  const orgs = orgsToCollect(ctx.loaded.settings);
  let results: Counted[];
  try {
    results = await countOrgs(ctx, orgs);
  } catch (error) {
    return [jumpcloudFailure(ctx, undefined, error, false)];
  }
  const anyReadable = results.some((r) => r.ok);
  return orgs.map((org, i) => {
    const result = results[i];
    if (result === undefined) return skip(jumpcloudName(org), "JumpCloud is unreachable");
    if (!result.ok) return jumpcloudFailure(ctx, org, result.error, anyReadable);
    const scope = org === undefined ? "the key's own org" : `org ${org}`;
    return pass(jumpcloudName(org), `${groupDigits(result.count)} events in the last hour (${scope})`);
  });
}

// ---------------------------------------------------------------------------------------------
// Elasticsearch

const ES = {
  cluster: "Elasticsearch",
  privileges: "Elasticsearch privileges",
  template: "Index template",
  pipeline: "Ingest pipeline",
} as const;
const INDEX_PRIVILEGES = ["create_doc", "auto_configure"] as const;
// Looking re-read events up across backing indices (LOOKUP_EXISTING) needs it; without it, only duplicates.
const LOOKUP_PRIVILEGE = "read";
const CLUSTER_PRIVILEGES = ["monitor", "manage_index_templates", "manage_pipeline"] as const;

interface EsContext extends Context {
  client: Client;
  host: string;
  options: { signal: AbortSignal };
}

function elasticsearchCredentialFix(loaded: LoadedSettings): string {
  const { settings, sourceOf } = loaded;
  if (settings.elasticsearchApiKey !== undefined) return `check ${sourceOf("elasticsearchApiKey")}`;
  if (settings.elasticsearchUsername !== undefined)
    return `check ${sourceOf("elasticsearchUsername")} and ${sourceOf("elasticsearchPassword")}`;
  if (settings.elasticsearchSecretArn !== undefined)
    return `check the credentials in the secret ${sourceOf("elasticsearchSecretArn")} names`;
  return "the cluster wants credentials: set ELASTICSEARCH_API_KEY (or ELASTICSEARCH_USERNAME and ELASTICSEARCH_PASSWORD)";
}

function elasticsearchFailure(ctx: Context, name: string, host: string, error: unknown): Check {
  const where =
    ctx.loaded.settings.elasticsearchUrl !== undefined
      ? ctx.loaded.sourceOf("elasticsearchUrl")
      : "the cluster's address";
  if (error instanceof ConfigurationError) return fail(name, error.problems.join("; "));
  if (error instanceof errors.ResponseError && error.statusCode === 401)
    return fail(
      name,
      `credentials refused (${describeElasticsearchError(error)})`,
      elasticsearchCredentialFix(ctx.loaded),
    );
  if (timedOut(error) || ctx.signal.aborted)
    return fail(name, `${BUDGET_TEXT} from ${host}`, `check that ${host} is reachable from here (${where})`);
  if (
    error instanceof errors.ConnectionError ||
    error instanceof errors.TimeoutError ||
    error instanceof errors.RequestAbortedError
  ) {
    const described = describeElasticsearchError(error);
    const fix = CERTIFICATE.test(described)
      ? `the certificate of ${host} is not trusted for that name: set ELASTICSEARCH_CA_CERT, or use the host name the certificate names`
      : `check that ${host} is reachable from here (${where}, proxy, firewall)`;
    return fail(name, `cannot reach ${host} (${described})`, fix);
  }
  if (error instanceof errors.ProductNotSupportedError)
    return fail(name, `${host} does not answer as Elasticsearch`, `check ${where}`);
  return fail(name, `${describeElasticsearchError(error)} at ${host}`);
}

async function versionCheck(ctx: EsContext): Promise<Check> {
  let number: string;
  try {
    number = (await ctx.client.info({}, ctx.options)).version.number;
  } catch (error) {
    if (error instanceof errors.ResponseError && error.statusCode === 403) {
      return warn(
        ES.cluster,
        `reached ${ctx.host}, credentials accepted, but they may not read the version (${describeElasticsearchError(error)})`,
        "grant the `monitor` cluster privilege to check it (collecting does not need it)",
      );
    }
    return elasticsearchFailure(ctx, ES.cluster, ctx.host, error);
  }
  const major = Number.parseInt(number, 10);
  if (major < 8) {
    return fail(
      ES.cluster,
      `Elasticsearch ${number} at ${ctx.host} is not supported`,
      "upgrade the cluster to 8.x or 9.x (the client speaks the 8.x API)",
    );
  }
  if (major > 9)
    return warn(ES.cluster, `Elasticsearch ${number} at ${ctx.host}: untested (8.x and 9.x are supported)`);
  return pass(ES.cluster, `${number} at ${ctx.host}`);
}

// A cluster without security answers `_security` APIs with 500 (or 400 without the plugin).
function securityOff(error: unknown): boolean {
  return (
    error instanceof errors.ResponseError &&
    (error.statusCode === 500 || error.statusCode === 400) &&
    /Security must be explicitly enabled|no handler found|security is not enabled/i.test(
      JSON.stringify(error.body ?? ""),
    )
  );
}

async function privilegesCheck(ctx: EsContext, dataStream: string): Promise<Check> {
  let answer: { cluster: Record<string, boolean>; index: Record<string, Record<string, boolean>> };
  try {
    answer = await ctx.client.security.hasPrivileges(
      {
        cluster: [...CLUSTER_PRIVILEGES],
        index: [{ names: [dataStream], privileges: [...INDEX_PRIVILEGES, LOOKUP_PRIVILEGE] }],
      },
      ctx.options,
    );
  } catch (error) {
    if (securityOff(error))
      return pass(ES.privileges, "security is off on this cluster: every request is allowed");
    return elasticsearchFailure(ctx, ES.privileges, ctx.host, error);
  }
  const missingIndex = INDEX_PRIVILEGES.filter((p) => answer.index[dataStream]?.[p] !== true);
  const missingCluster = CLUSTER_PRIVILEGES.filter((p) => answer.cluster[p] !== true);
  const clusterText =
    missingCluster.length > 0 ? `; also missing ${missingCluster.join(", ")} (cluster)` : "";
  if (missingIndex.length > 0) {
    return fail(
      ES.privileges,
      `missing ${missingIndex.join(", ")} on ${dataStream}${clusterText}`,
      "grant it to the API key's (or user's) role: documents are written with create_doc, and auto_configure creates the data stream on the first write",
    );
  }
  if (answer.index[dataStream]?.[LOOKUP_PRIVILEGE] !== true) {
    return warn(
      ES.privileges,
      `${INDEX_PRIVILEGES.join(", ")} on ${dataStream}; missing read${clusterText}`,
      "grant read on the data stream: without it, events read again (overlap, replay) are not looked up, and after a rollover they may be stored twice",
    );
  }
  // Only installing the template and pipeline needs these: a least-privileged mapper key may lack them.
  if (missingCluster.length > 0) {
    return warn(
      ES.privileges,
      `${INDEX_PRIVILEGES.join(", ")}, read on ${dataStream}; missing ${missingCluster.join(", ")} (cluster)`,
      "only `setup` (and the mapper's own install) needs manage_index_templates and manage_pipeline, and monitor reads the cluster's GeoIP state: run `setup` once with a key that has them",
    );
  }
  return pass(
    ES.privileges,
    `${INDEX_PRIVILEGES.join(", ")}, read on ${dataStream}; ${CLUSTER_PRIVILEGES.join(", ")}`,
  );
}

const RUN_SETUP = "run `setup` (npm run cli -- setup) with a key that has manage_index_templates";

async function templateCheck(ctx: EsContext): Promise<Check> {
  try {
    if (await integrationInstalled(ctx.client, ctx.options)) {
      return pass(
        ES.template,
        `Elastic's JumpCloud integration template ${INTEGRATION_TEMPLATE_NAME} serves these documents (sent through this project's pipeline, so the integration's does not run on them again)`,
      );
    }
    const status = await templateStatus(ctx.client, ctx.options);
    if (status.existing === undefined)
      return fail(ES.template, `${TEMPLATE_NAME} is not installed`, RUN_SETUP);
    const meta = status.existingMeta;
    if (meta?.managed_by !== "jumpcloud-elastic")
      return fail(
        ES.template,
        `${TEMPLATE_NAME} exists but was not installed by jumpcloud-elastic`,
        `${RUN_SETUP} (it replaces it)`,
      );
    if (!status.current) {
      return fail(
        ES.template,
        `${TEMPLATE_NAME} is out of date (installed ${meta.hash ?? "without a hash"}, this version installs ${status.wantedHash})`,
        RUN_SETUP,
      );
    }
    return pass(
      ES.template,
      `${TEMPLATE_NAME} is current${status.withEcsMappings ? " (composed with ecs@mappings)" : ""}`,
    );
  } catch (error) {
    if (error instanceof errors.ResponseError && error.statusCode === 403) {
      return warn(
        ES.template,
        `the credentials may not read index templates (${describeElasticsearchError(error)})`,
        `${RUN_SETUP}: it installs or updates the template as needed`,
      );
    }
    return elasticsearchFailure(ctx, ES.template, ctx.host, error);
  }
}

async function elasticsearchChecks(ctx: Context): Promise<Check[]> {
  const { settings } = ctx.loaded;
  const mode = modeOf(ctx);
  const geoSkipped = (why: string) => (mode === "cluster" ? [skip(GEOIP, why)] : []);
  if (!hasCluster(settings)) {
    const why = "no ELASTICSEARCH_URL: `run` writes documents to NDJSON files";
    return [skip(ES.cluster, why), skip(ES.privileges, why), skip(ES.template, why), skip(ES.pipeline, why)];
  }
  const after = (first: Check) => [
    first,
    skip(ES.privileges, "fix the connection first"),
    skip(ES.template, "fix the connection first"),
    skip(ES.pipeline, "fix the connection first"),
    ...geoSkipped("fix the connection first"),
  ];
  let client: Client;
  try {
    // Every request bounded by the doctor's own timeout, not the (longer) collecting one.
    const bounded = {
      ...settings,
      elasticsearchRequestTimeout: Math.min(settings.elasticsearchRequestTimeout, REQUEST_MS),
    };
    client = await raceAbort(createElasticsearchClient(bounded, ctx.aws), ctx.signal);
  } catch (error) {
    return after(elasticsearchFailure(ctx, ES.cluster, settings.elasticsearchUrl ?? "the cluster", error));
  }
  try {
    const host = client.connectionPool.connections[0]?.url.host ?? "the cluster";
    const es: EsContext = { ...ctx, client, host, options: { signal: ctx.signal } };
    const version = await versionCheck(es);
    if (version.status === "fail") return after(version);
    const dataStream = `${DATA_STREAM_TYPE}-${DATASET}-${settings.namespace}`;
    return [
      version,
      await privilegesCheck(es, dataStream),
      await templateCheck(es),
      mode === undefined ? skip(ES.pipeline, FIX_CONFIGURATION) : await pipelineCheck(es, mode),
      ...(mode === "cluster" ? [await clusterGeoIpCheck(es)] : []),
    ];
  } finally {
    await client.close();
  }
}

// ---------------------------------------------------------------------------------------------
// GeoIP and checkpoints

const GEOIP = "GeoIP";

// The GeoIP mode as a run with these settings would use it; undefined when it cannot (a GeoIP
// setting is wrong: the configuration lines say so, and what depends on the mode is skipped).
function modeOf(ctx: Context): GeoIpMode | undefined {
  if (blocked(ctx.loaded, "geoip")) return undefined;
  try {
    return geoIpMode(ctx.loaded.settings, hasCluster(ctx.loaded.settings), ctx.loaded.sourceOf);
  } catch {
    return undefined;
  }
}

const RUN_SETUP_PIPELINE = "run `setup` (npm run cli -- setup) with a key that has manage_pipeline";

async function pipelineCheck(ctx: EsContext, mode: GeoIpMode): Promise<Check> {
  const loses =
    mode === "cluster"
      ? "documents are stored without geo and without your @custom pipelines"
      : "your @custom pipelines are not run";
  try {
    const status = await pipelineStatus(ctx.client, mode, ctx.options);
    if (!status.exists)
      return fail(ES.pipeline, `${status.name} is not installed: ${loses}`, RUN_SETUP_PIPELINE);
    if (!status.current)
      return fail(
        ES.pipeline,
        `${status.name} is out of date or changed by hand`,
        `${RUN_SETUP_PIPELINE} (it replaces it)`,
      );
    return pass(
      ES.pipeline,
      `${status.name} is current (GEOIP=${mode}; then global@custom, logs@custom, logs-jumpcloud.integration@custom, logs-jumpcloud.events@custom where they exist)`,
    );
  } catch (error) {
    if (error instanceof errors.ResponseError && error.statusCode === 403)
      return warn(
        ES.pipeline,
        `the credentials may not read ingest pipelines (${describeElasticsearchError(error)})`,
        `${RUN_SETUP_PIPELINE}: it installs or updates the pipeline as needed`,
      );
    return elasticsearchFailure(ctx, ES.pipeline, ctx.host, error);
  }
}

async function clusterGeoIpCheck(ctx: EsContext): Promise<Check> {
  try {
    const state = await clusterGeoIp(ctx.client, ctx.options);
    const text = `GEOIP=cluster: ${clusterGeoIpText(state)}`;
    if (state.state !== "ready")
      return warn(
        GEOIP,
        text,
        "wait for the download (GET _ingest/geoip/stats), or check the cluster's ingest nodes may reach Elastic's GeoIP endpoint geoip.elastic.co and storage.googleapis.com, where it redirects (ingest.geoip.downloader.enabled)",
      );
    return state.expiredDatabases > 0 ? warn(GEOIP, text) : pass(GEOIP, text);
  } catch (error) {
    if (error instanceof errors.ResponseError && error.statusCode === 403)
      return warn(
        GEOIP,
        "GEOIP=cluster: the cluster's GeoIP state cannot be read (_ingest/geoip/stats needs monitor)",
        "grant monitor to see whether the databases are downloaded",
      );
    return elasticsearchFailure(ctx, GEOIP, ctx.host, error);
  }
}

async function geoIpCheck(ctx: Context): Promise<Check[]> {
  const { settings, sourceOf } = ctx.loaded;
  let mode: GeoIpMode;
  try {
    mode = geoIpMode(settings, hasCluster(settings), sourceOf);
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    return [fail(GEOIP, error.problems.join("; "))];
  }
  // Cluster mode is checked with the cluster (the Elasticsearch group).
  if (mode === "cluster") return [];
  if (mode === "off") return [skip(GEOIP, `${sourceOf("geoIp")} is off: no geo`)];
  return [await geoIpFilesCheck(ctx)];
}

async function geoIpFilesCheck(ctx: Context): Promise<Check> {
  const { settings, sourceOf } = ctx.loaded;
  const city = settings.geoIpCityDb;
  const asn = settings.geoIpAsnDb;
  if (city === undefined && asn === undefined)
    return skip(GEOIP, `${sourceOf("geoIpCityDb")} and ${sourceOf("geoIpAsnDb")} not set: no enrichment`);
  let lookup: Awaited<ReturnType<typeof openGeoIp>>;
  try {
    lookup = await raceAbort(openGeoIp(settings, { aws: ctx.aws, sourceOf }), ctx.signal);
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    return fail(
      "GeoIP",
      error.problems.join("; "),
      "point it at a MaxMind GeoIP2/GeoLite2 .mmdb file (a City database for GEOIP_CITY_DB, an ASN one for GEOIP_ASN_DB), or unset it",
    );
  }
  const described = (lookup?.databases() ?? []).map((d) => describeDatabase(d));
  const paths = { City: city, ASN: asn } as Record<string, string | undefined>;
  const opened = (lookup?.databases() ?? [])
    .map((d, i) => `${(described[i] as { text: string }).text}: ${paths[d.kind]}`)
    .join(", ");
  const missing =
    city === undefined
      ? `; ${sourceOf("geoIpCityDb")} not set`
      : asn === undefined
        ? `; ${sourceOf("geoIpAsnDb")} not set`
        : "";
  const text = `GEOIP=files: ${opened}${missing}`;
  if (described.some((d) => d.stale))
    return warn(
      GEOIP,
      text,
      `older than ${STALE_DATABASE_DAYS} days: update them (\`npm run cli -- geoip update --dir <folder>\`, or the stack's MaxMind updater)`,
    );
  return pass(GEOIP, text);
}

/** Why a checkpoint file could not be written, or `undefined` when it can (its folder made if need be). */
async function unwritable(path: string): Promise<string | undefined> {
  for (let folder = dirname(path); ; folder = dirname(folder)) {
    const found = await stat(folder).catch((error: NodeJS.ErrnoException) => error);
    if (found instanceof Error) {
      if (found.code === "ENOENT" && dirname(folder) !== folder) continue;
      return `${folder}: ${found.code ?? found.message}`;
    }
    if (!found.isDirectory()) return `${folder} is not a folder`;
    return access(folder, constants.W_OK).then(
      () => undefined,
      () => `${folder} is not writable`,
    );
  }
}

function leases(checkpoints: readonly Checkpoint[], now: number): string {
  const held = checkpoints.filter((c) => c.leaseOwner !== undefined && (c.leaseExpiresAt ?? 0) >= now);
  if (held.length === 0) return "no lease held";
  return held
    .map(
      (c) =>
        `lease on ${c.key} held by ${c.leaseOwner} until ${new Date(c.leaseExpiresAt ?? 0).toISOString()}`,
    )
    .join(", ");
}

function checkpointFailure(ctx: Context, thrown: unknown): Check {
  const { settings, sourceOf } = ctx.loaded;
  const name = "Checkpoints";
  const table = settings.checkpointTable;
  // The store says what to fix in one line; doctor says it its own way, from the SDK's error.
  const error = thrown instanceof ConfigurationError && thrown.cause !== undefined ? thrown.cause : thrown;
  const errorName = error instanceof Error ? error.name : "";
  if (table !== undefined) {
    const tableSource = sourceOf("checkpointTable");
    if (errorName === "ResourceNotFoundException")
      return fail(
        name,
        `DynamoDB table ${table} not found`,
        `create it, or fix ${tableSource} (and AWS_REGION)`,
      );
    if (errorName === "AccessDeniedException")
      return fail(
        name,
        errorText(error),
        `grant dynamodb:Scan, GetItem, PutItem and UpdateItem on ${table} to these AWS credentials`,
      );
    if (/region is missing/i.test(errorText(error)))
      return fail(
        name,
        `DynamoDB table ${table}: no AWS region`,
        "set AWS_REGION (or use an AWS_PROFILE that names one)",
      );
    if (errorName === "CredentialsProviderError")
      return fail(
        name,
        errorText(error),
        "give the AWS SDK credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
      );
    return fail(name, `DynamoDB table ${table}: ${timedOut(error) ? BUDGET_TEXT : errorText(error)}`);
  }
  const file = settings.checkpointFile;
  const fileSource = sourceOf("checkpointFile");
  if (error instanceof SyntaxError)
    return fail(
      name,
      `${file} is not valid JSON`,
      `restore it, or remove it to start again from INITIAL_LOOKBACK`,
    );
  const code = (error as NodeJS.ErrnoException).code ?? errorText(error);
  return fail(name, `cannot read ${file} (${code})`, `set ${fileSource} to a file in a writable folder`);
}

async function checkpointCheck(ctx: Context): Promise<Check> {
  const { settings, sourceOf } = ctx.loaded;
  const where =
    settings.checkpointTable !== undefined
      ? `DynamoDB table ${settings.checkpointTable}`
      : settings.checkpointFile;
  let checkpoints: Checkpoint[];
  try {
    checkpoints = await raceAbort(createCheckpointStore(settings, ctx.aws).list(), ctx.signal);
  } catch (error) {
    return checkpointFailure(ctx, error);
  }
  if (settings.checkpointTable === undefined) {
    const file = settings.checkpointFile;
    const problem = await unwritable(file);
    if (problem !== undefined)
      return fail(
        "Checkpoints",
        `${file} cannot be written: ${problem}`,
        `set ${sourceOf("checkpointFile")} to a file in a writable folder`,
      );
    const exists = await stat(file).then(
      () => true,
      () => false,
    );
    if (!exists) return pass("Checkpoints", `no checkpoint yet: the first run creates ${file}`);
  }
  return pass(
    "Checkpoints",
    `${checkpoints.length} checkpoint(s) in ${where}; ${leases(checkpoints, Date.now())}`,
  );
}

// ---------------------------------------------------------------------------------------------
// The command

const SKIPPED_NAMES: Record<Group, readonly string[]> = {
  jumpcloud: ["JumpCloud"],
  elasticsearch: [ES.cluster, ES.privileges, ES.template, ES.pipeline],
  geoip: [GEOIP],
  checkpoints: ["Checkpoints"],
  kibana: Object.values(KIBANA_CHECKS),
};

// A bug in one check is that check's failure: the others still print.
async function group(ctx: Context, which: Group, run: () => Promise<Check[]>): Promise<Check[]> {
  if (blocked(ctx.loaded, which)) return SKIPPED_NAMES[which].map((name) => skip(name, FIX_CONFIGURATION));
  try {
    return await run();
  } catch (error) {
    return [fail(SKIPPED_NAMES[which][0] as string, `unexpected error: ${errorText(error)}`)];
  }
}

/** Every check, in checklist order; the groups run at once, within one time budget. */
export async function runChecks(seams: CliSeams, logger: Logger): Promise<Check[]> {
  const loaded = parseSettings(seams.env, { require: ["jumpcloudCredentials"] });
  const ctx: Context = {
    loaded,
    aws: seams.aws ?? awsClients(),
    logger,
    signal: AbortSignal.timeout(BUDGET_MS),
  };
  const groups = await Promise.all([
    group(ctx, "jumpcloud", () => jumpcloudChecks(ctx)),
    group(ctx, "elasticsearch", () => elasticsearchChecks(ctx)),
    group(ctx, "geoip", () => geoIpCheck(ctx)),
    group(ctx, "checkpoints", async () => [await checkpointCheck(ctx)]),
    group(ctx, "kibana", () => kibanaChecks({ ...ctx, timeoutMs: REQUEST_MS, retry: DOCTOR_RETRY })),
  ]);
  return [...configurationChecks(loaded), ...groups.flat()];
}

const MARKS: Record<CheckStatus, string> = { pass: "✓", fail: "✗", warn: "!", skip: "-" };

/** The checklist as people read it: one line per check, what to fix after a dash, then a tally. */
export function checklist(checks: readonly Check[]): string {
  const lines = checks.map((c) => {
    const detail = c.status === "skip" ? `skipped (${c.detail})` : c.detail;
    return `${MARKS[c.status]} ${c.name}: ${detail}${c.fix ? ` — ${c.fix}` : ""}`;
  });
  const tally = (["pass", "fail", "warn", "skip"] as const)
    .map((s) => [s, checks.filter((c) => c.status === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${{ pass: "passed", fail: "failed", warn: "warning(s)", skip: "skipped" }[s]}`);
  return `${lines.join("\n")}\n\n${checks.length} checks: ${tally.join(", ")}\n`;
}

/** `doctor`: checks configuration, JumpCloud, Elasticsearch, GeoIP and checkpoints; exit 0 only if none failed. */
export function doctorCommand(seams: CliSeams): Command {
  return new Command("doctor")
    .description(
      "check the configuration, JumpCloud access per org, Elasticsearch (version, privileges, template, pipeline), GeoIP, checkpoints and Kibana (when KIBANA_URL is set)",
    )
    .action(async (flags: { json?: boolean }) => {
      const checks = await runChecks(seams, cliLogger(seams, flags.json));
      const failed = checks.filter((c) => c.status === "fail");
      await emit(seams, flags.json, { ok: failed.length === 0, checks }, () => checklist(checks));
      if (failed.length > 0) {
        const which = [...new Set(failed.map((c) => c.name))].join(", ");
        const where = flags.json ? "see `checks` in the result" : "fix what the ✗ lines say";
        throw new DoctorChecksFailedError(
          `${failed.length} of ${checks.length} checks failed (${which}): ${where}`,
        );
      }
    });
}
