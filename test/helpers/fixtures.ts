import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { MaxmindGeoIpLookup } from "../../lib/ecs/geo.ts";

/** Absolute path of a file under test/fixtures. */
export function fixturePath(relative: string): string {
  return fileURLToPath(new URL(`../fixtures/${relative}`, import.meta.url));
}

/** Parsed JSON fixture. */
export function readJsonFixture<T = unknown>(relative: string): T {
  return JSON.parse(readFileSync(fixturePath(relative), "utf8")) as T;
}

/** MaxMind's test City + ASN databases, the ones Elastic's expected documents were made with. */
export function openTestGeoIp(): Promise<MaxmindGeoIpLookup> {
  return MaxmindGeoIpLookup.open({
    city: fixturePath("geoip/GeoLite2-City-Test.mmdb"),
    asn: fixturePath("geoip/GeoLite2-ASN-Test.mmdb"),
  });
}

/** A fixed collection time, so documents are deterministic. */
export const COLLECTED_AT = new Date("2026-01-02T03:04:05.678Z");
