import { KibanaRequestError } from "../errors.ts";
import type { KibanaClient } from "./client.ts";
import { type EnableRules, installRules, type RuleOutcome, ruleCounts } from "./detection-rules.ts";
import {
  compareVersions,
  type IntegrationChoice,
  type IntegrationResult,
  installIntegration,
} from "./fleet.ts";
import { type DetectionRule, rulePack } from "./rule-pack.ts";

/** The oldest Kibana the pack runs on: its new_terms rules compare two fields (8.6 on; 8.4 had one). */
export const RULES_KIBANA = "8.6.0";

/** What `setup --kibana` (and the deploy's custom resource) did in Kibana. */
export interface KibanaSetupResult {
  kibana: { url: string; space: string; version: string };
  /** Undefined when skipped (`--no-integration`). */
  integration?: IntegrationResult;
  rules: RuleOutcome[];
  /** Why no rule could be installed (Kibana refused reading them: a privilege), when so. */
  rulesError?: string;
  counts: ReturnType<typeof ruleCounts>;
}

/** What to install. */
export interface KibanaSetupOptions {
  /** The integration version, or false to leave Fleet alone. */
  integration?: IntegrationChoice | false;
  /** Which rules to enable (none: each keeps its state in Kibana, new ones disabled). */
  enableRules?: EnableRules;
  rules?: readonly DetectionRule[];
  /** Kibana's version, when checkKibana has run already (the CLI checks before changing the cluster). */
  checkedVersion?: string;
}

interface StatusAnswer {
  version?: { number?: string };
}

/** Kibana's version, read from `/api/status` (which also proves the address and the credentials). */
export async function kibanaVersion(client: KibanaClient): Promise<string> {
  // The first contact: a Kibana that does not answer is told in seconds, not after every retry.
  const status = await client.call<StatusAnswer>("GET", "/api/status", { timeoutMs: 15_000, maxAttempts: 2 });
  const version = status?.version?.number;
  if (typeof version !== "string")
    throw new KibanaRequestError(
      `${client.connection.url}/api/status answered without a Kibana version: is KIBANA_URL a Kibana?`,
      200,
    );
  return version;
}

/**
 * What must hold before anything is changed: Kibana answers, with these credentials, in a version
 * the rules run on, and the space exists. Returns the version.
 */
export async function checkKibana(client: KibanaClient): Promise<string> {
  const version = await kibanaVersion(client);
  if (compareVersions(version, RULES_KIBANA) < 0)
    throw new KibanaRequestError(
      `Kibana ${version} is too old for the detection rules: they need ${RULES_KIBANA} or later (new terms on two fields)`,
      400,
    );
  await client.checkSpace();
  return version;
}

// A refusal of the rules as a whole (a privilege) is the result's, so the dashboard still goes in.
async function rulesPart(client: KibanaClient, options: KibanaSetupOptions) {
  try {
    return {
      rules: await installRules(client, options.rules ?? rulePack(), { enable: options.enableRules }),
    };
  } catch (error) {
    if (!(error instanceof KibanaRequestError) || error.status !== 403) throw error;
    return { rules: [], rulesError: error.message };
  }
}

/**
 * Installs the detection rule pack through the Detection Engine's import API and the
 * integration's dashboard through Fleet (or says why not), each idempotently.
 */
export async function setupKibana(
  client: KibanaClient,
  options: KibanaSetupOptions = {},
): Promise<KibanaSetupResult> {
  const version = options.checkedVersion ?? (await checkKibana(client));
  // Rules first: they are quick, and what a deploy with little time left must not miss.
  const { rules, rulesError } = await rulesPart(client, options);
  const integration =
    options.integration === false ? undefined : await installIntegration(client, options.integration);
  return {
    kibana: { url: client.connection.url, space: client.connection.space ?? "default", version },
    ...(integration && { integration }),
    rules,
    ...(rulesError !== undefined && { rulesError }),
    counts: ruleCounts(rules),
  };
}
