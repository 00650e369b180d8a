import { describe, expect, it } from "vitest";
import { loadMappingConfig } from "../lib/config.ts";
import { ConfigurationError } from "../lib/errors.ts";

describe("loadMappingConfig", () => {
  it("has documented defaults", () => {
    expect(loadMappingConfig({})).toStrictEqual({
      namespace: "default",
      tags: ["forwarded"],
      preserveOriginalEvent: false,
      preserveDuplicateCustomFields: false,
      geoIpCityDb: undefined,
      geoIpAsnDb: undefined,
    });
  });

  it("reads every variable", () => {
    expect(
      loadMappingConfig({
        DATA_STREAM_NAMESPACE: "prod_eu",
        TAGS: "a, b,,",
        PRESERVE_ORIGINAL_EVENT: "TRUE",
        PRESERVE_DUPLICATE_CUSTOM_FIELDS: "1",
        GEOIP_CITY_DB: "/opt/City.mmdb",
        GEOIP_ASN_DB: "/opt/ASN.mmdb",
      }),
    ).toStrictEqual({
      namespace: "prod_eu",
      tags: ["a", "b"],
      preserveOriginalEvent: true,
      preserveDuplicateCustomFields: true,
      geoIpCityDb: "/opt/City.mmdb",
      geoIpAsnDb: "/opt/ASN.mmdb",
    });
  });

  it("reports every problem at once, naming each variable", () => {
    let error: unknown;
    try {
      loadMappingConfig({
        DATA_STREAM_NAMESPACE: "Prod-1",
        PRESERVE_ORIGINAL_EVENT: "maybe",
        PRESERVE_DUPLICATE_CUSTOM_FIELDS: "2",
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    const { problems } = error as ConfigurationError;
    expect(problems).toHaveLength(3);
    expect(problems.join("\n")).toMatch(
      /DATA_STREAM_NAMESPACE[\s\S]*PRESERVE_ORIGINAL_EVENT[\s\S]*PRESERVE_DUPLICATE_CUSTOM_FIELDS/,
    );
  });

  it.each(["a".repeat(101), "with space", "a/b", "a#b", "UPPER"])("refuses the namespace %j", (ns) => {
    expect(() => loadMappingConfig({ DATA_STREAM_NAMESPACE: ns })).toThrow(ConfigurationError);
  });
});
