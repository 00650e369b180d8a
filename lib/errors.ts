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
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`, options);
    this.problems = problems;
  }
}

/** Input that holds no usable event at all (as opposed to one bad event, which is mapped as an error document). */
export class InputError extends JumpcloudElasticError {}

/** A GeoIP database that cannot be opened or is not of the expected type. */
export class GeoIpDatabaseError extends JumpcloudElasticError {}
