import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { S3Client } from "@aws-sdk/client-s3";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { type SecretReader, SecretsManagerSecrets } from "../aws/secrets.ts";

/** The AWS clients factories may use, each built on first use and then kept (one per cold start). */
export interface AwsClients {
  s3(): S3Client;
  lambda(): LambdaClient;
  dynamodb(): DynamoDBDocumentClient;
  /** Secrets of one region (a secret ARN names its own, so no AWS_REGION is needed to read it). */
  secrets(region: string): SecretReader;
}

function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => {
    value ??= make();
    return value;
  };
}

/** Real SDK clients, built lazily: a local `map` or `fetch` never touches AWS. */
export function awsClients(): AwsClients {
  const readers = new Map<string, SecretReader>();
  return {
    s3: once(() => new S3Client({})),
    lambda: once(() => new LambdaClient({})),
    dynamodb: once(() =>
      DynamoDBDocumentClient.from(new DynamoDBClient({}), {
        marshallOptions: { removeUndefinedValues: true },
      }),
    ),
    secrets(region) {
      let reader = readers.get(region);
      if (!reader) {
        reader = new SecretsManagerSecrets(new SecretsManagerClient({ region }));
        readers.set(region, reader);
      }
      return reader;
    },
  };
}
