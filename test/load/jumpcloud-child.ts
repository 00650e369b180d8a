// The JumpCloud simulator with the load test's tenant, in a process of its own (see run-load.ts).
import { performance } from "node:perf_hooks";
import { JumpcloudSimulator } from "../../simulators/jumpcloud/server.ts";
import { cpuMs, maxRssBytes, serveParent } from "./children.ts";
import { type LoadTenant, tenantEvents } from "./load-tenant.ts";

const tenant = JSON.parse(process.argv[2] ?? "{}") as LoadTenant & { latencyMs?: number };
const started = performance.now();
const simulator = new JumpcloudSimulator({
  tenants: [{ orgId: tenant.orgId, events: tenantEvents(tenant) }],
  keys: [{ key: tenant.key, orgs: [tenant.orgId] }],
  visibleAsOf: tenant.frozenAt,
  ...(tenant.latencyMs !== undefined && { latencyMs: tenant.latencyMs }),
});
const generatedMs = performance.now() - started;
const url = await simulator.start();
serveParent({
  memory: async () => ({
    type: "memory",
    maxRssBytes: maxRssBytes(),
    cpuMs: cpuMs(),
    requests: simulator.requests.length,
    pageRequests: simulator.requests.filter((r) => r.path === "/events").length,
    countRequests: simulator.requests.filter((r) => r.path === "/events/count").length,
  }),
});
process.send?.({ type: "ready", url, generatedMs });
