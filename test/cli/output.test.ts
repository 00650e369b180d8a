import { describe, expect, it } from "vitest";
import { table } from "../../cli/output.ts";

describe("table", () => {
  it("pads each column to its widest cell, two spaces apart, no trailing blanks", () => {
    expect(
      table(
        ["a", "bb"],
        [
          ["xxx", "y"],
          ["z", ""],
        ],
      ),
    ).toBe(["a    bb", "xxx  y", "z"].join("\n"));
  });

  it("gives a multi-line cell one line each, in its own column, the row's other cells on its first line", () => {
    const text = table(
      ["org", "in window", "lease"],
      [
        ["o1", "4 page(s) into A → B\n0 page(s) into B → C", "free"],
        ["o2", "—", "held"],
      ],
    );
    expect(text.split("\n")).toStrictEqual([
      "org  in window             lease",
      "o1   4 page(s) into A → B  free",
      "     0 page(s) into B → C",
      "o2   —                     held",
    ]);
  });
});
