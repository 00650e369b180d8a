import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ConfigurationError, GeoIpUpdateError } from "../../lib/errors.ts";
import { DirectoryDatabaseStore, S3DatabaseStore } from "../../lib/geoip/stores.ts";
import {
  type DatabaseStore,
  type Edition,
  MaxmindDownloads,
  updateDatabases,
} from "../../lib/geoip/update.ts";
import { MaxmindEmulator } from "../../simulators/maxmind/server.ts";
import { fixturePath } from "../helpers/fixtures.ts";

const CITY = fixturePath("geoip/GeoLite2-City-Test.mmdb");
const ASN = fixturePath("geoip/GeoLite2-ASN-Test.mmdb");
const ACCOUNT = { accountId: "123456", licenseKey: "right_licence_key", source: "MAXMIND_LICENSE_KEY" };
const FAST = { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2, maxElapsedMs: 1_000 };
const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/** A store that counts its writes. */
function counted(store: DatabaseStore) {
  const writes: Edition[] = [];
  return {
    writes,
    store: {
      where: store.where,
      currentHash: (edition: Edition) => store.currentHash(edition),
      replace: async (edition: Edition, database: Buffer, hash: string) => {
        writes.push(edition);
        await store.replace(edition, database, hash);
      },
    } satisfies DatabaseStore,
  };
}

describe("updating the GeoLite2 databases from MaxMind's download service (emulated)", () => {
  const maxmind = new MaxmindEmulator({
    ...ACCOUNT,
    databases: { "GeoLite2-City": CITY, "GeoLite2-ASN": ASN },
  });
  let dir: string;
  const downloads = (account = ACCOUNT) =>
    new MaxmindDownloads(account, { baseUrl: maxmind.url, retry: FAST });

  beforeAll(() => maxmind.start());
  afterAll(() => maxmind.stop());
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "geoip-update-"));
  });

  it("downloads both editions with basic auth, checks them, writes them; run again, writes nothing", async () => {
    const { store, writes } = counted(new DirectoryDatabaseStore(dir));
    const progress: number[] = [];
    const first = await updateDatabases(downloads(), store, { onProgress: (_, n) => progress.push(n) });
    expect(first.map((r) => [r.edition, r.action])).toStrictEqual([
      ["GeoLite2-City", "updated"],
      ["GeoLite2-ASN", "updated"],
    ]);
    expect(first[0]?.builtAt).toBe("2026-02-04T22:49:29.000Z");
    expect(readFileSync(join(dir, "GeoLite2-City.mmdb"))).toStrictEqual(readFileSync(CITY));
    expect(readFileSync(join(dir, "GeoLite2-ASN.mmdb"))).toStrictEqual(readFileSync(ASN));
    expect(progress.length).toBeGreaterThan(0);
    // The permalink needs the credentials; the storage it redirects to is asked without them.
    const permalinks = maxmind.requests.filter((r) => r.path.startsWith("/geoip/"));
    expect(permalinks.every((r) => r.authorized)).toBe(true);
    expect(maxmind.requests.some((r) => r.path.startsWith("/storage/"))).toBe(true);

    const mtime = statSync(join(dir, "GeoLite2-City.mmdb")).mtimeMs;
    const again = await updateDatabases(downloads(), store);
    expect(again.map((r) => r.action)).toStrictEqual(["unchanged", "unchanged"]);
    expect(writes).toStrictEqual(["GeoLite2-City", "GeoLite2-ASN"]);
    expect(statSync(join(dir, "GeoLite2-City.mmdb")).mtimeMs).toBe(mtime);
  });

  it("a refused licence key (401) is a configuration error naming where the key is set; nothing written", async () => {
    const { store, writes } = counted(new DirectoryDatabaseStore(dir));
    const failure = updateDatabases(downloads({ ...ACCOUNT, licenseKey: "wrong" }), store);
    await expect(failure).rejects.toThrow(ConfigurationError);
    await expect(updateDatabases(downloads({ ...ACCOUNT, licenseKey: "wrong" }), store)).rejects.toThrow(
      /^MaxMind refused the account id and licence key \(status 401\): check MAXMIND_LICENSE_KEY/,
    );
    expect(writes).toStrictEqual([]);
  });

  // Each failure keeps the database in place, and the other edition is still brought up to date.
  it.each([
    [
      "wrong-checksum",
      /GeoLite2-City: the archive's SHA-256 is [0-9a-f]{64}, MaxMind published [0-9a-f]{64}/,
    ],
    ["truncated", /GeoLite2-City: the archive is broken/],
    ["not-a-database", /GeoLite2-City: the downloaded file is not a MaxMind database/],
  ] as const)("%s: fails loudly, keeps the current database", async (fault, message) => {
    const old = Buffer.from("the database of last week");
    writeFileSync(join(dir, "GeoLite2-City.mmdb"), old);
    const { store, writes } = counted(new DirectoryDatabaseStore(dir));
    maxmind.inject(fault);
    const failure = await updateDatabases(downloads(), store).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(GeoIpUpdateError);
    expect((failure as Error).message).toMatch(message);
    expect((failure as Error).message).toMatch(
      /\(GeoLite2-ASN updated\); the databases in place \(if any\) are kept$/,
    );
    expect(readFileSync(join(dir, "GeoLite2-City.mmdb"))).toStrictEqual(old);
    expect(writes).toStrictEqual(["GeoLite2-ASN"]);
  });

  it("gives up on a host that accepts and never answers, within the timeout, naming it", async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const slow = new MaxmindDownloads(ACCOUNT, {
        baseUrl: `http://127.0.0.1:${port}`,
        retry: FAST,
        timeoutMs: 200,
      });
      const { store, writes } = counted(new DirectoryDatabaseStore(dir));
      await expect(updateDatabases(slow, store, { editions: ["GeoLite2-City"] })).rejects.toThrow(
        `GeoLite2-City: download failed after 2 attempt(s) (no complete answer from 127.0.0.1:${port} within 0.2 s); the databases in place (if any) are kept`,
      );
      expect(writes).toStrictEqual([]);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it("keeps the databases in S3 as whole objects with their SHA-256, and rewrites none unchanged", async () => {
    const objects = new Map<string, { Body: Buffer; Metadata: Record<string, string> }>();
    const s3 = {
      send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
        const key = String(command.input.Key);
        if (command.constructor.name === "HeadObjectCommand") {
          const object = objects.get(key);
          if (!object)
            throw Object.assign(new Error("UnknownError"), {
              // As the SDK reports S3's bodiless 403 to a HEAD (seen in the deployed-stack test).
              name: "Unknown",
              $metadata: { httpStatusCode: 403 },
            });
          return { Metadata: object.Metadata };
        }
        objects.set(key, {
          Body: command.input.Body as Buffer,
          Metadata: command.input.Metadata as Record<string, string>,
        });
        return {};
      },
    };
    const store = new S3DatabaseStore(s3 as never, "bucket", "geoip/");
    expect(store.url("GeoLite2-City")).toBe("s3://bucket/geoip/GeoLite2-City.mmdb");
    await updateDatabases(downloads(), store);
    const city = objects.get("geoip/GeoLite2-City.mmdb");
    expect(city?.Metadata.sha256).toBe(sha(readFileSync(CITY)));
    expect(city?.Body).toStrictEqual(readFileSync(CITY));
    const { store: watched, writes } = counted(store);
    expect((await updateDatabases(downloads(), watched)).map((r) => r.action)).toStrictEqual([
      "unchanged",
      "unchanged",
    ]);
    expect(writes).toStrictEqual([]);
  });
});
