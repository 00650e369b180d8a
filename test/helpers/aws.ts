import { readFileSync } from "node:fs";
import type { LambdaClient } from "@aws-sdk/client-lambda";
import type { S3Client } from "@aws-sdk/client-s3";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { SecretsManagerSecrets } from "../../lib/aws/secrets.ts";
import type { AwsClients } from "../../lib/compose/aws.ts";
import { fixturePath } from "./fixtures.ts";

/** S3 double: serves the test GeoIP databases by file name (ETag settable) and records dead letters. */
export function fakeS3() {
  const puts: { Bucket?: string; Key?: string; Body?: string }[] = [];
  const gets: string[] = [];
  const etags = { current: '"v1"' };
  const client = {
    send: async (command: { constructor: { name: string }; input: Record<string, string> }) => {
      if (command.constructor.name === "HeadObjectCommand") return { ETag: etags.current };
      if (command.constructor.name === "GetObjectCommand") {
        gets.push(`${command.input.Bucket}/${command.input.Key}`);
        const bytes = readFileSync(fixturePath(`geoip/${command.input.Key?.split("/").pop()}`));
        return { Body: { transformToByteArray: async () => new Uint8Array(bytes) } };
      }
      puts.push(command.input);
      return {};
    },
  } as unknown as S3Client;
  return { client, puts, gets, etags };
}

/**
 * A real Secrets Manager client (Powertools checks that it is one) whose `send` answers with
 * `answer(secretId)`; every read is recorded.
 */
export function answeringSecrets(answer: (secretId: string, read: number) => string) {
  const reads: string[] = [];
  const client = new SecretsManagerClient({
    region: "eu-west-1",
    credentials: { accessKeyId: "a", secretAccessKey: "b" },
  });
  client.send = (async (command: { input: { SecretId: string } }) => {
    reads.push(command.input.SecretId);
    return { SecretString: answer(command.input.SecretId, reads.length - 1) };
  }) as never;
  return { client, reads };
}

/** Secrets answered from a list, one value per read, or an error of the given name (as the SDK names them). */
export function fakeSecrets(values: (string | { errorName: string })[]) {
  return answeringSecrets((_, read) => {
    const value = values[Math.min(read, values.length - 1)];
    if (typeof value === "object")
      throw Object.assign(new Error(`${value.errorName} happened`), { name: value.errorName });
    return value as string;
  });
}

/** AWS clients for factories in tests: the doubles given, and a clear failure for any other. */
export function fakeAws(parts: {
  s3?: S3Client;
  secrets?: SecretsManagerClient;
  lambda?: LambdaClient;
  dynamodb?: DynamoDBDocumentClient;
}): AwsClients {
  const missing = (what: string) => () => {
    throw new Error(`this test gave no ${what} double`);
  };
  const reader = parts.secrets && new SecretsManagerSecrets(parts.secrets);
  return {
    s3: parts.s3 ? () => parts.s3 as S3Client : missing("S3"),
    lambda: parts.lambda ? () => parts.lambda as LambdaClient : missing("Lambda"),
    dynamodb: parts.dynamodb ? () => parts.dynamodb as DynamoDBDocumentClient : missing("DynamoDB"),
    secrets: reader ? () => reader : missing("Secrets Manager"),
  };
}

/**
 * An S3 double holding objects in memory: Put, Get (NoSuchKey when absent), Delete and
 * ListObjectsV2 (keys in order, Prefix, StartAfter, MaxKeys pages); `calls` records each request,
 * and `failing` names commands that fail with AccessDenied.
 */
export function memoryS3() {
  const objects = new Map<string, string>();
  const calls: { command: string; input: Record<string, unknown> }[] = [];
  const failing = new Set<string>();
  const at = (input: Record<string, unknown>) => `${input.Bucket}/${input.Key}`;
  const list = (input: Record<string, unknown>) => {
    const bucket = `${input.Bucket}/`;
    const after = String(input.ContinuationToken ?? input.StartAfter ?? "");
    const keys = [...objects.keys()]
      .filter((k) => k.startsWith(bucket))
      .map((k) => k.slice(bucket.length))
      .filter((k) => k.startsWith(String(input.Prefix ?? "")) && k > after)
      .sort();
    const page = keys.slice(0, Number(input.MaxKeys ?? 1000));
    const truncated = page.length < keys.length;
    return {
      Contents: page.map((Key) => ({ Key })),
      IsTruncated: truncated,
      NextContinuationToken: truncated ? page.at(-1) : undefined,
    };
  };
  const client = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const name = command.constructor.name;
      calls.push({ command: name, input: command.input });
      if (failing.has(name))
        throw Object.assign(new Error("Access Denied"), { name: "AccessDenied", Code: "AccessDenied" });
      if (name === "PutObjectCommand") objects.set(at(command.input), String(command.input.Body));
      if (name === "DeleteObjectCommand") objects.delete(at(command.input));
      if (name === "ListObjectsV2Command") return list(command.input);
      if (name === "GetObjectCommand") {
        const body = objects.get(at(command.input));
        if (body === undefined)
          throw Object.assign(new Error("The specified key does not exist."), { name: "NoSuchKey" });
        return { Body: { transformToString: async () => body } };
      }
      return {};
    },
  } as unknown as S3Client;
  return { client, objects, calls, failing };
}
