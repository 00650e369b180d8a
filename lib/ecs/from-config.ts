import type { AsnResponse, CityResponse } from "maxmind";
import type { MappingConfig } from "../config.ts";
import { GeoIpDatabaseError } from "../errors.ts";
import { type GeoIpLookup, MaxmindGeoIpLookup, openGeoIpReader } from "./geo.ts";
import { EcsMapper } from "./mapper.ts";

/**
 * Opens the GeoIP databases the configuration names (none → no enrichment). Unusable databases
 * are added to `problems`, all of them, rather than thrown one at a time.
 */
export async function openGeoIp(config: MappingConfig, problems: string[]): Promise<GeoIpLookup | undefined> {
  if (!config.geoIpCityDb && !config.geoIpAsnDb) return undefined;
  const [city, asn] = await Promise.allSettled([
    config.geoIpCityDb ? openGeoIpReader<CityResponse>(config.geoIpCityDb, "City") : undefined,
    config.geoIpAsnDb ? openGeoIpReader<AsnResponse>(config.geoIpAsnDb, "ASN") : undefined,
  ]);
  for (const result of [city, asn]) {
    if (result.status === "rejected") {
      if (!(result.reason instanceof GeoIpDatabaseError)) throw result.reason;
      problems.push(result.reason.message);
    }
  }
  if (city.status === "rejected" || asn.status === "rejected") return undefined;
  return new MaxmindGeoIpLookup(city.value, asn.value);
}

/** Builds a mapper from configuration and an opened GeoIP lookup. */
export function createMapper(config: MappingConfig, geoIp: GeoIpLookup | undefined): EcsMapper {
  return new EcsMapper({
    namespace: config.namespace,
    tags: config.tags,
    preserveOriginalEvent: config.preserveOriginalEvent,
    preserveDuplicateCustomFields: config.preserveDuplicateCustomFields,
    geoIp,
  });
}
