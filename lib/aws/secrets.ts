import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { ConfigurationError, JumpcloudElasticError } from "../errors.ts";

/** The parts of a Secrets Manager secret ARN. */
export interface SecretArn {
  partition: string;
  region: string;
  account: string;
  name: string;
}

const SECRET_ARN = /^arn:(aws[a-z-]*):secretsmanager:([a-z]{2}(?:-[a-z]+)+-\d+):(\d{12}):secret:(.+)$/;

/** Splits a secret ARN; `undefined` when it is not one (a bare name, a typo, another service's ARN). */
export function parseSecretArn(text: string): SecretArn | undefined {
  const match = SECRET_ARN.exec(text.trim());
  if (!match) return undefined;
  const [, partition, region, account, name] = match as unknown as [string, string, string, string, string];
  return { partition, region, account, name };
}

/** What a secret the stack creates holds until it is filled: recognisable, never a usable value. */
export const SECRET_PLACEHOLDER = "REPLACE-ME: secret not filled yet";

/** Refuses a secret still holding the stack's placeholder, saying how to fill it. */
export function checkFilled(arn: string, text: string, example: string): string {
  if (text.includes(SECRET_PLACEHOLDER)) {
    throw new ConfigurationError([
      `secret not filled yet: aws secretsmanager put-secret-value --secret-id ${arn} --secret-string '${example}'`,
    ]);
  }
  return text;
}

/** Reads a secret's text: cached up to a TTL, or afresh (after the service refused what it held). */
export interface SecretReader {
  read(arn: string, options?: { fresh?: boolean }): Promise<string>;
}

// SDK errors that no retry fixes: the user must change something, and the message says what.
const CONFIGURATION_FAILURES: Readonly<Record<string, string>> = {
  ResourceNotFoundException: "it does not exist (check the ARN and its region)",
  AccessDeniedException: "access denied (the role needs secretsmanager:GetSecretValue on it)",
  CredentialsProviderError: "no AWS credentials (set AWS_PROFILE, or run where a role provides them)",
  DecryptionFailure: "its KMS key cannot decrypt it (the role needs kms:Decrypt)",
  InvalidRequestException: "Secrets Manager refused the request (is the secret scheduled for deletion?)",
};

function failureName(error: unknown): string | undefined {
  const cause = (error as { cause?: unknown }).cause ?? error;
  return (cause as { name?: string }).name;
}

/** Secrets Manager through Powertools Parameters: a TTL cache, and `forceFetch` for rotation. */
export class SecretsManagerSecrets implements SecretReader {
  private readonly provider: SecretsProvider;

  constructor(
    client: SecretsManagerClient,
    private readonly maxAgeSeconds = 300,
  ) {
    this.provider = new SecretsProvider({ awsSdkV3Client: client });
  }

  async read(arn: string, options: { fresh?: boolean } = {}): Promise<string> {
    let value: unknown;
    try {
      value = await this.provider.get(arn, {
        maxAge: this.maxAgeSeconds,
        forceFetch: options.fresh === true,
      });
    } catch (error) {
      const what = CONFIGURATION_FAILURES[failureName(error) ?? ""];
      if (what) throw new ConfigurationError([`cannot read the secret ${arn}: ${what}`], { cause: error });
      throw new JumpcloudElasticError(`cannot read the secret ${arn}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (typeof value !== "string") throw new ConfigurationError([`the secret ${arn} has no string value`]);
    return value;
  }
}
