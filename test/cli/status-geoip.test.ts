import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "../helpers/cli.ts";
import { fixturePath } from "../helpers/fixtures.ts";

describe("status: the GeoIP line", () => {
  const checkpoints = () => ({ CHECKPOINT_FILE: join(mkdtempSync(join(tmpdir(), "status-geo-")), "c.json") });

  it.each([
    [{}, /^GeoIP: files$/m],
    [
      { ELASTICSEARCH_URL: "https://es.example.com" },
      /^GeoIP: cluster \(pipeline jumpcloud-elastic-logs-jumpcloud\.events-geoip\)$/m,
    ],
    [
      { GEOIP_CITY_DB: "s3://bucket/geoip/GeoLite2-City.mmdb", ELASTICSEARCH_URL: "https://es.example.com" },
      /^GeoIP: files \(pipeline jumpcloud-elastic-logs-jumpcloud\.events\); s3:\/\/bucket\/geoip\/GeoLite2-City\.mmdb \(`doctor` reads its age\)$/m,
    ],
    [{ GEOIP: "off" }, /^GeoIP: off$/m],
    [
      { GEOIP_CITY_DB: fixturePath("geoip/GeoLite2-City-Test.mmdb") },
      /^GeoIP: files; City GeoLite2-City built 2026-02-04 \(\d+ day\(s\) ago\) — stale: update it \(`geoip update`\)$/m,
    ],
    // A wrong GeoIP setting is shown, never a failed status (it does not need it to read checkpoints).
    [{ GEOIP: "bogus" }, /^GeoIP: GEOIP must be `cluster`, `files` or `off`, not "bogus"$/m],
  ])("%j", async (env, line) => {
    const { code, stdout } = await cli(["status"], { env: { ...checkpoints(), ...env } });
    expect(code).toBe(0);
    expect(stdout).toMatch(line);
  });

  it("is in --json as geoIp", async () => {
    const { stdout } = await cli(["status", "--json"], {
      env: { ...checkpoints(), GEOIP_ASN_DB: fixturePath("geoip/GeoLite2-ASN-Test.mmdb") },
    });
    expect(JSON.parse(stdout).geoIp).toMatchObject({
      mode: "files",
      databases: [
        {
          builtAt: "2026-02-04T22:49:29.000Z",
          stale: true,
          path: fixturePath("geoip/GeoLite2-ASN-Test.mmdb"),
        },
      ],
    });
  });
});

describe("a run's summary", () => {
  it("says how many documents went without geo or without the pipeline, and why", async () => {
    const { humanReport } = await import("../../cli/collection-run.ts");
    const { NO_COUNTS } = await import("../../lib/counts.ts");
    const total = { ...NO_COUNTS, received: 10, indexed: 10, withoutGeo: 4, withoutPipeline: 0 };
    const text = humanReport({
      outcome: "ok",
      orgs: [],
      total: { ...total, fetched: 10, windows: 1, pages: 1, lateEvents: 0 },
      elapsedMs: 1000,
      destination: "logs-jumpcloud.events-default",
    });
    expect(text).toContain(
      "4 document(s) with an address stored without geo: the cluster had not downloaded its GeoIP databases yet (tag _geoip_database_unavailable_<file>), or the pipeline was missing.",
    );
    expect(text).not.toContain("without this project's ingest pipeline");
  });
});
