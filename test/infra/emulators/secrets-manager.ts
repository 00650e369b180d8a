import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Authorize, Callers } from "./access.ts";
import { LoopbackServer, type Reply } from "./http.ts";

interface StoredSecret {
  arn: string;
  name: string;
  value: string;
  versionId: string;
}

/** A request as the emulation received it: the operation, the secret it named, who asked. */
export interface SecretsRequest {
  operation: string;
  secretId: string | undefined;
  caller: string;
}

const JSON_1_1 = { "content-type": "application/x-amz-json-1.1" };

// A secret's ARN ends in its name and a random 6-character suffix.
const nameOf = (arn: string) => (arn.split(":secret:")[1] ?? arn).replace(/-[A-Za-z0-9]{6}$/, "");

/**
 * Secrets Manager on loopback, in its JSON 1.1 protocol (`X-Amz-Target: secretsmanager.<Op>`):
 * GetSecretValue and PutSecretValue by ARN or name, each checked against the caller's identity
 * policies (`secretsmanager:<Op>` on the secret's ARN) and refused with AccessDeniedException as
 * AWS refuses it; ResourceNotFoundException for a secret that does not exist.
 */
export class SecretsManagerEmulator {
  readonly requests: SecretsRequest[] = [];
  private readonly secrets = new Map<string, StoredSecret>();
  private readonly server = new LoopbackServer((req, body) => this.handle(req, body));

  constructor(
    private readonly callers: Callers,
    private readonly authorize: Authorize,
  ) {}

  /** Creates a secret, as the stack does, with its first value. */
  create(arn: string, value: string): void {
    this.secrets.set(arn, { arn, name: nameOf(arn), value, versionId: randomUUID() });
  }

  /** The current value of a secret. */
  value(arn: string): string | undefined {
    return this.secrets.get(arn)?.value;
  }

  start(): Promise<string> {
    return this.server.start();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  private find(id: string | undefined): StoredSecret | undefined {
    return [...this.secrets.values()].find((s) => s.arn === id || s.name === id);
  }

  private handle(req: IncomingMessage, body: Buffer): Reply {
    const operation = String(req.headers["x-amz-target"] ?? "").replace(/^secretsmanager\./, "");
    const input = JSON.parse(body.toString("utf8") || "{}") as { SecretId?: string; SecretString?: string };
    const caller = this.callers.of(req);
    if (!caller)
      return this.error(
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
      );
    this.requests.push({
      operation,
      secretId: input.SecretId,
      caller: caller.kind === "operator" ? "operator" : caller.session,
    });
    const secret = this.find(input.SecretId);
    if (operation !== "GetSecretValue" && operation !== "PutSecretValue")
      return this.error("UnknownOperationException", `${operation} is not emulated`);
    const resource = secret?.arn ?? String(input.SecretId);
    const denied = this.authorize(caller, { action: `secretsmanager:${operation}`, resources: [resource] });
    if (denied) return this.error("AccessDeniedException", denied);
    if (!secret)
      return this.error("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
    if (operation === "PutSecretValue") {
      secret.value = input.SecretString ?? "";
      secret.versionId = randomUUID();
    }
    const answer = { ARN: secret.arn, Name: secret.name, VersionId: secret.versionId };
    const value = operation === "GetSecretValue" && {
      SecretString: secret.value,
      VersionStages: ["AWSCURRENT"],
      CreatedDate: Math.floor(Date.now() / 1000),
    };
    return { status: 200, body: JSON.stringify({ ...answer, ...value }), headers: JSON_1_1 };
  }

  private error(type: string, message: string): Reply {
    const headers = { ...JSON_1_1, "x-amzn-errortype": type };
    return { status: 400, body: JSON.stringify({ __type: type, message }), headers };
  }
}
