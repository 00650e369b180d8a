import { KibanaRequestError } from "../errors.ts";
import type { KibanaClient } from "./client.ts";
import { installRules, type RuleOutcome, ruleCounts } from "./detection-rules.ts";
import { type IntegrationChoice, type IntegrationResult, installIntegration } from "./fleet.ts";
import { type DetectionRule, rulePack } from "./rule-pack.ts";

/** What `setup --kibana` (and the deploy's custom resource) did in Kibana. */
export interface KibanaSetupResult {
  kibana: { url: string; space: string; version: string };
  /** Undefined when skipped (`--no-integration`). */
  integration?: IntegrationResult;
  rules: RuleOutcome[];
  counts: ReturnType<typeof ruleCounts>;
}

/** What to install. */
export interface KibanaSetupOptions {
  /** The integration version, or false to leave Fleet alone. */
  integration?: IntegrationChoice | false;
  enableRules?: boolean;
  rules?: readonly DetectionRule[];
}

interface StatusAnswer {
  version?: { number?: string };
}

/** Kibana's version, read from `/api/status` (which also proves the address and the credentials). */
export async function kibanaVersion(client: KibanaClient): Promise<string> {
  const status = await client.call<StatusAnswer>("GET", "/api/status");
  const version = status?.version?.number;
  if (typeof version !== "string")
    throw new KibanaRequestError(
      `${client.connection.url}/api/status answered without a Kibana version: is KIBANA_URL a Kibana?`,
      200,
    );
  return version;
}

/**
 * Installs the integration's dashboard through Fleet (or says why not) and the detection rule
 * pack through the Detection Engine's import API, each idempotently.
 */
export async function setupKibana(
  client: KibanaClient,
  options: KibanaSetupOptions = {},
): Promise<KibanaSetupResult> {
  const version = await kibanaVersion(client);
  await client.checkSpace();
  // Rules first: they are quick, and what a deploy with little time left must not miss.
  const rules = await installRules(client, options.rules ?? rulePack(), {
    enable: options.enableRules === true,
  });
  const integration =
    options.integration === false ? undefined : await installIntegration(client, options.integration);
  return {
    kibana: { url: client.connection.url, space: client.connection.space ?? "default", version },
    ...(integration && { integration }),
    rules,
    counts: ruleCounts(rules),
  };
}
