import { readFile } from "node:fs/promises";
import { Command, Option } from "commander";
import { awsClients } from "../lib/compose/aws.ts";
import { createMapper } from "../lib/compose/pipeline.ts";
import type { EcsMapper } from "../lib/ecs/mapper.ts";
import { toBulkLines } from "../lib/elasticsearch/ndjson.ts";
import { InputError } from "../lib/errors.ts";
import { type RawEvent, readEvents } from "../lib/input/read-events.ts";
import { jsonText } from "../lib/json-text.ts";
import type { SettingName } from "../lib/settings/schema.ts";
import type { CliIo } from "./io.ts";
import { note } from "./output.ts";
import {
  type CliSeams,
  collectingProblems,
  commandSettings,
  flagOverrides,
  settingOption,
} from "./settings.ts";

const MAPPING_FLAGS: readonly SettingName[] = [
  "namespace",
  "tags",
  "preserveOriginalEvent",
  "preserveDuplicateCustomFields",
  "geoIpCityDb",
  "geoIpAsnDb",
];

/** `map`: raw events (file or stdin) → NDJSON documents or `_bulk` pairs on stdout. */
export function mapCommand(seams: CliSeams): Command {
  const command = new Command("map")
    .description("map raw JumpCloud events to ECS documents (NDJSON on stdout)")
    .argument(
      "[file]",
      "events: a JSON array, one JSON event per line, or {events:[{message}]}; stdin when omitted",
    )
    .addOption(
      new Option("--format <format>", "bulk: _bulk action + document pairs; docs: one document per line")
        .choices(["bulk", "docs"])
        .default("bulk"),
    );
  for (const name of MAPPING_FLAGS) command.addOption(settingOption(name));
  return command.action(
    async (file: string | undefined, flags: { format: "bulk" | "docs"; json?: boolean }) => {
      // Every configuration problem, GeoIP files included, before any input is read.
      let mapper: EcsMapper | undefined;
      await commandSettings(seams, flagOverrides(flags, MAPPING_FLAGS), [], async (loaded, problems) => {
        const deps = { aws: seams.aws ?? awsClients(), sourceOf: loaded.sourceOf };
        mapper = await collectingProblems(problems, () => createMapper(loaded.settings, deps));
      });
      if (mapper === undefined) return;
      const events = readEvents(await readInput(file, seams.io));
      const failed = await writeMapped(events, mapper, flags.format, seams.io);
      note(
        seams,
        flags.json,
        `mapped ${events.length} event(s) for ${mapper.dataStream}; ${failed} pipeline error(s)`,
      );
    },
  );
}

async function writeMapped(
  events: RawEvent[],
  mapper: EcsMapper,
  format: "bulk" | "docs",
  io: CliIo,
): Promise<number> {
  const collectedAt = new Date();
  let failed = 0;
  let chunk = "";
  for (const event of events) {
    const mapped =
      "text" in event ? mapper.mapText(event.text, collectedAt) : mapper.mapValue(event.value, collectedAt);
    if (mapped.failed) failed++;
    chunk += format === "bulk" ? toBulkLines(mapper.dataStream, mapped) : `${jsonText(mapped.document)}\n`;
    if (chunk.length > 1_000_000) {
      await io.write(chunk);
      chunk = "";
    }
  }
  await io.write(chunk);
  return failed;
}

async function readInput(file: string | undefined, io: CliIo): Promise<string> {
  if (file === undefined || file === "-") return io.readStdin();
  try {
    return await readFile(file, "utf8");
  } catch (cause) {
    throw new InputError(`cannot read ${file}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, {
      cause,
    });
  }
}
