import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InputError } from "../../lib/errors.ts";
import { type RawEvent, readEvents, type StreamLimits, streamEvents } from "../../lib/input/read-events.ts";

describe("readEvents", () => {
  it("reads a JSON array as parsed events", () => {
    expect(readEvents('[{"id":"a"}, 5]')).toStrictEqual([{ value: { id: "a" } }, { value: 5 }]);
  });

  it("reads the pipeline-test form as raw texts", () => {
    expect(readEvents('{"events":[{"message":"{\\"id\\":\\"a\\"}"}]}')).toStrictEqual([
      { text: '{"id":"a"}' },
    ]);
  });

  it("reads one JSON value per line, keeping bad lines as events", () => {
    expect(readEvents('{"id":"a"}\r\n\n{broken\n{"id":"b"}\n')).toStrictEqual([
      { text: '{"id":"a"}' },
      { text: "{broken" },
      { text: '{"id":"b"}' },
    ]);
  });

  it("reads a single pretty-printed event as one event", () => {
    expect(readEvents('{\n  "id": "a"\n}\n')).toStrictEqual([{ text: '{\n  "id": "a"\n}' }]);
  });

  it.each(["", "  \n", "not json\nat all", "1\n\u0000\u00ff binary\n[2]"])(
    "refuses input with no JSON object at all: %j",
    (input) => {
      expect(() => readEvents(input)).toThrow(InputError);
    },
  );
});

describe("readEvents refusals", () => {
  it.each(['[{"id":"a"},{"id":', '\uFEFF[\n{"id":"a"},\n{"id":"b"},\n', "[1, 2"])(
    "says an input that opens as an array is a broken array, with the parser's reason: %j",
    (input) => {
      expect(() => readEvents(input)).toThrow(
        /^the input opens as a JSON array but is no valid JSON \(.+\): expected JumpCloud events/,
      );
    },
  );

  it.each(["not json\n[oops", '[{"id":"a"}]\n[{"id":"b"}]'])(
    "says no line is a JSON object for other text: %j",
    (input) => {
      expect(() => readEvents(input)).toThrow(/^no line of the input is a JSON object \(2 line/);
    },
  );
});

describe("readEvents envelopes", () => {
  it("unwraps {event: {...}} elements with _-prefixed metadata (vendor fixtures)", () => {
    expect(
      readEvents('{"events":[{"_fixture":"a.json","event":{"id":"a"}},{"event":{"id":"b"},"other":1}]}'),
    ).toStrictEqual([{ value: { id: "a" } }, { value: { event: { id: "b" }, other: 1 } }]);
  });

  it("reads {events:[...]} holding event objects, and messages mixed in", () => {
    expect(
      readEvents('{"_source":"x","events":[{"id":"a"},{"message":"{}"},{"message":"m","id":"b"}]}'),
    ).toStrictEqual([{ value: { id: "a" } }, { text: "{}" }, { value: { message: "m", id: "b" } }]);
  });
});

/** The events streamEvents reads from `input` cut into chunks of `size` bytes. */
async function streamed(input: string, limits: Partial<StreamLimits> = {}, size = 7): Promise<RawEvent[]> {
  const bytes = Buffer.from(input);
  async function* chunks() {
    for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
  }
  const events: RawEvent[] = [];
  for await (const batch of streamEvents(chunks(), limits)) events.push(...batch);
  return events;
}

/** Streams whatever the size (the whole-input path is for input up to 1 MiB). */
const STREAM: Partial<StreamLimits> = { wholeChars: 0 };

function isObjectText(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text.replace(/^\uFEFF/, ""));
    return typeof value === "object" && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

const envelope = `{
  "_source": "x",
  "events": [
    {"message": "{\\"id\\":\\"a\\"}"},
    {"_fixture": "b.json", "event": {"id": "b"}},
    {"id": "c"},
    7
  ]
}`;

describe("streamEvents", () => {
  it.each([
    '[{"id":"a"}, 5]',
    '{"events":[{"message":"{\\"id\\":\\"a\\"}"}]}',
    '{"id":"a"}\r\n\n{broken\n{"id":"b"}\n',
    '{\n  "id": "a"\n}\n',
    '\uFEFF{"id":"a"}',
    envelope,
  ])("reads input up to its whole-input size exactly as readEvents: %j", async (input) => {
    expect(await streamed(input)).toStrictEqual(readEvents(input));
  });

  it.each(["", "  \n", "not json\nat all", "1\n\u0000\u00ff binary\n[2]", "null", '[{"id":"a"},{"id":'])(
    "refuses what readEvents refuses, with its message: %j",
    async (input) => {
      const refusal = (() => {
        try {
          readEvents(input);
        } catch (error) {
          return (error as Error).message;
        }
      })();
      await expect(streamed(input)).rejects.toThrow(new InputError(refusal as string));
      await expect(streamed(input, STREAM)).rejects.toThrow(InputError);
    },
  );

  it("streams one event a line as readEvents splits them, with chunks cut anywhere (inside a character too)", async () => {
    const input =
      '\uFEFF{"id":"é"}\r\n\n  \n{broken 😀\n\uFEFF{"id":"b","m":"\uFEFFx"}\r\nnot json\n1\n{"id":"c"}';
    for (const size of [1, 2, 3, 5, 64])
      expect(await streamed(input, STREAM, size)).toStrictEqual(readEvents(input));
  });

  it("streams events a line like readEvents, whatever the lines and chunks (property)", async () => {
    const line = fc.oneof(
      fc.constantFrom('{"id":"a"}', "{broken", "not json", "1", "", "  ", '\uFEFF{"id":"b"}', "\u0000\u00ff"),
      fc.string({ unit: "grapheme" }).map((s) => JSON.stringify({ id: s })),
    );
    const input = fc
      .tuple(fc.array(line, { minLength: 2, maxLength: 12 }), fc.constantFrom("\n", "\r\n"))
      .map(([lines, end]) => lines.join(end));
    await fc.assert(
      fc.asyncProperty(input, fc.integer({ min: 1, max: 40 }), async (text, size) => {
        // Past 1 MiB, a first line that opens a JSON document and is no object alone starts one.
        const first = text.split("\n").find((l) => l.trim() !== "") ?? "";
        fc.pre(!/^\uFEFF?[[{]/.test(first) || isObjectText(first));
        const expected = (() => {
          try {
            return readEvents(text);
          } catch (error) {
            return error as Error;
          }
        })();
        if (expected instanceof Error) await expect(streamed(text, STREAM, size)).rejects.toThrow(InputError);
        // A lone line holding the only event is read whole (trimmed) by readEvents.
        else if (expected.length > 1) expect(await streamed(text, STREAM, size)).toStrictEqual(expected);
      }),
      { seed: 13, numRuns: 300 },
    );
  });

  it("streams a JSON array and {events: [...]} through the parser, as readEvents reads them", async () => {
    const array = '\uFEFF[\n  {"id": "a"},\n  {"id": "é", "n": [1, {"x": null}]},\n  5\n]\n';
    const lined = '[\n{"id":"a"},\n{"id":"b"},\n{"id":"c"}\n]';
    for (const size of [1, 3, 64]) {
      expect(await streamed(array, STREAM, size)).toStrictEqual(readEvents(array));
      expect(await streamed(lined, { wholeChars: 10 }, size)).toStrictEqual(readEvents(lined));
      expect(await streamed(envelope, STREAM, size)).toStrictEqual(readEvents(envelope));
    }
  });

  it("takes input whose start has a JSON object on a line of its own as events a line, a broken first line too", async () => {
    expect(await streamed('{broken\n{"id":"a"}\n[1]\n{"id":"b"}\n', { wholeChars: 10 }, 64)).toStrictEqual([
      { text: "{broken" },
      { text: '{"id":"a"}' },
      { text: "[1]" },
      { text: '{"id":"b"}' },
    ]);
  });

  it("reads a first line that is a JSON value alone, blanks after it, as readEvents does", async () => {
    for (const input of [
      '{"events":[{"id":"a"}]}\n\n  \r\n',
      '[1, {"id":"a"}]\n',
      '{"id":"a"}\n \n',
      "7\n\n",
    ]) {
      for (const size of [1, 4]) {
        const read = streamed(input, STREAM, size);
        if (input.startsWith("7"))
          await expect(read).rejects.toThrow(/no line of the input is a JSON object/);
        else expect(await read).toStrictEqual(readEvents(input));
      }
    }
    // Blank lines between are let go; the spaces that start a line are the event's.
    const spaced = '{"id":"a"}\n\n   \n   {"id":"b"}';
    for (const size of [1, 5]) expect(await streamed(spaced, STREAM, size)).toStrictEqual(readEvents(spaced));
  });

  it("streams a JSON array or {events: [...]} on one line longer than lineChars", async () => {
    const array = '\uFEFF[{"id":"a"},{"id":"b"},3]';
    const envelopeLine = '{"events":[{"message":"{}"},{"id":"c"}]}';
    for (const input of [array, envelopeLine])
      expect(await streamed(input, { wholeChars: 0, lineChars: 4 }, 3)).toStrictEqual(readEvents(input));
  });

  it("fails a JSON array broken part way after handing over the events before it", async () => {
    const events: RawEvent[] = [];
    const broken = async () => {
      for await (const batch of streamEvents(
        [Buffer.from('[{"id":"a"},\n{"id":"b"},\n'), Buffer.from("{oops}]\n")],
        STREAM,
      ))
        events.push(...batch);
    };
    await expect(broken()).rejects.toThrow(/^the input is no valid JSON array past its 2 event\(s\) read: /);
    expect(events).toStrictEqual([{ value: { id: "a" } }, { value: { id: "b" } }]);
  });

  it.each([
    ['{\n  "id": "a",\n  "x": 1\n}', /no "events" array with events in it/],
    ['{\n  "events": {"a": 1}\n}', /"events" is not an array/],
    ['{\n  "events": []\n} {"more": 1}', /no valid JSON object past its 0 event/],
  ])("refuses a JSON object streamed with no events array in it: %j", async (input, message) => {
    await expect(streamed(input, STREAM)).rejects.toThrow(message);
  });

  it("gives up on input with no JSON object line within pendingChars, having handed over nothing", async () => {
    const batches: RawEvent[][] = [];
    const garbage = async () => {
      for await (const batch of streamEvents([Buffer.from(`${"x\n".repeat(100)}{"id":"a"}\n`)], {
        ...STREAM,
        pendingChars: 50,
      }))
        batches.push(batch);
    };
    await expect(garbage()).rejects.toThrow(
      /^no line of the input in its first 0 MiB is a JSON object \(51 line/,
    );
    expect(batches).toStrictEqual([]);
  });
});
