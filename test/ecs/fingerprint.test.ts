import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { fingerprint } from "../../lib/ecs/fingerprint.ts";
import { murmur3x64x128 } from "../../lib/ecs/murmur3.ts";

const vectors = JSON.parse(
  readFileSync(new URL("../fixtures/murmur3-vectors.json", import.meta.url), "utf8"),
) as {
  vectors: { input_hex: string; digest_hex: string }[];
};

describe("murmur3x64x128", () => {
  it.each(vectors.vectors)("hashes $input_hex.length/2 bytes like the reference implementation", (v) => {
    const digest = murmur3x64x128(Buffer.from(v.input_hex, "hex"));
    expect(Buffer.from(digest).toString("hex")).toBe(v.digest_hex);
  });

  it("matches the published vector for the quick brown fox", () => {
    const digest = murmur3x64x128(Buffer.from("The quick brown fox jumps over the lazy dog"));
    expect(Buffer.from(digest).toString("hex")).toBe("e34bbc7bbc071b6c7a433ca9c49a9347");
  });
});

describe("fingerprint", () => {
  it("reproduces Elasticsearch's own test vector (fields sorted by name)", () => {
    expect(fingerprint({ foo: "foo", bar: "bar" }, ["foo", "bar"])).toBe("yjfaOoy2UQ3EHZRAzFK9sw==");
  });

  it("reproduces the _id of the first integration fixture event", () => {
    const event = { id: "63c264c6c1bd55c1b7e901a4", timestamp: "2023-01-14T08:16:06.495Z" };
    expect(fingerprint(event, ["id", "timestamp"])).toBe("+n2ZBv39b9wASQ0vnepOMg==");
  });

  it("gives no fingerprint when every field is missing", () => {
    expect(fingerprint({ other: "x" }, ["id", "timestamp"])).toBeUndefined();
  });

  it("hashes the values present, not the field names (as Elasticsearch does)", () => {
    const onlyId = fingerprint({ id: "abc" }, ["id", "timestamp"]);
    expect(onlyId).toBeDefined();
    expect(onlyId).toBe(fingerprint({ timestamp: "abc" }, ["id", "timestamp"]));
    expect(onlyId).not.toBe(fingerprint({ id: "abc", timestamp: "abc" }, ["id", "timestamp"]));
  });

  it.each([
    ["integer", 42, 42.5],
    ["boolean", true, false],
    ["object key order", { b: 1, a: 2 }, { a: 1, b: 2 }],
  ])("distinguishes %s values and is order-independent for objects", (_kind, a, b) => {
    expect(fingerprint({ id: a }, ["id"])).not.toBe(fingerprint({ id: b }, ["id"]));
  });

  // Expected values computed independently (Python mmh3 over the bytes FingerprintProcessor.toBytes writes).
  it.each([
    ["Integer 42 (4 bytes LE)", 42, "sRR5d4WUqD/w5xTps9osGA=="],
    ["Long 2^40 (8 bytes LE)", 2 ** 40, "ZDi27HwWBKSmvaea0tpYrQ=="],
    ["Double 1.5 (8 bytes LE)", 1.5, "8LyHMSa2MzChFaiUD4/ciA=="],
    ["true (0x01)", true, "fLP1xY2rJkzwPAEybsLgRA=="],
    ["false (0x02)", false, "7vM2zkQ1TtRYiKYVXcnFwQ=="],
    ["a map (sorted entries, keys hashed)", { b: 1, a: "x" }, "xPmY5eT8peDDBA8KYd8LEQ=="],
    ["a list (elements in order)", ["x", 2], "gweoOs/BUWd0FniVVYHsBA=="],
    ["UTF-8 text", "Linköping", "TrDnEASfM7uEMKelTaak8w=="],
  ])("encodes %s like Elasticsearch", (_kind, value, expected) => {
    expect(fingerprint({ id: value }, ["id"])).toBe(expected);
  });

  it("treats objects by sorted key, so key order does not change the id", () => {
    expect(fingerprint({ id: { a: 1, b: "x" } }, ["id"])).toBe(fingerprint({ id: { b: "x", a: 1 } }, ["id"]));
  });
});
