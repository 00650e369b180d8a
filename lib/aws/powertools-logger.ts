import type { Logger as PowertoolsLogger } from "@aws-lambda-powertools/logger";
import type { Logger } from "../logger.ts";

/** Our Logger port on Powertools' Logger (JSON lines in CloudWatch, Lambda context included). */
export function fromPowertools(logger: PowertoolsLogger): Logger {
  const call =
    (level: "debug" | "info" | "warn" | "error") => (message: string, fields?: Record<string, unknown>) => {
      if (fields) logger[level](message, fields as never);
      else logger[level](message);
    };
  return { debug: call("debug"), info: call("info"), warn: call("warn"), error: call("error") };
}
