import { readFile } from "node:fs/promises";
import { Command, Option } from "commander";
import { type Environment, readMappingConfig } from "../lib/config.ts";
import { createMapper, openGeoIp } from "../lib/ecs/from-config.ts";
import { toBulkLines } from "../lib/elasticsearch/ndjson.ts";
import { ConfigurationError, InputError } from "../lib/errors.ts";
import { readEvents } from "../lib/input/read-events.ts";
import { type Output, readStdin } from "./io.ts";

interface MapFlags {
  format: "bulk" | "docs";
  namespace?: string;
  preserveOriginalEvent?: boolean;
  preserveDuplicateCustomFields?: boolean;
  geoipCity?: string;
  geoipAsn?: string;
  tags?: string;
}

/** `map`: raw events (file or stdin) → NDJSON documents or `_bulk` pairs on stdout. */
export function mapCommand(env: Environment, out: Output): Command {
  return new Command("map")
    .description("map raw JumpCloud events to ECS documents (NDJSON on stdout)")
    .argument(
      "[file]",
      "events: a JSON array, one JSON event per line, or {events:[{message}]}; stdin when omitted",
    )
    .addOption(
      new Option("--format <format>", "bulk: _bulk action + document pairs; docs: one document per line")
        .choices(["bulk", "docs"])
        .default("bulk"),
    )
    .option("--namespace <namespace>", "data stream namespace [env DATA_STREAM_NAMESPACE, default: default]")
    .option("--tags <tags>", "comma-separated tags [env TAGS, default: forwarded]")
    .option("--preserve-original-event", "keep the raw event in event.original [env PRESERVE_ORIGINAL_EVENT]")
    .option(
      "--preserve-duplicate-custom-fields",
      "keep jumpcloud.event.* fields copied to ECS [env PRESERVE_DUPLICATE_CUSTOM_FIELDS]",
    )
    .option("--geoip-city <path>", "GeoIP2/GeoLite2 City .mmdb [env GEOIP_CITY_DB]")
    .option("--geoip-asn <path>", "GeoLite2 ASN .mmdb [env GEOIP_ASN_DB]")
    .action(async (file: string | undefined, flags: MapFlags) => {
      const problems: string[] = [];
      const config = readMappingConfig(
        {
          ...env,
          ...(flags.namespace !== undefined && { DATA_STREAM_NAMESPACE: flags.namespace }),
          ...(flags.tags !== undefined && { TAGS: flags.tags }),
          ...(flags.preserveOriginalEvent && { PRESERVE_ORIGINAL_EVENT: "true" }),
          ...(flags.preserveDuplicateCustomFields && { PRESERVE_DUPLICATE_CUSTOM_FIELDS: "true" }),
          ...(flags.geoipCity !== undefined && { GEOIP_CITY_DB: flags.geoipCity }),
          ...(flags.geoipAsn !== undefined && { GEOIP_ASN_DB: flags.geoipAsn }),
        },
        problems,
      );
      if (flags.namespace === "") problems.push("--namespace must not be empty");
      // Every configuration problem, GeoIP files included, before any input is read.
      const geoIp = await openGeoIp(config, problems);
      if (problems.length > 0) {
        const named =
          flags.namespace === undefined
            ? problems
            : problems.map((p) => p.replace("DATA_STREAM_NAMESPACE", "--namespace"));
        throw new ConfigurationError(named);
      }

      const events = readEvents(await readInput(file));
      const mapper = createMapper(config, geoIp);
      const collectedAt = new Date();
      let failed = 0;
      let chunk = "";
      for (const event of events) {
        const mapped =
          "text" in event
            ? mapper.mapText(event.text, collectedAt)
            : mapper.mapValue(event.value, collectedAt);
        if (mapped.failed) failed++;
        chunk +=
          flags.format === "bulk"
            ? toBulkLines(mapper.dataStream, mapped, "text" in event ? event.text : event.value)
            : `${JSON.stringify(mapped.document)}\n`;
        if (chunk.length > 1_000_000) {
          await out.write(chunk);
          chunk = "";
        }
      }
      await out.write(chunk);
      out.log(`mapped ${events.length} event(s) for ${mapper.dataStream}; ${failed} pipeline error(s)`);
    });
}

async function readInput(file: string | undefined): Promise<string> {
  if (file === undefined || file === "-") return readStdin();
  try {
    return await readFile(file, "utf8");
  } catch (cause) {
    throw new InputError(`cannot read ${file}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, {
      cause,
    });
  }
}
