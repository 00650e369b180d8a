import { type GeneratedTenant, generateTenant } from "../../simulators/jumpcloud/tenant.ts";

/** The load test's tenant: both children make it again, identical, from this. */
export interface LoadTenant {
  seed: number;
  count: number;
  /** Epoch ms of the first event (inclusive) and after the last (exclusive). */
  start: number;
  end: number;
  /** The simulator's frozen view: every event is visible, none arrives during the run. */
  frozenAt: number;
  orgId: string;
  key: string;
}

const HOUR = 3_600_000;
// Behind the collector's horizon (SOURCE_LAG, 1m by default), so a single run reads every event.
const SETTLED_MS = 2 * 60_000;

/** A tenant of `count` events over the `hours` before `now`. */
export function loadTenant(count: number, hours: number, now: number, seed = 1_000_000): LoadTenant {
  return {
    seed,
    count,
    start: now - hours * HOUR,
    end: now - SETTLED_MS,
    frozenAt: now,
    orgId: "5e00000000000000000000aa",
    key: "load-test-key",
  };
}

/** The tenant's events (bodies made on demand). */
export function tenantEvents(tenant: LoadTenant): GeneratedTenant {
  const { seed, count, start, end, orgId } = tenant;
  return generateTenant({ seed, count, start, end, organization: orgId });
}
