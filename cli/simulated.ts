import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Environment, Overrides } from "../lib/settings/load.ts";
import { SETTINGS, type SettingName } from "../lib/settings/schema.ts";
import { attackScenario } from "../simulators/jumpcloud/scenarios.ts";
import { ingestionDelays, JumpcloudSimulator } from "../simulators/jumpcloud/server.ts";
import { type GeneratedEvent, generateTenantEvents } from "../simulators/jumpcloud/tenant.ts";

/** The embedded tenant used when no JumpCloud account is configured (demo, `--simulate`). */
export const SIMULATED_ORG = "5e0000000000000000000001";
export const SIMULATED_KEY = "simulated-local-key";
const TENANT_SETTLED_MS = 120_000;

/** What defines a simulated tenant: it is generated again, identical, from these. */
export interface TenantDefinition {
  seed: number;
  count: number;
  /** The simulator's frozen clock (epoch ms); the events end two minutes before. */
  frozenAt: number;
  /** Plays the attack scenario too (`--attack`): every detection rule of the pack has something to find. */
  attack?: boolean;
}

/** A running simulated tenant. */
export interface SimulatedTenant {
  simulator: JumpcloudSimulator;
  apiUrl: string;
  definition: TenantDefinition;
  /** Whether this run created the tenant (false: it was read back from the simulation's folder). */
  created: boolean;
}

const TENANT_FILE = "tenant.json";
// One checkpoint per destination: the files and a cluster each get the whole tenant.
const FILE_CHECKPOINTS = "checkpoints.json";
const CLUSTER_CHECKPOINTS = "checkpoints-elasticsearch.json";

/** The simulation's checkpoint files: for the NDJSON output, and for `--to-elasticsearch`. */
export const SIMULATED_CHECKPOINT_FILES = [FILE_CHECKPOINTS, CLUSTER_CHECKPOINTS].map(
  (name) => `.jumpcloud-elastic/simulated/${name}`,
);

/**
 * The simulation's tenant, kept beside its checkpoint: read back while the simulated checkpoint
 * exists (so later runs see the same frozen tenant, and find nothing new), created afresh otherwise.
 */
export async function persistedTenant(dir: string, fresh = false, attack = false): Promise<SimulatedTenant> {
  const path = join(dir, TENANT_FILE);
  if (fresh) await rm(dir, { recursive: true, force: true });
  const checkpointed = [FILE_CHECKPOINTS, CLUSTER_CHECKPOINTS].some((name) => existsSync(join(dir, name)));
  if (existsSync(path) && checkpointed) {
    const definition = JSON.parse(await readFile(path, "utf8")) as TenantDefinition;
    // Asked for an attack the kept tenant does not hold: a new tenant (the old one's state goes).
    if (attack && definition.attack !== true) return persistedTenant(dir, true, attack);
    return { ...(await startSimulatedTenant(definition)), created: false };
  }
  const definition: TenantDefinition = {
    seed: 2026,
    count: 2_000,
    frozenAt: Date.now(),
    ...(attack && { attack }),
  };
  await mkdir(dir, { recursive: true });
  await writeFile(path, `${JSON.stringify(definition, null, 2)}\n`);
  return { ...(await startSimulatedTenant(definition)), created: true };
}

// The attack, when asked for. JumpCloud shows these within a second: all of it is visible when
// the tenant freezes (the day's events keep their realistic delays, late ones included).
function attackOf(definition: TenantDefinition): GeneratedEvent[] {
  if (definition.attack !== true) return [];
  return attackScenario({ organization: SIMULATED_ORG, end: definition.frozenAt, seed: definition.seed });
}
const PROMPT = () => 1_000;

/** How far back the simulated tenant's events go: a day, or the attack's history before it. */
export function tenantSpanMs(definition: TenantDefinition): number {
  if (definition.attack !== true) return 86_400_000;
  const first = attackOf(definition)[0]?.at ?? definition.frozenAt;
  return Math.max(86_400_000, definition.frozenAt - first + 60_000);
}

/**
 * Starts the JumpCloud simulator with a day of events for one tenant, frozen as it stood at
 * `frozenAt` (now, unless the definition says when): events visible only later never appear, and
 * the events end two minutes before, behind the horizon of a first run with the default
 * SOURCE_LAG (1m). What a run reads never depends on how long it takes, or how late it comes.
 */
export async function startSimulatedTenant(
  definition: TenantDefinition = { seed: 2026, count: 2_000, frozenAt: Date.now() },
): Promise<Omit<SimulatedTenant, "created">> {
  const { seed, count, frozenAt: end } = definition;
  const simulator = new JumpcloudSimulator({
    tenants: [
      {
        orgId: SIMULATED_ORG,
        events: generateTenantEvents({
          seed,
          start: end - 86_400_000,
          end: end - TENANT_SETTLED_MS,
          count,
          organization: SIMULATED_ORG,
        }),
      },
    ],
    keys: [{ key: SIMULATED_KEY, orgs: [SIMULATED_ORG] }],
    ingestionDelay: ingestionDelays.realistic(),
    // Frozen: what is visible never changes, yet a later run may ask about times after `end`.
    visibleAsOf: end,
  });
  simulator.addEvents(SIMULATED_ORG, attackOf(definition), PROMPT);
  return { simulator, apiUrl: await simulator.start(), definition };
}

const SOURCE = "--simulate";
const MAX_LOOKBACK_MS = 90 * 86_400_000;

/**
 * How far back a first run must start to read the tenant from its first event: the files and a
 * cluster each get the whole tenant, however long after its creation the second one first runs.
 */
function sinceTenantStart(tenant: TenantDefinition, now: number): number {
  const start = tenant.frozenAt - tenantSpanMs(tenant);
  return Math.min(MAX_LOOKBACK_MS, Math.max(60_000, now - start + 60_000));
}

// Settings a simulation clears, whatever the environment says.
function unset(names: readonly SettingName[]): Overrides {
  return Object.fromEntries(names.map((name) => [name, { value: undefined, source: SOURCE }]));
}

/** Overrides that point a command at the simulated tenant, whatever credentials the environment holds. */
export function simulatedOverrides(apiUrl: string): Overrides {
  return {
    ...unset(["jumpcloudClientId", "jumpcloudClientSecret", "jumpcloudSecretArn", "jumpcloudTokenUrl"]),
    jumpcloudApiUrl: { value: apiUrl, source: SOURCE },
    jumpcloudApiKey: { value: SIMULATED_KEY, source: SOURCE },
    jumpcloudOrgIds: { value: [], source: SOURCE },
  };
}

/** The data stream simulated documents go to: a namespace that cannot be mistaken for real data. */
export const SIMULATED_STREAM = "logs-jumpcloud.events-simulated";

/** Where simulated runs keep their state and output: never where real runs keep theirs. */
export const SIMULATED_DIR = ".jumpcloud-elastic/simulated";

const CLUSTER_SETTINGS = [
  "elasticsearchUrl",
  "elasticsearchCloudId",
  "elasticsearchSecretArn",
  "elasticsearchApiKey",
  "elasticsearchUsername",
  "elasticsearchPassword",
] as const satisfies readonly SettingName[];

/** The cluster variables set in `env` (a simulation writes there only when told to). */
export function clusterVariablesSet(env: Environment): string[] {
  return CLUSTER_SETTINGS.slice(0, 3)
    .map((name) => SETTINGS[name].env)
    .filter((variable) => (env[variable] ?? "") !== "");
}

/**
 * A simulated collection, isolated from real ones: its own checkpoint file (so a real run never
 * takes over a simulated cursor), its own dead letters, the namespace `simulated`, and no cluster
 * unless `toCluster` (the user asked for it explicitly).
 */
export function isolatedSimulationOverrides(
  apiUrl: string,
  options: { toCluster?: boolean; tenant?: TenantDefinition; now?: number } = {},
): Overrides {
  return {
    ...(options.tenant && {
      initialLookback: { value: sinceTenantStart(options.tenant, options.now ?? Date.now()), source: SOURCE },
    }),
    ...simulatedOverrides(apiUrl),
    ...unset(["checkpointTable", ...(options.toCluster ? [] : CLUSTER_SETTINGS)]),
    checkpointFile: {
      value: `${SIMULATED_DIR}/${options.toCluster ? CLUSTER_CHECKPOINTS : FILE_CHECKPOINTS}`,
      source: SOURCE,
    },
    deadLetterDir: { value: `${SIMULATED_DIR}/dead-letters`, source: SOURCE },
    namespace: { value: "simulated", source: SOURCE },
  };
}
