/** How a check came out: `warn` is worth reading but does not fail the doctor. */
export type CheckStatus = "pass" | "fail" | "skip" | "warn";

/** One line of the checklist; `fix` says what to do when it is not a pass. */
export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

/** A check line; `fix` only where there is something to do. */
export const check = (name: string, status: CheckStatus, detail: string, fix?: string): Check => ({
  name,
  status,
  detail,
  ...(fix !== undefined && { fix }),
});
/** A passed check. */
export const pass = (name: string, detail: string) => check(name, "pass", detail);
/** A failed check, with what to fix. */
export const fail = (name: string, detail: string, fix?: string) => check(name, "fail", detail, fix);
/** A warning: worth reading, does not fail the doctor. */
export const warn = (name: string, detail: string, fix?: string) => check(name, "warn", detail, fix);
/** A check not run, and why. */
export const skip = (name: string, detail: string) => check(name, "skip", detail);
