import type { CityResponse } from "maxmind";
import { describe, expect, it, vi } from "vitest";
import { MaxmindGeoIpLookup, openGeoIpReader } from "../../lib/ecs/geo.ts";
import { GeoIpDatabaseError } from "../../lib/errors.ts";
import { fixturePath } from "../helpers/fixtures.ts";

describe("MaxmindGeoIpLookup", () => {
  it("reads City from GeoIP2 City databases too", async () => {
    const lookup = await MaxmindGeoIpLookup.open({ city: fixturePath("geoip/GeoIP2-City-Test.mmdb") });
    expect(lookup.city("81.2.69.144")?.city_name).toBe("London");
    expect(lookup.asn("81.2.69.144")).toBeUndefined();
  });

  it("answers nothing for unknown addresses", async () => {
    const lookup = await MaxmindGeoIpLookup.open({ asn: fixturePath("geoip/GeoLite2-ASN-Test.mmdb") });
    expect(lookup.asn("127.0.0.1")).toBeUndefined();
    expect(lookup.city("89.160.20.112")).toBeUndefined();
  });

  it("refuses a database of the wrong kind, naming it", async () => {
    await expect(
      MaxmindGeoIpLookup.open({ city: fixturePath("geoip/GeoLite2-ASN-Test.mmdb") }),
    ).rejects.toThrow(/GeoLite2-ASN.*expected a City database/);
  });

  it("refuses a missing file and a file that is not a database", async () => {
    await expect(MaxmindGeoIpLookup.open({ city: "/nonexistent/City.mmdb" })).rejects.toBeInstanceOf(
      GeoIpDatabaseError,
    );
    await expect(MaxmindGeoIpLookup.open({ asn: fixturePath("geoip/LICENSE-MIT") })).rejects.toThrow(
      /not a MaxMind database/,
    );
  });

  it("keeps the addresses used most recently when its cache is full (LRU, bounded)", async () => {
    const reader = await openGeoIpReader<CityResponse>(fixturePath("geoip/GeoLite2-City-Test.mmdb"), "City");
    const reads = vi.spyOn(reader, "get");
    const lookup = new MaxmindGeoIpLookup(reader, undefined, 2);
    const [london, linkoping, milton] = ["81.2.69.144", "89.160.20.112", "216.160.83.56"];
    lookup.city(london);
    lookup.city(linkoping);
    lookup.city(london); // London is now the most recently used
    lookup.city(milton); // the cache is full: the least recently used (Linköping) goes, not London
    expect(reads).toHaveBeenCalledTimes(3);
    expect(lookup.city(london)?.city_name).toBe("London");
    expect(reads).toHaveBeenCalledTimes(3);
    lookup.city(linkoping);
    expect(reads).toHaveBeenCalledTimes(4);
    expect(reads.mock.calls.map(([ip]) => ip)).toEqual([london, linkoping, milton, linkoping]);
  });

  it("remembers that an address is unknown", async () => {
    const reader = await openGeoIpReader<CityResponse>(fixturePath("geoip/GeoLite2-City-Test.mmdb"), "City");
    const reads = vi.spyOn(reader, "get");
    const lookup = new MaxmindGeoIpLookup(reader, undefined, 2);
    expect(lookup.city("10.0.0.1")).toBeUndefined();
    expect(lookup.city("10.0.0.1")).toBeUndefined();
    expect(reads).toHaveBeenCalledTimes(1);
  });
});
