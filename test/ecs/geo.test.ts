import { describe, expect, it } from "vitest";
import { MaxmindGeoIpLookup } from "../../lib/ecs/geo.ts";
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
});
