import { describe, expect, it } from "vitest";
import { awsClients } from "../../lib/compose/aws.ts";
import { createKibanaClient } from "../../lib/compose/kibana.ts";
import { rulePack } from "../../lib/kibana/rule-pack.ts";
import { setupKibana } from "../../lib/kibana/setup.ts";
import { loadSettings } from "../../lib/settings/load.ts";

// Against a real Kibana, only when KIBANA_URL is set (with KIBANA_API_KEY, or the Elasticsearch
// credentials). Installs the rule pack, disabled, in KIBANA_SPACE (default: the default space), and
// the integration's dashboard unless KIBANA_LIVE_FLEET=false.
const url = process.env.KIBANA_URL;
if (!url) console.warn("live Kibana suite skipped: set KIBANA_URL (and KIBANA_API_KEY)");

describe.skipIf(!url)("live Kibana", () => {
  it("installs the dashboard and the rule pack, then a second run changes nothing", {
    timeout: 300_000,
  }, async () => {
    const client = await createKibanaClient(loadSettings(process.env).settings, awsClients());
    const integration = process.env.KIBANA_LIVE_FLEET === "false" ? false : undefined;
    const first = await setupKibana(client, { ...(integration === false && { integration }) });
    expect(first.rules.filter((r) => r.action === "failed")).toEqual([]);
    if (first.integration && first.integration.action !== "unavailable")
      expect(first.integration.dashboard.present).toBe(true);
    const second = await setupKibana(client, { ...(integration === false && { integration }) });
    expect(second.counts).toEqual({ installed: 0, updated: 0, unchanged: rulePack().length, failed: 0 });
    expect(second.integration?.action ?? "skipped").not.toBe("installed");
  });
});
