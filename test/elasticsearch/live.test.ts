import { describe, expect, it } from "vitest";
import { awsClients } from "../../lib/compose/aws.ts";
import { createElasticsearchClient } from "../../lib/compose/elasticsearch.ts";
import { EcsMapper } from "../../lib/ecs/mapper.ts";
import { FileDeadLetterSink } from "../../lib/elasticsearch/dead-letters.ts";
import { ElasticsearchDocumentSink } from "../../lib/elasticsearch/sink.ts";
import { setupIndexTemplate } from "../../lib/elasticsearch/template.ts";
import { indexEvents } from "../../lib/pipeline/index-events.ts";
import { loadSettings } from "../../lib/settings/load.ts";
import { readJsonFixture } from "../helpers/fixtures.ts";

// Against a real cluster, only when ELASTICSEARCH_URL is set (with ELASTICSEARCH_API_KEY or
// ELASTICSEARCH_USERNAME + ELASTICSEARCH_PASSWORD). Writes to logs-jumpcloud.events-jumpcloudelastictest.
const url = process.env.ELASTICSEARCH_URL;
if (!url) console.warn("live Elasticsearch suite skipped: set ELASTICSEARCH_URL (and credentials)");

describe.skipIf(!url)("live Elasticsearch", () => {
  it("sets up, indexes the fixture events once, and a re-send gives only duplicates", async () => {
    const client = await createElasticsearchClient(loadSettings(process.env).settings, awsClients());
    const setup = await setupIndexTemplate(client);
    expect(["installed", "updated", "unchanged", "left-integration-alone"]).toContain(setup.action);
    const mapper = new EcsMapper({ namespace: "jumpcloudelastictest" });
    const deps = {
      mapper,
      sink: new ElasticsearchDocumentSink(client, { dataStream: mapper.dataStream }),
      deadLetters: new FileDeadLetterSink(".jumpcloud-elastic/live-test-dead-letters"),
    };
    const events = readJsonFixture<{ events: { message: string }[] }>(
      "elastic-jumpcloud/test-events.json",
    ).events.map((e) => JSON.parse(e.message) as unknown);
    const first = await indexEvents(events, deps);
    expect(first.deadLettered).toBe(0);
    expect(first.indexed + first.duplicates).toBe(events.length);
    const again = await indexEvents(events, deps);
    expect(again).toMatchObject({ indexed: 0, duplicates: events.length, deadLettered: 0 });
  });
});
