import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { missingObject } from "../aws/s3-files.ts";
import type { DatabaseStore, Edition } from "./update.ts";

/** Databases as `<dir>/<edition>.mmdb` files, each replaced by a rename (never half-written). */
export class DirectoryDatabaseStore implements DatabaseStore {
  readonly where: string;

  constructor(private readonly dir: string) {
    this.where = dir;
  }

  /** The file an edition is kept in. */
  path(edition: Edition): string {
    return join(this.dir, `${edition}.mmdb`);
  }

  async currentHash(edition: Edition): Promise<string | undefined> {
    try {
      return createHash("sha256")
        .update(await readFile(this.path(edition)))
        .digest("hex");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  async replace(edition: Edition, database: Buffer): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const partial = `${this.path(edition)}.${process.pid}.partial`;
    await writeFile(partial, database);
    await rename(partial, this.path(edition));
  }
}

/**
 * Databases as `s3://<bucket>/<prefix><edition>.mmdb`, each object's SHA-256 in its metadata: a
 * PUT replaces an object whole, and the mapper re-reads it by its new ETag.
 */
export class S3DatabaseStore implements DatabaseStore {
  readonly where: string;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
  ) {
    this.where = `s3://${bucket}/${prefix}`;
  }

  /** The `s3://` URL of an edition's object. */
  url(edition: Edition): string {
    return `s3://${this.bucket}/${this.key(edition)}`;
  }

  private key(edition: Edition): string {
    return `${this.prefix}${edition}.mmdb`;
  }

  async currentHash(edition: Edition): Promise<string | undefined> {
    try {
      const head = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(edition) }));
      return head.Metadata?.sha256;
    } catch (error) {
      // Without s3:ListBucket, S3 answers a missing key 403 rather than 404: written again then.
      if (missingObject(error)) return undefined;
      throw error;
    }
  }

  async replace(edition: Edition, database: Buffer, sha256: string): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.key(edition),
        Body: database,
        Metadata: { sha256 },
        ContentType: "application/octet-stream",
      }),
    );
  }
}
