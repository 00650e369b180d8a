import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { LoopbackServer, type Reply } from "./http.ts";

/** An object put into the emulation. */
export interface PutRecord {
  bucket: string;
  key: string;
  body: string;
  contentType: string | undefined;
}

/** Decodes an `aws-chunked` body (the SDK streams with trailing checksums this way). */
function decodeAwsChunked(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf("\r\n", at);
    const size = Number.parseInt(body.subarray(at, eol).toString("latin1").split(";")[0] ?? "", 16);
    if (!(size > 0)) return Buffer.concat(parts);
    parts.push(body.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

function fail(status: number, code: string, message: string): Reply {
  const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>${randomUUID()}</RequestId></Error>`;
  return { status, body, headers: { "content-type": "application/xml" } };
}

/**
 * S3 on loopback, path-style only (`/bucket/key`): PutObject (recorded) and GetObject on the
 * buckets it was given; NoSuchBucket / NoSuchKey otherwise.
 */
export class S3Emulator {
  readonly puts: PutRecord[] = [];
  private readonly objects = new Map<string, Buffer>();
  private readonly server = new LoopbackServer((req, body) => this.handle(req, body));

  constructor(private readonly buckets: ReadonlySet<string>) {}

  start(): Promise<string> {
    return this.server.start();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  private handle(req: IncomingMessage, raw: Buffer): Reply {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const [, bucket = "", ...rest] = path.split("/").map(decodeURIComponent);
    const key = rest.join("/");
    if (!this.buckets.has(bucket)) return fail(404, "NoSuchBucket", `no bucket "${bucket}"`);
    if (req.method === "PUT" && key !== "") {
      const chunked = String(req.headers["content-encoding"] ?? "").includes("aws-chunked");
      const body = chunked ? decodeAwsChunked(raw) : raw;
      this.objects.set(`${bucket}/${key}`, body);
      const contentType = req.headers["content-type"];
      this.puts.push({ bucket, key, body: body.toString("utf8"), contentType });
      return { status: 200, headers: { etag: `"${randomUUID().replaceAll("-", "")}"` } };
    }
    if (req.method === "GET" && key !== "") {
      const object = this.objects.get(`${bucket}/${key}`);
      if (!object) return fail(404, "NoSuchKey", "The specified key does not exist.");
      return { status: 200, body: object, headers: { "content-type": "application/octet-stream" } };
    }
    return fail(501, "NotImplemented", `${req.method} ${path} is not emulated`);
  }
}
