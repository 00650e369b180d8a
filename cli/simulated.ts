import type { Overrides } from "../lib/settings/load.ts";
import { ingestionDelays, JumpcloudSimulator } from "../simulators/jumpcloud/server.ts";
import { generateTenantEvents } from "../simulators/jumpcloud/tenant.ts";

/** The embedded tenant used when no JumpCloud account is configured (demo, `--simulate`). */
export const SIMULATED_ORG = "5e0000000000000000000001";
export const SIMULATED_KEY = "simulated-local-key";

/**
 * Starts the JumpCloud simulator with a day of events for one tenant, ending now. The simulator's
 * clock is frozen at that instant: which late events are visible never depends on how long a run
 * takes, so a second run over the same tenant really finds nothing new.
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
          end,
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

/** Overrides that point a command at the simulated tenant, whatever credentials the environment holds. */
export function simulatedOverrides(apiUrl: string): Overrides {
  const source = "--simulate";
  return {
    jumpcloudApiUrl: { value: apiUrl, source },
    jumpcloudApiKey: { value: SIMULATED_KEY, source },
    jumpcloudClientId: { value: undefined, source },
    jumpcloudClientSecret: { value: undefined, source },
    jumpcloudSecretArn: { value: undefined, source },
    jumpcloudTokenUrl: { value: undefined, source },
    jumpcloudOrgIds: { value: [], source },
  };
}
