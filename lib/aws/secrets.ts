import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { ConfigurationError } from "../errors.ts";

/** Reads a secret's string value; a missing string is a configuration error naming the secret. */
export async function readSecretString(client: SecretsManagerClient, arn: string): Promise<string> {
  const secret = await client.send(new GetSecretValueCommand({ SecretId: arn }));
  if (secret.SecretString === undefined)
    throw new ConfigurationError([`the secret ${arn} has no string value`]);
  return secret.SecretString;
}
