import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // A subprocess test starts the TypeScript CLI (tsx) once or more: under a parallel load on a
    // 2-core machine that alone took 10 to 17 s. The limit only catches hangs; it measures nothing.
    testTimeout: 60_000,
    pool: "forks",
    // The AWS SDK's notice that its 2027 releases need Node 22: noise in every test's output here.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});
