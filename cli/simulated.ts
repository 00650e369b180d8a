import type { Overrides } from "../lib/settings/load.ts";
import type { SettingName } from "../lib/settings/schema.ts";
import { ingestionDelays, JumpcloudSimulator } from "../simulators/jumpcloud/server.ts";
import { generateTenantEvents } from "../simulators/jumpcloud/tenant.ts";

/** The embedded tenant used when no JumpCloud account is configured (demo, `--simulate`). */
export const SIMULATED_ORG = "5e0000000000000000000001";
export const SIMULATED_KEY = "simulated-local-key";
const TENANT_SETTLED_MS = 120_000;

/**
 * Starts the JumpCloud simulator with a day of events for one tenant. The simulator's clock is
 * frozen when it starts, and the events end two minutes before that, behind the horizon of a
 * first run with the default SOURCE_LAG (1m): which events are visible, and which a first run reads, never
 * depend on how long a run takes, so a second run really finds nothing new.
 */
export async function startSimulatedTenant(
  count = 2_000,
): Promise<{ simulator: JumpcloudSimulator; apiUrl: string }> {
  const end = Date.now();
  const simulator = new JumpcloudSimulator({
    tenants: [
      {
        orgId: SIMULATED_ORG,
        events: generateTenantEvents({
          seed: 2026,
          start: end - 86_400_000,
          end: end - TENANT_SETTLED_MS,
          count,
          organization: SIMULATED_ORG,
        }),
      },
    ],
    keys: [{ key: SIMULATED_KEY, orgs: [SIMULATED_ORG] }],
    ingestionDelay: ingestionDelays.realistic(),
    now: () => end,
  });
  return { simulator, apiUrl: await simulator.start() };
}

const SOURCE = "--simulate";

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

/** Where simulated runs keep their state and output: never where real runs keep theirs. */
export const SIMULATED_DIR = ".jumpcloud-elastic/simulated";

/**
 * A simulated collection, isolated from real ones: its own checkpoint file (so a real run never
 * takes over a simulated cursor), its own dead letters and namespace, and no cluster at all.
 */
export function isolatedSimulationOverrides(apiUrl: string): Overrides {
  return {
    ...simulatedOverrides(apiUrl),
    ...unset([
      "checkpointTable",
      "elasticsearchUrl",
      "elasticsearchCloudId",
      "elasticsearchSecretArn",
      "elasticsearchApiKey",
      "elasticsearchUsername",
      "elasticsearchPassword",
    ]),
    checkpointFile: { value: `${SIMULATED_DIR}/checkpoints.json`, source: SOURCE },
    deadLetterDir: { value: `${SIMULATED_DIR}/dead-letters`, source: SOURCE },
    namespace: { value: "simulated", source: SOURCE },
  };
}
