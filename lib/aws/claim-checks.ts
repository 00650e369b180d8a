import { randomUUID } from "node:crypto";
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { ClaimCheckStore, ClaimRef } from "../collect/delivery.ts";
import { MapperInvocationError } from "../errors.ts";

/** Where claim checks go in the dead-letter bucket: below the collector's own prefix. */
export const CLAIM_CHECK_PREFIX = "collector/claims/";

/**
 * Batches too large for a Lambda invocation, in S3 for the mapper: the collector puts, the mapper
 * gets and then deletes (the bucket's lifecycle rule removes any left by a failed invocation).
 */
export class S3ClaimChecks implements ClaimCheckStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly prefix = CLAIM_CHECK_PREFIX,
  ) {}

  async put(text: string): Promise<ClaimRef> {
    const key = `${this.prefix}${new Date().toISOString().slice(0, 10)}/${randomUUID()}.json`;
    try {
      await this.s3.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: text, ContentType: "application/json" }),
      );
    } catch (cause) {
      throw new MapperInvocationError(`cannot leave a large batch in s3://${this.bucket}/${key}`, { cause });
    }
    return { bucket: this.bucket, key };
  }

  /** The batch's JSON text. */
  async get(ref: ClaimRef): Promise<string> {
    const object = await this.s3.send(new GetObjectCommand({ Bucket: ref.bucket, Key: ref.key }));
    return (await object.Body?.transformToString("utf8")) ?? "";
  }

  async delete(ref: ClaimRef): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: ref.bucket, Key: ref.key }));
  }
}
