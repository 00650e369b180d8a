// The esbuild options of the Lambda bundles, in one place: the stack (NodejsFunction) builds with
// them, and so do the benchmark and the bundle tests (through the esbuild API), so what is measured
// and tested is what is deployed. test/infra/bundles.test.ts checks the two builds are identical.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BundlingOptions, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import type { BuildOptions } from "esbuild";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * How each function is bundled. CommonJS: an ESM bundle needs a `createRequire` banner for the
 * CommonJS packages it holds. Module-first main fields let esbuild tree-shake the AWS SDK's ES
 * builds, which is why the SDK is bundled rather than taken from the runtime (see bench/bundles.ts).
 */
export const LAMBDA_BUNDLE = {
  format: "cjs",
  target: "node22",
  mainFields: ["module", "main"],
  treeShaking: true,
  minify: true,
  sourcemap: true,
  // Stack traces need the mappings only: without the sources the map is 40 % of its size, and
  // NODE_OPTIONS=--enable-source-maps parses it at every cold start.
  sourcesContent: false,
  // Error classes keep their names: Lambda's errorType and the logs say ConfigurationError.
  keepNames: true,
  // Licence notices of what the bundle includes, next to it (see scripts/licence-notices.ts).
  legalComments: "linked",
  external: [] as string[],
} as const satisfies BuildOptions;

/** The bundle's file name in the asset (`index.handler` in the template). */
export const BUNDLE_FILE = "index.js";

/** A function's handler file, from the repository root (the stack's `entry`). */
export const ENTRIES = {
  collector: "functions/collector/handler.ts",
  mapper: "functions/mapper/handler.ts",
} as const;

/** The esbuild API options that build `entry` into `outdir` as the stack's bundling does. */
export function lambdaBuildOptions(entry: string, outdir: string): BuildOptions {
  return {
    ...LAMBDA_BUNDLE,
    external: [...LAMBDA_BUNDLE.external],
    mainFields: [...LAMBDA_BUNDLE.mainFields],
    bundle: true,
    platform: "node",
    absWorkingDir: ROOT,
    entryPoints: [join(ROOT, entry)],
    outfile: join(outdir, BUNDLE_FILE),
    metafile: true,
    logLevel: "warning",
  };
}

const FORMATS = { cjs: OutputFormat.CJS, esm: OutputFormat.ESM } as const;

/** The same options in NodejsFunction's words (it turns them into esbuild's command-line flags). */
export function cdkBundling(): BundlingOptions {
  return {
    format: FORMATS[LAMBDA_BUNDLE.format],
    target: LAMBDA_BUNDLE.target,
    mainFields: [...LAMBDA_BUNDLE.mainFields],
    minify: LAMBDA_BUNDLE.minify,
    sourceMap: LAMBDA_BUNDLE.sourcemap,
    sourcesContent: LAMBDA_BUNDLE.sourcesContent,
    keepNames: LAMBDA_BUNDLE.keepNames,
    // Given even when empty: the CDK's default would leave the AWS SDK to the runtime.
    externalModules: [...LAMBDA_BUNDLE.external],
    esbuildArgs: {
      "--legal-comments": LAMBDA_BUNDLE.legalComments,
      "--tree-shaking": String(LAMBDA_BUNDLE.treeShaking),
    },
  };
}
