import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "tar";
import { closeServer, listenOnLoopback, loopbackOrigin } from "../loopback.ts";

/** How the next downloads go wrong (each one for one `.tar.gz` request). */
export type MaxmindFault = "wrong-checksum" | "truncated" | "not-a-database";

/** What the emulator serves: account, and per edition the `.mmdb` standing in for MaxMind's. */
export interface MaxmindEmulatorOptions {
  accountId: string;
  licenseKey: string;
  /** Edition (`GeoLite2-City`) → path of the `.mmdb` the archive holds. */
  databases: Record<string, string>;
  /** The date in the archive's folder name (`GeoLite2-City_20260204`). */
  release?: string;
}

/**
 * MaxMind's download service on loopback, as its permalinks behave: `GET
 * /geoip/databases/<edition>/download?suffix=tar.gz` (or `tar.gz.sha256`) with HTTP basic auth
 * (account id : licence key; 401 otherwise), answered by a redirect to storage that needs no
 * auth, which serves a `.tar.gz` of `<edition>_<date>/<edition>.mmdb` plus the licence files,
 * and its `<sha256>  <file name>` line. A fault applies to the next release asked for (its checksum
 * line, then its archive): a checksum for other bytes, or a broken archive published as it is.
 */
export class MaxmindEmulator {
  /** Every request: method, path and query, and whether it carried the right credentials. */
  readonly requests: { path: string; authorized: boolean }[] = [];
  private readonly archives = new Map<string, { bytes: Buffer; name: string }>();
  private readonly faults: MaxmindFault[] = [];
  /** Per edition, the archive the last checksum was given for (the next download serves it). */
  private readonly served = new Map<string, Buffer>();
  private readonly broken = new Map<MaxmindFault, Buffer>();
  private server: Server | undefined;

  constructor(private readonly options: MaxmindEmulatorOptions) {}

  /** The next release downloaded (checksum, then archive) goes wrong as `fault` says. */
  inject(fault: MaxmindFault): void {
    this.faults.push(fault);
  }

  /** Serves a new database for an edition from now on (a new release). */
  async publish(edition: string, path: string): Promise<void> {
    this.options.databases[edition] = path;
    this.archives.set(edition, await this.build(edition, path));
  }

  async start(port = 0): Promise<string> {
    for (const [edition, path] of Object.entries(this.options.databases))
      this.archives.set(edition, await this.build(edition, path));
    const [edition, path] = Object.entries(this.options.databases)[0] ?? [];
    if (edition && path) {
      const whole = (this.archives.get(edition) as { bytes: Buffer }).bytes;
      // Cut mid-file, and a "database" that is a text file: each published with its own checksum.
      this.broken.set("truncated", whole.subarray(0, Math.floor(whole.length / 2)));
      this.broken.set("not-a-database", (await this.build(edition, path, "not a MaxMind database\n")).bytes);
    }
    this.server = createServer((req, res) => this.handle(req, res));
    await listenOnLoopback(this.server, port);
    return this.url;
  }

  get url(): string {
    return loopbackOrigin(this.server);
  }

  stop(): Promise<void> {
    return closeServer(this.server);
  }

  private async build(
    edition: string,
    path: string,
    content?: string,
  ): Promise<{ bytes: Buffer; name: string }> {
    const folder = `${edition}_${this.options.release ?? "20260204"}`;
    const root = mkdtempSync(join(tmpdir(), "maxmind-emulator-"));
    try {
      mkdirSync(join(root, folder));
      if (content === undefined) copyFileSync(path, join(root, folder, `${edition}.mmdb`));
      else writeFileSync(join(root, folder, `${edition}.mmdb`), content);
      writeFileSync(
        join(root, folder, "COPYRIGHT.txt"),
        "Database and Contents Copyright (c) MaxMind, Inc.\n",
      );
      const chunks: Buffer[] = [];
      const stream = create({ gzip: true, cwd: root, portable: true }, [folder]);
      for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
      return { bytes: Buffer.concat(chunks), name: `${folder}.tar.gz` };
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://x");
    const expected = `Basic ${Buffer.from(`${this.options.accountId}:${this.options.licenseKey}`).toString("base64")}`;
    const authorized = req.headers.authorization === expected;
    this.requests.push({ path: `${url.pathname}${url.search}`, authorized });
    const permalink = /^\/geoip\/databases\/([\w-]+)\/download$/.exec(url.pathname);
    if (permalink) {
      const edition = permalink[1] as string;
      const suffix = url.searchParams.get("suffix");
      if (!authorized) {
        this.text(res, 401, "Invalid license key\n");
        return;
      }
      if (!this.archives.has(edition)) {
        this.text(res, 404, "Database edition not found\n");
        return;
      }
      if (suffix !== "tar.gz" && suffix !== "tar.gz.sha256") {
        this.text(res, 400, "Invalid suffix\n");
        return;
      }
      res.writeHead(302, { location: `/storage/${edition}.${suffix}` }).end();
      return;
    }
    const stored = /^\/storage\/([\w-]+)\.(tar\.gz(?:\.sha256)?)$/.exec(url.pathname);
    const edition = stored?.[1] as string;
    const archive = stored && this.archives.get(edition);
    if (!stored || !archive) {
      this.text(res, 404, "Not found\n");
      return;
    }
    if (stored[2] === "tar.gz.sha256") {
      // A release is a pair: the fault (if any) decides both what the checksum says and what is served.
      const fault = this.faults.shift();
      const served =
        fault === "truncated" || fault === "not-a-database" ? this.broken.get(fault) : archive.bytes;
      this.served.set(edition, served as Buffer);
      const sha = createHash("sha256")
        .update(fault === "wrong-checksum" ? Buffer.from("another release") : (served as Buffer))
        .digest("hex");
      this.text(res, 200, `${sha}  ${archive.name}\n`);
      return;
    }
    const bytes = this.served.get(edition) ?? archive.bytes;
    res.writeHead(200, { "content-type": "application/gzip", "content-length": bytes.length });
    res.end(bytes);
  }

  private text(res: ServerResponse, status: number, body: string): void {
    res.writeHead(status, { "content-type": "text/plain" }).end(body);
  }
}
