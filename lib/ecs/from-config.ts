import type { MappingConfig } from "../config.ts";
import { MaxmindGeoIpLookup } from "./geo.ts";
import { EcsMapper } from "./mapper.ts";

/** Builds a mapper from configuration, opening the GeoIP databases it names (none → no enrichment). */
export async function createMapper(config: MappingConfig): Promise<EcsMapper> {
  const geoIp =
    config.geoIpCityDb || config.geoIpAsnDb
      ? await MaxmindGeoIpLookup.open({ city: config.geoIpCityDb, asn: config.geoIpAsnDb })
      : undefined;
  return new EcsMapper({
    namespace: config.namespace,
    tags: config.tags,
    preserveOriginalEvent: config.preserveOriginalEvent,
    preserveDuplicateCustomFields: config.preserveDuplicateCustomFields,
    geoIp,
  });
}
