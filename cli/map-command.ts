import { createReadStream } from "node:fs";
import { Command, Option } from "commander";
import { awsClients } from "../lib/compose/aws.ts";
import { createMapper } from "../lib/compose/pipeline.ts";
import type { EcsMapper } from "../lib/ecs/mapper.ts";
import { toBulkLines } from "../lib/elasticsearch/ndjson.ts";
import { InputError } from "../lib/errors.ts";
import { type InputChunks, type RawEvent, streamEvents } from "../lib/input/read-events.ts";
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
      await commandSettings(
        seams,
        flagOverrides(flags, MAPPING_FLAGS),
        [],
        async (loaded, problems) => {
          const deps = { aws: seams.aws ?? awsClients(), sourceOf: loaded.sourceOf };
          mapper = await collectingProblems(problems, () => createMapper(loaded.settings, deps));
        },
        { names: [...MAPPING_FLAGS, "awsRegion"], by: "map" },
      );
      if (mapper === undefined) return;
      const { events, failed } = await writeMapped(
        streamEvents(input(file, seams.io)),
        mapper,
        flags.format,
        seams.io,
      );
      note(
        seams,
        flags.json,
        `mapped ${events} event(s) for ${mapper.dataStream}; ${failed} pipeline error(s)`,
      );
    },
  );
}

/** Output goes out in chunks of about this many characters, each written before more is read. */
const CHUNK_CHARS = 1_000_000;

async function writeMapped(
  batches: AsyncIterable<RawEvent[]>,
  mapper: EcsMapper,
  format: "bulk" | "docs",
  io: CliIo,
): Promise<{ events: number; failed: number }> {
  const collectedAt = new Date();
  let events = 0;
  let failed = 0;
  let chunk = "";
  try {
    for await (const batch of batches) {
      for (const event of batch) {
        const mapped =
          "text" in event
            ? mapper.mapText(event.text, collectedAt)
            : mapper.mapValue(event.value, collectedAt);
        events++;
        if (mapped.failed) failed++;
        chunk +=
          format === "bulk" ? toBulkLines(mapper.dataStream, mapped) : `${jsonText(mapped.document)}\n`;
        if (chunk.length > CHUNK_CHARS) {
          await io.write(chunk);
          chunk = "";
        }
      }
    }
  } catch (error) {
    // Input found broken part way: what was mapped before it still goes out, whole documents.
    if (error instanceof InputError && chunk !== "") await io.write(chunk);
    throw error;
  }
  if (chunk !== "") await io.write(chunk);
  return { events, failed };
}

function input(file: string | undefined, io: CliIo): InputChunks {
  if (file !== undefined && file !== "-") return fileChunks(file);
  return io.readStdinChunks?.() ?? wholeStdin(io);
}

async function* wholeStdin(io: CliIo): AsyncGenerator<string> {
  yield await io.readStdin();
}

async function* fileChunks(file: string): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of createReadStream(file)) yield chunk as Buffer;
  } catch (cause) {
    throw new InputError(`cannot read ${file}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, {
      cause,
    });
  }
}
