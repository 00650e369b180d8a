const CREDENTIALS_REFUSED = [
  "ExpiredTokenException",
  "ExpiredToken",
  "UnrecognizedClientException",
  "InvalidSignatureException",
];

/**
 * What a user must set up before any AWS call can work, read from an SDK failure: the region,
 * credentials, or credentials AWS accepts. Undefined for any other failure.
 */
export function awsSetupProblem(error: unknown, what: string): string | undefined {
  const { name = "", message = "" } = (error ?? {}) as { name?: string; message?: string };
  if (/region is missing/i.test(message))
    return `no AWS region for ${what}: set AWS_REGION (or use an AWS_PROFILE that names one)`;
  if (name === "CredentialsProviderError")
    return `no AWS credentials for ${what}: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or run where a role provides them`;
  if (CREDENTIALS_REFUSED.includes(name))
    return `the AWS credentials were refused (${name}): renew them (aws sso login, or new keys) or check AWS_PROFILE`;
  return undefined;
}
