import { describe, expect, it } from "vitest";
import { InputError } from "../../lib/errors.ts";
import { readEvents } from "../../lib/input/read-events.ts";

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
