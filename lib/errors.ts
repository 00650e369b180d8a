/** Base class: every error this project throws on purpose; keeps the underlying `cause`. */
export class JumpcloudElasticError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Configuration that cannot work; lists every problem found, so all can be fixed at once. */
export class ConfigurationError extends JumpcloudElasticError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[], options?: { cause?: unknown }) {
    // One problem reads as one line (a Lambda's errorMessage, a log field); several as a list.
    super(
      problems.length === 1
        ? (problems[0] as string)
        : `invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
      options,
    );
    this.problems = problems;
  }
}

/** A command used wrongly (a missing or contradictory flag): the CLI exits 2, as for configuration. */
export class UsageError extends JumpcloudElasticError {}

/** Input that holds no usable event at all (as opposed to one bad event, which is mapped as an error document). */
export class InputError extends JumpcloudElasticError {}

/** A GeoIP database that cannot be opened or is not of the expected type. */
export class GeoIpDatabaseError extends JumpcloudElasticError {}

/** A GeoIP database update that did not happen (download, checksum, archive); the current files are kept. */
export class GeoIpUpdateError extends JumpcloudElasticError {}

/** What the Directory Insights API answered, for errors: never a credential. */
export interface ApiErrorDetails {
  status?: number;
  requestId?: string;
  /** The API's own `message`, or a short snippet of what it sent. */
  apiMessage?: string;
}

/** Base class for failures talking to the Directory Insights API. */
export class JumpcloudApiError extends JumpcloudElasticError {
  readonly status: number | undefined;
  readonly requestId: string | undefined;
  readonly apiMessage: string | undefined;

  constructor(message: string, details: ApiErrorDetails = {}, options?: { cause?: unknown }) {
    const facts = [
      details.status !== undefined ? `status ${details.status}` : undefined,
      details.apiMessage !== undefined ? `message "${details.apiMessage}"` : undefined,
      details.requestId !== undefined ? `request id ${details.requestId}` : undefined,
    ].filter((f) => f !== undefined);
    super(facts.length > 0 ? `${message} (${facts.join(", ")})` : message, options);
    this.status = details.status;
    this.requestId = details.requestId;
    this.apiMessage = details.apiMessage;
  }
}

/** 400: the query itself is wrong; retrying cannot help. */
export class JumpcloudBadRequestError extends JumpcloudApiError {}

/** 401: the key or token was refused (after one credential refresh). */
export class JumpcloudAuthenticationError extends JumpcloudApiError {}

/** 402: the organization's plan does not include the API. */
export class JumpcloudPaymentRequiredError extends JumpcloudApiError {}

/** 403: the credentials may not read Directory Insights (or this org). */
export class JumpcloudForbiddenError extends JumpcloudApiError {}

/** Any other 4xx the client does not retry (wrong URL, wrong method, ...). */
export class JumpcloudClientError extends JumpcloudApiError {}

/** 2xx with a body that is not what the API documents: no event can be trusted from it. */
export class JumpcloudResponseFormatError extends JumpcloudApiError {}

/** Transient failures (429, 5xx, network, timeouts) kept failing past the retry budget. */
export class JumpcloudUnavailableError extends JumpcloudApiError {}

/** A query the client refuses to send (start not before end, bad limit, bad services). */
export class InvalidQueryError extends JumpcloudElasticError {}

/** Elasticsearch stayed unreachable, or kept refusing with 429 / 5xx, past the retry budget. */
export class ElasticsearchUnavailableError extends JumpcloudElasticError {}

/** Elasticsearch refused the request as a whole for a reason retrying cannot fix (401, 403, 404...). */
export class ElasticsearchRequestError extends JumpcloudElasticError {
  constructor(
    message: string,
    readonly status: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A dead letter could not be written: the batch cannot be vouched for. */
export class DeadLetterError extends JumpcloudElasticError {}

/** The checkpoint lease is held by another run, or was lost (expired and taken, or version moved). */
export class LeaseLostError extends JumpcloudElasticError {}

/** The mapper did not acknowledge a batch (function error, throttling past retries, bad answer). */
export class MapperInvocationError extends JumpcloudElasticError {}

/** Elasticsearch answered a `_bulk` request with something that cannot be matched to what was sent. */
export class ElasticsearchResponseError extends JumpcloudElasticError {}

/** A run stopped by SIGINT or SIGTERM: progress saved, lease released, exit 130 or 143. */
export class InterruptedError extends JumpcloudElasticError {
  constructor(readonly signal: "SIGINT" | "SIGTERM") {
    super(`interrupted by ${signal}: progress up to the last acknowledged page is saved, the lease released`);
  }
}

/** Another run holds a checkpoint's lease: nothing was collected for it (exit 3). */
export class LockedError extends JumpcloudElasticError {}

/** The local checkpoint file stayed locked by another live process. */
export class CheckpointLockError extends JumpcloudElasticError {}

/** A collector invocation that ran several orgs, some of which failed (each failure is logged). */
export class CollectionError extends JumpcloudElasticError {}

/** An AWS service could not be reached at all (DNS, refused, timed out): the network, not the request. */
export class AwsUnreachableError extends JumpcloudElasticError {}

/** Kibana refused a request for a reason retrying cannot fix (401, 403, 404, 400...). */
export class KibanaRequestError extends JumpcloudElasticError {
  constructor(
    message: string,
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Kibana stayed unreachable, or kept answering 429 / 5xx, past the retry budget. */
export class KibanaUnavailableError extends JumpcloudElasticError {}
