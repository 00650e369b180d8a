import { readFile } from "node:fs/promises";
import { type AsnResponse, type CityResponse, Reader } from "maxmind";
import { GeoIpDatabaseError } from "../errors.ts";

/** What Elasticsearch's `geoip` processor writes from a City database with its default properties. */
export interface GeoFields {
  city_name?: string;
  continent_name?: string;
  country_iso_code?: string;
  country_name?: string;
  location?: { lat: number; lon: number };
  region_iso_code?: string;
  region_name?: string;
}

/** What the integration keeps from an ASN database (after its renames). */
export interface AsFields {
  number?: number;
  organization?: { name: string };
}

/** Port: IP address → geo and AS data. Absent databases answer `undefined`. */
export interface GeoIpLookup {
  city(ip: string): GeoFields | undefined;
  asn(ip: string): AsFields | undefined;
}

/** A bounded map that forgets its oldest entries: tenants see the same few addresses again and again. */
class BoundedCache<V> {
  // `null` stands for "looked up, nothing found", so a miss costs one Map read like a hit.
  private readonly entries = new Map<string, V | null>();

  constructor(private readonly max: number) {}

  get(key: string, compute: (key: string) => V | undefined): V | undefined {
    const cached = this.entries.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const value = compute(key);
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, value ?? null);
    return value;
  }
}

/** GeoIP lookups on MaxMind `.mmdb` databases through the `maxmind` reader, with a per-address cache. */
export class MaxmindGeoIpLookup implements GeoIpLookup {
  private readonly cityCache: BoundedCache<GeoFields>;
  private readonly asnCache: BoundedCache<AsFields>;

  constructor(
    private readonly cityReader: Reader<CityResponse> | undefined,
    private readonly asnReader: Reader<AsnResponse> | undefined,
    cacheSize = 10_000,
  ) {
    this.cityCache = new BoundedCache(cacheSize);
    this.asnCache = new BoundedCache(cacheSize);
  }

  /** Opens the databases at the given paths (either may be omitted) and checks their type. */
  static async open(paths: { city?: string; asn?: string }): Promise<MaxmindGeoIpLookup> {
    const city = paths.city ? await openGeoIpReader<CityResponse>(paths.city, "City") : undefined;
    const asn = paths.asn ? await openGeoIpReader<AsnResponse>(paths.asn, "ASN") : undefined;
    return new MaxmindGeoIpLookup(city, asn);
  }

  // Cached results are shared between documents: callers copy before changing them.
  city(ip: string): GeoFields | undefined {
    if (!this.cityReader) return undefined;
    return this.cityCache.get(ip, (key) => {
      const record = this.cityReader?.get(key);
      return record ? cityFields(record) : undefined;
    });
  }

  asn(ip: string): AsFields | undefined {
    if (!this.asnReader) return undefined;
    return this.asnCache.get(ip, (key) => this.asnRecord(key));
  }

  private asnRecord(ip: string): AsFields | undefined {
    const record = this.asnReader?.get(ip);
    if (!record) return undefined;
    const out: AsFields = {};
    if (record.autonomous_system_number !== undefined) out.number = record.autonomous_system_number;
    if (record.autonomous_system_organization) {
      out.organization = { name: record.autonomous_system_organization };
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }
}

/** Opens one `.mmdb` file and checks it is the kind of database expected. */
export async function openGeoIpReader<T extends CityResponse | AsnResponse>(
  path: string,
  kind: "City" | "ASN",
): Promise<Reader<T>> {
  let buffer: Buffer;
  try {
    buffer = await readFile(path);
  } catch (cause) {
    throw new GeoIpDatabaseError(`cannot read the GeoIP ${kind} database ${path}`, { cause });
  }
  let reader: Reader<T>;
  try {
    reader = new Reader<T>(buffer);
  } catch (cause) {
    throw new GeoIpDatabaseError(`${path} is not a MaxMind database`, { cause });
  }
  if (!reader.metadata.databaseType.includes(kind)) {
    throw new GeoIpDatabaseError(
      `${path} is a ${reader.metadata.databaseType} database; expected ${kind === "ASN" ? "an" : "a"} ${kind} database`,
    );
  }
  return reader;
}

// Mirrors the geoip processor: English names, the country (not the registered country), and
// the most specific subdivision prefixed by the country's ISO code.
function cityFields(record: CityResponse): GeoFields | undefined {
  const out: GeoFields = {};
  const cityName = record.city?.names?.en;
  if (cityName) out.city_name = cityName;
  const continentName = record.continent?.names?.en;
  if (continentName) out.continent_name = continentName;
  const countryIso = record.country?.iso_code;
  if (countryIso) out.country_iso_code = countryIso;
  const countryName = record.country?.names?.en;
  if (countryName) out.country_name = countryName;
  const latitude = record.location?.latitude;
  const longitude = record.location?.longitude;
  if (latitude !== undefined && longitude !== undefined) out.location = { lat: latitude, lon: longitude };
  const subdivision = record.subdivisions?.[record.subdivisions.length - 1];
  if (subdivision?.iso_code && countryIso) out.region_iso_code = `${countryIso}-${subdivision.iso_code}`;
  if (subdivision?.names?.en) out.region_name = subdivision.names.en;
  return Object.keys(out).length > 0 ? out : undefined;
}
