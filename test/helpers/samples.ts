import { readJsonFixture } from "./fixtures.ts";

/** The real-world sample files under test/fixtures/jumpcloud-samples that hold events. */
export const SAMPLE_FILES = [
  "elastic_integrations_jumpcloud.json",
  "jumpcloud_api_doc_examples.json",
  "sekoia_intake_formats_fixtures.json",
  "sumologic_docs_organization_create.json",
] as const;

/** One raw sample event with a readable label. */
export interface Sample {
  label: string;
  file: string;
  event: Record<string, unknown>;
}

/** Every raw sample event (Sekoia's fixtures wrap each event with its fixture name). */
export function loadSamples(): Sample[] {
  return SAMPLE_FILES.flatMap((file) => {
    const { events } = readJsonFixture<{ events: Record<string, unknown>[] }>(`jumpcloud-samples/${file}`);
    return events.map((entry, i) => {
      const wrapped = typeof entry._fixture === "string" && typeof entry.event === "object";
      return {
        file,
        label: `${file}#${wrapped ? entry._fixture : i}`,
        event: (wrapped ? entry.event : entry) as Record<string, unknown>,
      };
    });
  });
}
