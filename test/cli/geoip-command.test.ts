import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MaxmindEmulator } from "../../simulators/maxmind/server.ts";
import { cliProcess, cli as inProcess } from "../helpers/cli.ts";
import { fixturePath } from "../helpers/fixtures.ts";

const CITY = fixturePath("geoip/GeoLite2-City-Test.mmdb");
const ASN = fixturePath("geoip/GeoLite2-ASN-Test.mmdb");

describe("cli geoip update", () => {
  const maxmind = new MaxmindEmulator({
    accountId: "123456",
    licenseKey: "good_key",
    databases: { "GeoLite2-City": CITY, "GeoLite2-ASN": ASN },
  });
  let env: Record<string, string>;
  beforeAll(async () => {
    env = {
      MAXMIND_ACCOUNT_ID: "123456",
      MAXMIND_LICENSE_KEY: "good_key",
      MAXMIND_DOWNLOAD_URL: await maxmind.start(),
    };
  });
  afterAll(() => maxmind.stop());

  it("brings a folder's databases up to date, then finds them current (as a process of its own)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "geoip-cli-"));
    const first = await cliProcess(["geoip", "update", "--dir", dir], { env });
    // Not a terminal: one line per download instead of a bar.
    expect(first.stderr).toBe(
      "info: downloading GeoLite2-City (0.0 MB)\ninfo: downloading GeoLite2-ASN (0.0 MB)\n",
    );
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(
      new RegExp(
        `^updated: ${dir}/GeoLite2-City\\.mmdb \\(built 2026-02-04 \\(\\d+ day\\(s\\) ago\\)\\)\\nupdated: ${dir}/GeoLite2-ASN\\.mmdb`,
      ),
    );
    expect(readFileSync(join(dir, "GeoLite2-City.mmdb"))).toStrictEqual(readFileSync(CITY));
    const again = await inProcess(["geoip", "update", "--dir", dir, "--json"], { env });
    expect(JSON.parse(again.stdout)).toMatchObject({
      dir,
      results: [
        { edition: "GeoLite2-City", action: "unchanged" },
        { edition: "GeoLite2-ASN", action: "unchanged" },
      ],
    });
  });

  it.each([
    [
      {},
      ["--dir", "x"],
      /^error: set MAXMIND_ACCOUNT_ID and MAXMIND_LICENSE_KEY: the account id and a licence key go together/,
    ],
    [
      { MAXMIND_LICENSE_KEY: "" },
      ["--dir", "x"],
      /^error: set MAXMIND_LICENSE_KEY: the account id and a licence key go together/,
    ],
    [
      {},
      ["--dir", fixturePath("geoip/GeoLite2-City-Test.mmdb")],
      /^error: --dir \S+GeoLite2-City-Test\.mmdb is a file: name a folder/,
    ],
    [{}, ["--dir", "  "], /^error: --dir is empty: name the folder/],
    [
      { MAXMIND_LICENSE_KEY: "wrong" },
      ["--dir", "x"],
      /^error: MaxMind refused the account id and licence key \(status 401\): check MAXMIND_ACCOUNT_ID \/ MAXMIND_LICENSE_KEY/,
    ],
    [{}, [], /required option '--dir <folder>' not specified/],
  ])("says what to fix, exit 2: %j %j", async (change, args, message) => {
    // No credentials at all for the first case; the others change the working ones.
    const base = Object.keys(change).length === 0 && args[1] === "x" ? {} : env;
    const { code, stderr } = await inProcess(["geoip", "update", ...args], { env: { ...base, ...change } });
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).not.toContain("wrong");
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
