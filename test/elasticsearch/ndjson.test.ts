import { describe, expect, it } from "vitest";
import { createAction, toBulkLines } from "../../lib/elasticsearch/ndjson.ts";

// What the action line must be: the object Elasticsearch reads, serialised by JSON.stringify.
const expected = (index: string, id: string) => JSON.stringify({ create: { _index: index, _id: id } });

describe("createAction", () => {
  it.each([
    "+n2ZBv39b9wASQ0vnepOMg==",
    "raw-Ab_c-9dEf0123456789abcdefABCDEFx",
    'quote"inside',
    "back\\slash",
    "new\nline",
    "tab\tand\u0001control",
    "é unicode ✓",
    "lone \ud800 surrogate",
    "",
  ])("writes the _id %j exactly as JSON.stringify does", (id) => {
    expect(createAction("logs-jumpcloud.events-default", id)).toBe(
      expected("logs-jumpcloud.events-default", id),
    );
  });

  it("follows the index from one call to the next", () => {
    expect(createAction("logs-a-x", "1")).toBe(expected("logs-a-x", "1"));
    expect(createAction('logs-"b"', "1")).toBe(expected('logs-"b"', "1"));
    expect(createAction("logs-a-x", "2")).toBe(expected("logs-a-x", "2"));
  });
});

describe("toBulkLines", () => {
  it("writes the action line, then the document, each ending in a newline", () => {
    const lines = toBulkLines("logs-x", { id: "a/b+c=", document: { message: "hi\n", n: 1 } });
    expect(lines).toBe(`${expected("logs-x", "a/b+c=")}\n{"message":"hi\\n","n":1}\n`);
  });
});
