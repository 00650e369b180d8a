import { createHash } from "node:crypto";
import type { Client } from "@elastic/elasticsearch";
import { errors } from "@elastic/elasticsearch";
import { DATA_STREAM_TYPE, DATASET } from "../ecs/rules.ts";
import { toElasticsearchError } from "./client.ts";
import fieldTypes from "./field-types.json" with { type: "json" };

/** Name of the index template this project installs. */
export const TEMPLATE_NAME = "jumpcloud-elastic-logs-jumpcloud.events";
/** Name Fleet gives Elastic's JumpCloud integration template for the same data streams. */
export const INTEGRATION_TEMPLATE_NAME = "logs-jumpcloud.events";

type Mapping = Record<string, unknown>;

/** Keywords longer than this are kept in `_source` but not indexed (ECS's default). */
const IGNORE_ABOVE = 1024;

/**
 * Keywords the integration's package (1.16.0 on, elastic/integrations #14398) indexes up to 4 096
 * characters: certificates and XML payloads run longer than 1 024.
 */
export const IGNORE_ABOVE_OVERRIDES: Readonly<Record<string, number>> = {
  "jumpcloud.event.command.payload": 4096,
  "jumpcloud.event.profile_list.signer_certificates": 4096,
};

function leafMapping(
  field: string,
  spec: { type: string; index?: false; multi_fields?: Record<string, string> },
): Mapping {
  const mapping: Mapping = { type: spec.type };
  if (spec.type === "keyword") mapping.ignore_above = IGNORE_ABOVE_OVERRIDES[field] ?? IGNORE_ABOVE;
  if (spec.index === false) {
    mapping.index = false;
    mapping.doc_values = false;
    delete mapping.ignore_above;
  }
  if (spec.multi_fields) {
    mapping.fields = Object.fromEntries(
      Object.entries(spec.multi_fields).map(([name, type]) => [name, { type }]),
    );
  }
  return mapping;
}

/** Nested `properties` for every field of field-types.json (ECS types, the integration's jumpcloud.event.* types). */
export function templateProperties(): Mapping {
  const root: Mapping = {};
  for (const [field, spec] of Object.entries(fieldTypes.fields)) {
    const keys = field.split(".");
    let node = root;
    for (const key of keys.slice(0, -1)) {
      node[key] ??= { properties: {} };
      const object = node[key] as { properties?: Mapping };
      object.properties ??= {};
      node = object.properties;
    }
    node[keys[keys.length - 1] as string] = leafMapping(field, spec as { type: string });
  }
  return root;
}

/** What the cluster offers to compose with. */
export interface Composition {
  /** Elasticsearch's `ecs@mappings` component template. */
  withEcsMappings: boolean;
  /** Elasticsearch's logs settings (`logs@settings`, or `logs-settings` before 8.12): the `logs` ILM policy. */
  logsSettings?: string;
}

/** The index template body for `logs-jumpcloud.events-*`; `_meta.hash` names its content. */
export function indexTemplate(options: Composition): Mapping {
  const composedOf = [
    ...(options.logsSettings ? [options.logsSettings] : []),
    ...(options.withEcsMappings ? ["ecs@mappings"] : []),
  ];
  const body: Mapping = {
    index_patterns: [`${DATA_STREAM_TYPE}-${DATASET}-*`],
    data_stream: {},
    // Above the built-in logs-*-* (100), below Fleet's integration templates (200): installing
    // Elastic's integration later takes over new backing indices cleanly.
    priority: 150,
    ...(composedOf.length > 0 && { composed_of: composedOf }),
    template: {
      settings: { index: { mapping: { total_fields: { limit: 2000 } } } },
      mappings: {
        // A date-looking string in an undeclared field must not fix the field as a date.
        date_detection: false,
        dynamic_templates: [
          {
            jumpcloud_strings_as_keyword: {
              path_match: "jumpcloud.event.*",
              match_mapping_type: "string",
              mapping: { type: "keyword", ignore_above: IGNORE_ABOVE },
            },
          },
        ],
        properties: templateProperties(),
      },
    },
  };
  // Any change (field types included) changes the hash, and setup updates the template.
  const hash = createHash("sha256").update(JSON.stringify(body)).digest("hex").slice(0, 16);
  return {
    ...body,
    _meta: {
      managed_by: "jumpcloud-elastic",
      hash,
      description:
        "JumpCloud Directory Insights events in ECS 8.11, as Elastic's jumpcloud integration 1.22.0 maps them",
    },
  };
}

/** What setup found and did. */
export interface SetupResult {
  action: "installed" | "updated" | "unchanged" | "left-integration-alone";
  template: string;
  withEcsMappings: boolean;
}

/** Per-request options (an abort signal, say) for the reads below. */
type ReadOptions = { signal?: AbortSignal };

async function getTemplate(
  client: Client,
  kind: "index" | "component",
  name: string,
  options: ReadOptions = {},
): Promise<Mapping | undefined> {
  try {
    if (kind === "index") {
      const found = await client.indices.getIndexTemplate({ name }, options);
      return found.index_templates[0]?.index_template as unknown as Mapping | undefined;
    }
    const found = await client.cluster.getComponentTemplate({ name }, options);
    return found.component_templates[0]?.component_template as unknown as Mapping | undefined;
  } catch (error) {
    if (error instanceof errors.ResponseError && error.statusCode === 404) return undefined;
    throw error;
  }
}

/** True when the cluster holds Elastic's JumpCloud integration template (installed by Fleet). */
export async function integrationInstalled(client: Client, options: ReadOptions = {}): Promise<boolean> {
  const template = await getTemplate(client, "index", INTEGRATION_TEMPLATE_NAME, options);
  const meta = template?._meta as { package?: { name?: string }; managed_by?: string } | undefined;
  return template !== undefined && (meta?.package?.name === "jumpcloud" || meta?.managed_by === "fleet");
}

/**
 * Installs or updates the index template, idempotently. Leaves the cluster alone when Elastic's
 * JumpCloud integration is installed (its template and mappings serve our documents; the sink
 * sends `pipeline=_none` so its ingest pipeline does not run a second time).
 */
export async function setupIndexTemplate(client: Client): Promise<SetupResult> {
  try {
    return await installTemplate(client);
  } catch (error) {
    throw toElasticsearchError("setting up the index template failed", error);
  }
}

/** Our template as the cluster holds it, beside the one `setup` would install there. */
export interface TemplateStatus {
  /** The template this version installs on this cluster (its composition depends on the cluster). */
  wanted: Mapping;
  wantedHash: string;
  existing: Mapping | undefined;
  /** The installed template's `_meta` (who installed it, and its content hash). */
  existingMeta: { managed_by?: string; hash?: string } | undefined;
  /** Installed by us, with the content this version installs. */
  current: boolean;
  withEcsMappings: boolean;
}

/** Reads our template and what it composes with; `setup` and `doctor` both decide from this. */
export async function templateStatus(client: Client, options: ReadOptions = {}): Promise<TemplateStatus> {
  const withEcsMappings = (await getTemplate(client, "component", "ecs@mappings", options)) !== undefined;
  let logsSettings: string | undefined;
  for (const name of ["logs@settings", "logs-settings"]) {
    if (logsSettings === undefined && (await getTemplate(client, "component", name, options)))
      logsSettings = name;
  }
  const wanted = indexTemplate({ withEcsMappings, ...(logsSettings && { logsSettings }) });
  const wantedHash = (wanted._meta as { hash: string }).hash;
  const existing = await getTemplate(client, "index", TEMPLATE_NAME, options);
  // The cluster normalises what it stores (settings as strings...): compare content hashes.
  const existingMeta = existing?._meta as TemplateStatus["existingMeta"];
  const current = existingMeta?.managed_by === "jumpcloud-elastic" && existingMeta.hash === wantedHash;
  return { wanted, wantedHash, existing, existingMeta, current, withEcsMappings };
}

async function installTemplate(client: Client): Promise<SetupResult> {
  if (await integrationInstalled(client)) {
    return { action: "left-integration-alone", template: INTEGRATION_TEMPLATE_NAME, withEcsMappings: false };
  }
  const { wanted, existing, current, withEcsMappings } = await templateStatus(client);
  if (current) return { action: "unchanged", template: TEMPLATE_NAME, withEcsMappings };
  await client.indices.putIndexTemplate({ name: TEMPLATE_NAME, ...(wanted as object) } as never);
  return { action: existing ? "updated" : "installed", template: TEMPLATE_NAME, withEcsMappings };
}
