import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Authorize, Caller, Callers } from "./access.ts";
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
 * S3 on loopback, path-style only (`/bucket/key`): PutObject (recorded), GetObject and
 * DeleteObject on the buckets it was given, each checked against the caller's identity policies
 * (`s3:<Action>` on `arn:aws:s3:::bucket/key`) and refused with 403 AccessDenied as AWS refuses it;
 * NoSuchBucket otherwise. A missing key is NoSuchKey only for a caller that may `s3:ListBucket`:
 * S3 answers everyone else 403, so nobody learns which keys exist.
 */
export class S3Emulator {
  readonly puts: PutRecord[] = [];
  readonly deletes: { bucket: string; key: string }[] = [];
  private readonly objects = new Map<string, { body: Buffer; headers: Record<string, string> }>();
  private readonly server = new LoopbackServer((req, body) => this.handle(req, body));

  constructor(
    private readonly buckets: ReadonlySet<string>,
    private readonly callers: Callers,
    private readonly authorize: Authorize,
  ) {}

  start(): Promise<string> {
    return this.server.start();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  private handle(req: IncomingMessage, raw: Buffer): Reply {
    const url = new URL(req.url ?? "/", "http://x");
    const path = url.pathname;
    // A subresource (?acl, ?tagging, ?uploads...) is another action with other rights: not emulated.
    const subresource = [...url.searchParams.keys()].find((k) => k !== "x-id");
    if (subresource) return fail(501, "NotImplemented", `?${subresource} is not emulated`);
    const [, bucket = "", ...rest] = path.split("/").map(decodeURIComponent);
    const key = rest.join("/");
    const caller = this.callers.of(req);
    if (!caller)
      return fail(
        403,
        "InvalidAccessKeyId",
        "The AWS Access Key Id you provided does not exist in our records.",
      );
    const action = {
      PUT: "s3:PutObject",
      GET: "s3:GetObject",
      HEAD: "s3:GetObject",
      DELETE: "s3:DeleteObject",
    }[req.method ?? ""];
    if (key === "" || action === undefined)
      return fail(501, "NotImplemented", `${req.method} ${path} is not emulated`);
    const denied = this.authorize(caller, { action, resources: [`arn:aws:s3:::${bucket}/${key}`] });
    if (denied) return fail(403, "AccessDenied", denied);
    if (!this.buckets.has(bucket)) return fail(404, "NoSuchBucket", `no bucket "${bucket}"`);
    if (req.method === "PUT") return this.put(req, raw, bucket, key);
    if (req.method === "DELETE") {
      this.objects.delete(`${bucket}/${key}`);
      this.deletes.push({ bucket, key });
      return { status: 204 };
    }
    const object = this.objects.get(`${bucket}/${key}`);
    if (!object) return this.missing(caller, bucket);
    return {
      status: 200,
      body: object.body,
      headers: { "content-type": "application/octet-stream", ...object.headers },
    };
  }

  private put(req: IncomingMessage, raw: Buffer, bucket: string, key: string): Reply {
    const chunked = String(req.headers["content-encoding"] ?? "").includes("aws-chunked");
    const body = chunked ? decodeAwsChunked(raw) : raw;
    const etag = `"${randomUUID().replaceAll("-", "")}"`;
    // User metadata (x-amz-meta-*) and the ETag come back on GET and HEAD, as S3 returns them.
    const meta = Object.fromEntries(
      Object.entries(req.headers).filter(([name]) => name.startsWith("x-amz-meta-")) as [string, string][],
    );
    this.objects.set(`${bucket}/${key}`, { body, headers: { ...meta, etag } });
    const contentType = req.headers["content-type"];
    this.puts.push({ bucket, key, body: body.toString("utf8"), contentType });
    return { status: 200, headers: { etag } };
  }

  private missing(caller: Caller, bucket: string): Reply {
    const list = this.authorize(caller, {
      action: "s3:ListBucket",
      resources: [`arn:aws:s3:::${bucket}`],
      probe: true,
    });
    return list === undefined
      ? fail(404, "NoSuchKey", "The specified key does not exist.")
      : fail(403, "AccessDenied", "Access Denied");
  }
}
