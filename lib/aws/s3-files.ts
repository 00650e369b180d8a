import { access, mkdir, rename, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { GetObjectCommand, HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { ConfigurationError } from "../errors.ts";

/**
 * True when S3 answered that an object is not there: 404, or 403 to a caller without
 * `s3:ListBucket`. Read from the status: a HEAD answer has no body, so the SDK names a 403 "Unknown".
 */
export function missingObject(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata
    ?.httpStatusCode;
  const name = (error as { name?: string } | undefined)?.name;
  return status === 404 || status === 403 || name === "NotFound" || name === "NoSuchKey";
}

/** Splits `s3://bucket/key`; `undefined` for anything else (a local path). */
export function parseS3Url(value: string): { bucket: string; key: string } | undefined {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(value.trim());
  return match ? { bucket: match[1] as string, key: match[2] as string } : undefined;
}

/**
 * A local path for `value`: itself when it is a path, or a copy under `dir` of the `s3://`
 * object. The copy is named by the object's ETag: a warm Lambda finds it in /tmp, and a changed
 * object is a new name, so the next build of the dependencies downloads it.
 */
export async function localCopy(s3: S3Client, value: string, dir: string): Promise<string> {
  const url = parseS3Url(value);
  if (!url) return value;
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: url.bucket, Key: url.key }));
    const tag = (head.ETag ?? "").replace(/[^0-9A-Za-z]/g, "").slice(0, 32);
    const target = join(dir, `${url.bucket}-${tag}-${basename(url.key)}`);
    if (await exists(target)) return target;
    const object = await s3.send(new GetObjectCommand({ Bucket: url.bucket, Key: url.key }));
    const bytes = await object.Body?.transformToByteArray();
    if (!bytes) throw new Error("empty object");
    await mkdir(dir, { recursive: true });
    // Written aside then renamed: a half-written copy never looks like a finished one.
    const partial = `${target}.${process.pid}.partial`;
    await writeFile(partial, bytes);
    await rename(partial, target);
    return target;
  } catch (cause) {
    throw new ConfigurationError([`cannot download ${value}: ${(cause as Error).message}`], { cause });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
