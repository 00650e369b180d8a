// The Elasticsearch emulator in a process of its own (see run-load.ts): it holds a million
// documents, and checks what it stored against the tenant's own fingerprints.
import { EcsMapper } from "../../lib/ecs/mapper.ts";
import { ElasticsearchEmulator, type EsEmulatorOptions } from "../../simulators/elasticsearch/server.ts";
import { type ChildMessage, cpuMs, maxRssBytes, serveParent } from "./children.ts";
import { type LoadTenant, tenantEvents } from "./load-tenant.ts";

// Lean: ids only, no `_source`, requests recorded without bodies (ignored by an emulator without it).
const lean: EsEmulatorOptions & { retainSources?: boolean } = { retainSources: false };
const emulator = new ElasticsearchEmulator(lean);

/** What the emulator stored, against the `_id` the mapper gives each event of the tenant. */
async function verify(message: ChildMessage): Promise<ChildMessage> {
  const copies = emulator.documents(String(message.stream)).map((d) => d._id);
  const stored = new Set(copies);
  const expected = new Set<string>();
  const mapper = new EcsMapper();
  const tenant = tenantEvents(message.tenant as LoadTenant);
  let missing = 0;
  for (let i = 0; i < tenant.length; i++) {
    const { id } = mapper.mapValue(tenant.event(i));
    expected.add(id);
    if (!stored.has(id)) missing++;
  }
  let unexpected = 0;
  for (const id of stored) if (!expected.has(id)) unexpected++;
  return {
    type: "verified",
    copies: copies.length,
    distinct: stored.size,
    expected: expected.size,
    missing,
    unexpected,
  };
}

const url = await emulator.start();
serveParent({
  verify,
  memory: async () => ({ type: "memory", maxRssBytes: maxRssBytes(), cpuMs: cpuMs() }),
});
process.send?.({ type: "ready", url });
