import { ConfigurationError } from "../errors.ts";
import type { SettingName, Settings } from "./schema.ts";

/** Where addresses are enriched: the cluster's `geoip` processor, the mapper's MaxMind files, or nowhere. */
export type GeoIpMode = "cluster" | "files" | "off";

/**
 * The GeoIP mode of a run: GEOIP when set; else `files` when a database is named, `cluster` when
 * documents go to a cluster, `files` (with no database: no enrichment) when they go to NDJSON files.
 */
export function geoIpMode(
  settings: Pick<Settings, "geoIp" | "geoIpCityDb" | "geoIpAsnDb">,
  sendsToCluster: boolean,
  sourceOf: (name: SettingName) => string = () => "GEOIP",
): GeoIpMode {
  const files = settings.geoIpCityDb !== undefined || settings.geoIpAsnDb !== undefined;
  const mode = settings.geoIp ?? (files ? "files" : sendsToCluster ? "cluster" : "files");
  if (mode === "cluster" && !sendsToCluster)
    throw new ConfigurationError([
      `${sourceOf("geoIp")} is cluster, but this run writes files, not to a cluster: the cluster's ingest pipeline enriches; set GEOIP=files with GEOIP_CITY_DB / GEOIP_ASN_DB, or unset GEOIP`,
    ]);
  return mode;
}
