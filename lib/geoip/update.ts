import { createHash } from "node:crypto";
import type { AsnResponse, CityResponse } from "maxmind";
import { Reader } from "maxmind";
import { Parser } from "tar";
import { ConfigurationError, GeoIpDatabaseError, GeoIpUpdateError } from "../errors.ts";
import { type Logger, silentLogger } from "../logger.ts";
import { type Attempt, DEFAULT_RETRY_POLICY, type RetryPolicy, sleep, withRetries } from "../retry.ts";

/** The GeoLite2 editions the mapper reads (City with its default properties, ASN). */
export const EDITIONS = ["GeoLite2-City", "GeoLite2-ASN"] as const;
export type Edition = (typeof EDITIONS)[number];

/** MaxMind's download service (the `download.maxmind.com` permalinks). */
export const MAXMIND_DOWNLOAD_URL = "https://download.maxmind.com";

/**
 * An address each edition must answer before it replaces the current file. Both lie in MaxMind's
 * own test databases too (London, and Telstra's AS1221), so the emulated downloads check the same.
 */
export const KNOWN_ADDRESSES: Record<Edition, string> = {
  "GeoLite2-City": "81.2.69.144",
  "GeoLite2-ASN": "1.128.0.0",
};

/** Bytes of a download so far, and the whole when the server said it. */
export type DownloadProgress = (edition: Edition, received: number, total: number | undefined) => void;

/** A MaxMind account's credentials: the account id and a licence key. */
export interface MaxmindAccount {
  accountId: string;
  licenseKey: string;
  /** Where the account is named, for messages ("MAXMIND_LICENSE_KEY", "the secret arn:..."). */
  source: string;
}

/** Port: where the current databases are kept, compared and replaced by content hash. */
export interface DatabaseStore {
  /** Names the place in messages. */
  readonly where: string;
  /** The SHA-256 of the edition's current `.mmdb`, or undefined when there is none. */
  currentHash(edition: Edition): Promise<string | undefined>;
  /** Replaces the edition's `.mmdb` whole (a reader never sees half a file). */
  replace(edition: Edition, database: Buffer, sha256: string): Promise<void>;
}

/** What became of one edition. */
export interface EditionResult {
  edition: Edition;
  action: "updated" | "unchanged";
  builtAt: string;
  sha256: string;
}

/** Downloads from MaxMind: the `.tar.gz` and its `.sha256`, with basic auth, retried when transient. */
export class MaxmindDownloads {
  private readonly fetch: typeof fetch;
  private readonly retry: RetryPolicy;
  private readonly logger: Logger;
  private readonly timeoutMs: number;

  constructor(
    private readonly account: MaxmindAccount,
    options: {
      baseUrl?: string;
      fetch?: typeof fetch;
      retry?: RetryPolicy;
      logger?: Logger;
      /** One request, answer and body included (default 2 minutes: a City archive is about 40 MB). */
      timeoutMs?: number;
    } = {},
  ) {
    this.baseUrl = (options.baseUrl ?? MAXMIND_DOWNLOAD_URL).replace(/\/+$/, "");
    this.fetch = options.fetch ?? fetch;
    this.retry = options.retry ?? { ...DEFAULT_RETRY_POLICY, maxAttempts: 4 };
    this.logger = options.logger ?? silentLogger;
    this.timeoutMs = options.timeoutMs ?? 120_000;
  }

  private readonly baseUrl: string;

  /** The archive and the SHA-256 MaxMind publishes for it. */
  async download(
    edition: Edition,
    onProgress?: DownloadProgress,
  ): Promise<{ archive: Buffer; sha256: string }> {
    const checksum = (await this.get(edition, "tar.gz.sha256")).toString("utf8");
    const sha256 = /^([0-9a-f]{64})\b/i.exec(checksum.trim())?.[1]?.toLowerCase();
    if (!sha256)
      throw new GeoIpUpdateError(
        `${edition}: MaxMind's .sha256 file holds no SHA-256 (${JSON.stringify(checksum.slice(0, 80))})`,
      );
    return { archive: await this.get(edition, "tar.gz", onProgress), sha256 };
  }

  private url(edition: Edition, suffix: string): string {
    return `${this.baseUrl}/geoip/databases/${edition}/download?suffix=${suffix}`;
  }

  private async get(edition: Edition, suffix: string, onProgress?: DownloadProgress): Promise<Buffer> {
    const url = this.url(edition, suffix);
    const auth = Buffer.from(`${this.account.accountId}:${this.account.licenseKey}`).toString("base64");
    let cause: unknown;
    return withRetries(
      async (): Promise<Attempt<Buffer>> => {
        let response: Response;
        // A host that accepts and never answers (or stalls mid-body) must not hang a cron job.
        const signal = AbortSignal.timeout(this.timeoutMs);
        const stalled = () => ({
          done: false as const,
          failure: `no complete answer from ${new URL(url).host} within ${this.timeoutMs / 1000} s`,
        });
        try {
          // Followed redirects (to MaxMind's storage) lose the Authorization header, as fetch does cross-origin.
          response = await this.fetch(url, { headers: { authorization: `Basic ${auth}` }, signal });
        } catch (error) {
          cause = error;
          if (signal.aborted) return stalled();
          // fetch says only "fetch failed"; the reason is its cause's code (or that of the first
          // address tried), or its message ("bad port": a port fetch refuses to use).
          const inner = (error as Error).cause as
            | { code?: string; message?: string; errors?: { code?: string }[] }
            | undefined;
          const why = inner?.code ?? inner?.errors?.[0]?.code ?? inner?.message ?? (error as Error).message;
          return {
            done: false,
            failure: `cannot reach ${new URL(url).host} (${why}): check the network or HTTPS_PROXY`,
          };
        }
        if (response.status === 401 || response.status === 403)
          throw new ConfigurationError([
            `MaxMind refused the account id and licence key (status ${response.status}): check ${this.account.source} (MaxMind account → Manage license keys)`,
          ]);
        if (response.status === 429 || response.status >= 500)
          return { done: false, failure: `status ${response.status} from ${new URL(url).host}` };
        if (!response.ok)
          throw new GeoIpUpdateError(
            `${edition}: MaxMind answered ${response.status} for ${suffix} (${await snippet(response)})`,
          );
        try {
          return {
            done: true,
            value: await readBody(response, (n, total) => onProgress?.(edition, n, total)),
          };
        } catch (error) {
          cause = error;
          return signal.aborted
            ? stalled()
            : { done: false, failure: `the download was cut short (${(error as Error).message})` };
        }
      },
      {
        retry: this.retry,
        logger: this.logger,
        sleep,
        random: Math.random,
        now: Date.now,
        message: "retrying a MaxMind download",
        fields: { edition, suffix },
        giveUp: ({ attempts, failure }) =>
          new GeoIpUpdateError(`${edition}: download failed after ${attempts} attempt(s) (${failure})`, {
            cause,
          }),
      },
    );
  }
}

async function snippet(response: Response): Promise<string> {
  return (await response.text().catch(() => "")).slice(0, 120).trim() || "no body";
}

async function readBody(response: Response, progress: (n: number, total: number | undefined) => void) {
  const length = Number(response.headers.get("content-length"));
  const total = Number.isFinite(length) && length > 0 ? length : undefined;
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of response.body ?? []) {
    chunks.push(Buffer.from(chunk));
    received += chunk.length;
    progress(received, total);
  }
  return Buffer.concat(chunks);
}

/** The `.mmdb` inside a MaxMind `.tar.gz` (`<edition>_<date>/<edition>.mmdb`); a broken archive throws. */
export async function extractDatabase(edition: Edition, archive: Buffer): Promise<Buffer> {
  const found: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    // strict: a truncated or corrupt archive is an error, not a warning.
    const parser = new Parser({ strict: true });
    parser.on("entry", (entry) => {
      if (!entry.path.endsWith(`/${edition}.mmdb`) && entry.path !== `${edition}.mmdb`) {
        entry.resume();
        return;
      }
      const chunks: Buffer[] = [];
      entry.on("data", (chunk: Buffer) => chunks.push(chunk));
      entry.on("end", () => found.push(Buffer.concat(chunks)));
    });
    parser.on("error", reject);
    parser.on("end", resolve);
    parser.end(archive);
  }).catch((cause: unknown) => {
    throw new GeoIpUpdateError(`${edition}: the archive is broken (${(cause as Error).message})`, { cause });
  });
  const database = found[0];
  if (database === undefined) throw new GeoIpUpdateError(`${edition}: the archive holds no ${edition}.mmdb`);
  return database;
}

/** Opens the database and checks it is the edition asked for and answers its known address. */
export function checkDatabase(edition: Edition, database: Buffer): Date {
  let reader: Reader<CityResponse | AsnResponse>;
  try {
    reader = new Reader<CityResponse | AsnResponse>(database);
  } catch (cause) {
    throw new GeoIpDatabaseError(`${edition}: the downloaded file is not a MaxMind database`, { cause });
  }
  if (reader.metadata.databaseType !== edition)
    throw new GeoIpDatabaseError(
      `${edition}: the downloaded file is a ${reader.metadata.databaseType} database`,
    );
  const address = KNOWN_ADDRESSES[edition];
  const record = reader.get(address);
  const answers =
    edition === "GeoLite2-ASN"
      ? (record as AsnResponse | null)?.autonomous_system_number !== undefined
      : (record as CityResponse | null)?.country?.iso_code !== undefined;
  if (!answers) throw new GeoIpDatabaseError(`${edition}: the downloaded database does not know ${address}`);
  return reader.metadata.buildEpoch;
}

/**
 * Brings each edition up to date in `store`: downloaded, checksum checked, extracted, opened and
 * tried on a known address, then written only when its content changed. Every edition is tried;
 * the first failure is thrown after, and a failed edition keeps its current file.
 */
export async function updateDatabases(
  downloads: Pick<MaxmindDownloads, "download">,
  store: DatabaseStore,
  options: { editions?: readonly Edition[]; onProgress?: DownloadProgress } = {},
): Promise<EditionResult[]> {
  const results: EditionResult[] = [];
  const failures: Error[] = [];
  for (const edition of options.editions ?? EDITIONS) {
    try {
      results.push(await updateEdition(edition, downloads, store, options.onProgress));
    } catch (error) {
      // A refused licence key is refused for every edition: no point asking again.
      if (error instanceof ConfigurationError) throw error;
      failures.push(error as Error);
    }
  }
  if (failures.length > 0) {
    const message = failures.map((f) => f.message).join("; ");
    throw new GeoIpUpdateError(
      `${message}${results.length > 0 ? ` (${results.map((r) => `${r.edition} ${r.action}`).join(", ")})` : ""}; the databases in place (if any) are kept`,
      { cause: failures[0] },
    );
  }
  return results;
}

async function updateEdition(
  edition: Edition,
  downloads: Pick<MaxmindDownloads, "download">,
  store: DatabaseStore,
  onProgress?: DownloadProgress,
): Promise<EditionResult> {
  const { archive, sha256 } = await downloads.download(edition, onProgress);
  const actual = createHash("sha256").update(archive).digest("hex");
  if (actual !== sha256)
    throw new GeoIpUpdateError(
      `${edition}: the archive's SHA-256 is ${actual}, MaxMind published ${sha256} (a damaged download)`,
    );
  const database = await extractDatabase(edition, archive);
  const builtAt = checkDatabase(edition, database).toISOString();
  const hash = createHash("sha256").update(database).digest("hex");
  if ((await store.currentHash(edition)) === hash)
    return { edition, action: "unchanged", builtAt, sha256: hash };
  await store.replace(edition, database, hash);
  return { edition, action: "updated", builtAt, sha256: hash };
}
