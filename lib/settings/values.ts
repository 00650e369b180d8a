import * as z from "zod";
import { formatDuration, parseDuration } from "../duration.ts";

/**
 * Value kinds of the settings schema. Each takes the text of an environment variable or a typed
 * CLI override and yields the typed value; a zod issue's message is a predicate ("must be ...")
 * that the loader prefixes with the variable or flag the user set.
 */
export interface ValueKind<T> {
  schema: z.ZodType<T, unknown>;
  /** What is accepted, for messages and the README ("a whole number from 1 to 10000"). */
  expects: string;
}

const TRUE_WORDS = ["true", "1", "yes", "on"];
const FALSE_WORDS = ["false", "0", "no", "off"];

/** A boolean: `true`/`false` (also 1/0, yes/no, on/off), or a flag's `true`. */
export function booleanValue(): ValueKind<boolean> {
  return {
    expects: "true or false",
    schema: z.union([
      z.boolean(),
      z
        .string()
        .trim()
        .toLowerCase()
        .pipe(z.enum([...TRUE_WORDS, ...FALSE_WORDS]))
        .transform((word) => TRUE_WORDS.includes(word)),
    ]),
  };
}

/** One word of `words` (case-insensitive). */
export function oneOf<const W extends string>(words: readonly [W, ...W[]]): ValueKind<W> {
  return {
    expects: words
      .map((w) => `\`${w}\``)
      .join(", ")
      .replace(/, ([^,]+)$/, " or $1"),
    schema: z.string().trim().toLowerCase().pipe(z.enum(words)) as unknown as z.ZodType<W, unknown>,
  };
}

/** A whole number within `[min, max]`. */
export function integerValue(min: number, max: number): ValueKind<number> {
  const number = z.number().int().min(min).max(max);
  return {
    expects: `a whole number from ${min} to ${max}`,
    schema: z.union([
      number,
      z
        .string()
        .trim()
        .regex(/^-?\d+$/)
        .transform(Number)
        .pipe(number),
    ]),
  };
}

/** A decimal number within `(min, max]`. */
export function numberValue(min: number, max: number, unit: string): ValueKind<number> {
  const number = z.number().gt(min).lte(max);
  return {
    expects: `a number of ${unit} above ${min}, at most ${max}`,
    schema: z.union([
      number,
      z
        .string()
        .trim()
        .regex(/^\d+(\.\d+)?$/)
        .transform(Number)
        .pipe(number),
    ]),
  };
}

/** A duration (`500ms`, `30s`, `5m`, `2h`, `15d`, or `1h30m`) within `[min, max]`, in milliseconds. */
export function durationValue(min: number, max: number): ValueKind<number> {
  const ms = z.number().int().min(min).max(max);
  return {
    expects: `a duration such as 30s, 5m, 2h or 15d, from ${formatDuration(min)} to ${formatDuration(max)}`,
    schema: z.union([
      ms,
      z
        .string()
        .transform((text, ctx) => {
          const ms = parseDuration(text);
          // An empty message: the loader words it from `expects`.
          if (ms === undefined) ctx.addIssue({ code: "custom", message: "" });
          return ms ?? z.NEVER;
        })
        .pipe(ms),
    ]),
  };
}

/** Free text, trimmed. */
export function textValue(expects = "text"): ValueKind<string> {
  return {
    expects,
    schema: z
      .string()
      .trim()
      .refine((text) => text !== "", "must not be empty"),
  };
}

/** A comma-separated list (blank items dropped), or a typed list. */
export function listValue(expects = "a comma-separated list"): ValueKind<string[]> {
  const items = z.array(z.string().trim()).transform((list) => list.filter((item) => item !== ""));
  return {
    expects,
    schema: z.union([
      items,
      z
        .string()
        .transform((text) => text.split(","))
        .pipe(items),
    ]),
  };
}

/** Adds custom checks to a kind; their messages are predicates such as "must not be empty". */
export function checked<T>(
  kind: ValueKind<T>,
  check: (value: T) => string | undefined,
  expects = kind.expects,
): ValueKind<T> {
  return {
    expects,
    schema: kind.schema.superRefine((value, ctx) => {
      const problem = check(value);
      if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
    }),
  };
}

/** Text transformed once it passed `check` (a region name into its URL, say). */
export function mappedText(
  expects: string,
  check: (text: string) => string | undefined,
  map: (text: string) => string,
): ValueKind<string> {
  return {
    expects,
    schema: z
      .string()
      .trim()
      .min(1)
      .superRefine((text, ctx) => {
        const problem = check(text);
        if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
      })
      .transform(map),
  };
}
