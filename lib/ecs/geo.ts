import { readFile } from "node:fs/promises";
import { LRUCache } from "lru-cache";
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

/**
 * Port: IP address → geo and AS data. Absent databases answer `undefined`. Answers go into
 * documents as they are, shared between them: they must never change afterwards.
 */
export interface GeoIpLookup {
  city(ip: string): GeoFields | undefined;
  asn(ip: string): AsFields | undefined;
}

/** What the databases say about one address (`undefined`: nothing, or no such database). */
interface AddressRecords {
  readonly city: GeoFields | undefined;
  readonly asn: AsFields | undefined;
}

/** GeoIP lookups on MaxMind `.mmdb` databases through the `maxmind` reader, with a per-address cache. */
export class MaxmindGeoIpLookup implements GeoIpLookup {
  // Least recently used forgotten first: tenants see the same few addresses again and again, and
  // those must survive a burst of one-off ones.
  private readonly cache: LRUCache<string, AddressRecords>;
  // The mapper asks for an address's city, then for its AS: the second answer needs no cache walk.
  private lastIp: string | undefined;
  private lastRecords: AddressRecords = { city: undefined, asn: undefined };

  constructor(
    private readonly cityReader: Reader<CityResponse> | undefined,
    private readonly asnReader: Reader<AsnResponse> | undefined,
    cacheSize = 10_000,
  ) {
    this.cache = new LRUCache({ max: cacheSize });
  }

  /** Each open database: its kind, MaxMind's type name and when it was built (for age checks). */
  databases(): { kind: "City" | "ASN"; type: string; builtAt: Date }[] {
    const info = (kind: "City" | "ASN", reader: Reader<CityResponse> | Reader<AsnResponse> | undefined) =>
      reader ? [{ kind, type: reader.metadata.databaseType, builtAt: reader.metadata.buildEpoch }] : [];
    return [...info("City", this.cityReader), ...info("ASN", this.asnReader)];
  }

  /** Opens the databases at the given paths (either may be omitted) and checks their type. */
  static async open(paths: { city?: string; asn?: string }): Promise<MaxmindGeoIpLookup> {
    const city = paths.city ? await openGeoIpReader<CityResponse>(paths.city, "City") : undefined;
    const asn = paths.asn ? await openGeoIpReader<AsnResponse>(paths.asn, "ASN") : undefined;
    return new MaxmindGeoIpLookup(city, asn);
  }

  // Cached answers are shared by every document that has the address: frozen, so none can change them.
  city(ip: string): GeoFields | undefined {
    return this.records(ip).city;
  }

  asn(ip: string): AsFields | undefined {
    return this.records(ip).asn;
  }

  private records(ip: string): AddressRecords {
    if (ip === this.lastIp) return this.lastRecords;
    let records = this.cache.get(ip);
    if (records === undefined) {
      records = { city: this.cityRecord(ip), asn: this.asnRecord(ip) };
      this.cache.set(ip, records);
    }
    this.lastIp = ip;
    this.lastRecords = records;
    return records;
  }

  private cityRecord(ip: string): GeoFields | undefined {
    const record = this.cityReader?.get(ip);
    return record ? cityFields(record) : undefined;
  }

  private asnRecord(ip: string): AsFields | undefined {
    const record = this.asnReader?.get(ip);
    if (!record) return undefined;
    const out: AsFields = {};
    if (record.autonomous_system_number !== undefined) out.number = record.autonomous_system_number;
    if (record.autonomous_system_organization) {
      out.organization = Object.freeze({ name: record.autonomous_system_organization });
    }
    return Object.keys(out).length > 0 ? Object.freeze(out) : undefined;
  }
}

/** MaxMind publishes GeoLite2 twice a week; its licence asks that copies be kept up to date. */
export const STALE_DATABASE_DAYS = 30;

/** "City GeoLite2-City built 2026-11-30 (7 days ago)", and whether it is past STALE_DATABASE_DAYS. */
export function describeDatabase(
  database: { kind: string; type: string; builtAt: Date },
  now = Date.now(),
): { text: string; stale: boolean } {
  const days = Math.floor((now - database.builtAt.getTime()) / 86_400_000);
  return {
    text: `${database.kind} ${database.type} built ${database.builtAt.toISOString().slice(0, 10)} (${days} day(s) ago)`,
    stale: days > STALE_DATABASE_DAYS,
  };
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
  if (latitude !== undefined && longitude !== undefined)
    out.location = Object.freeze({ lat: latitude, lon: longitude });
  const subdivision = record.subdivisions?.[record.subdivisions.length - 1];
  if (subdivision?.iso_code && countryIso) out.region_iso_code = `${countryIso}-${subdivision.iso_code}`;
  if (subdivision?.names?.en) out.region_name = subdivision.names.en;
  return Object.keys(out).length > 0 ? Object.freeze(out) : undefined;
}
