import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliProcess } from "../helpers/cli.ts";
import { closedPort } from "../helpers/ports.ts";

/**
 * Every command in broken environments a user meets: no region, no credentials, corrupt files,
 * unreachable endpoints. Each must answer one line saying what to fix, with its documented exit
 * code: never a stack trace, never "unexpected error". Add a row for each new command or setting.
 */
interface Case {
  /** What is broken, in a few words (the test's name). */
  broken: string;
  args: string[];
  env?: Record<string, string>;
  /** Files written in the (fresh) working folder first: name → content. */
  files?: Record<string, string>;
  code: number;
  /** The line that says what to fix. */
  says: RegExp;
}

let jumpcloudDown = "";
let elasticsearchDown = "";
beforeAll(async () => {
  jumpcloudDown = `http://127.0.0.1:${await closedPort()}/insights/directory/v1`;
  elasticsearchDown = `http://127.0.0.1:${await closedPort()}`;
});

const OUT = mkdtempSync(join(tmpdir(), "broken-env-"));
afterAll(() => rmSync(OUT, { recursive: true, force: true }));

const NO_REGION = { CHECKPOINT_TABLE: "checkpoints" };
const NO_CREDENTIALS = { ...NO_REGION, AWS_REGION: "us-east-1" };
const CORRUPT = { CHECKPOINT_FILE: "checkpoints.json" };
const CORRUPT_FILES = { "checkpoints.json": "{broken" };
const KEY = { JUMPCLOUD_API_KEY: "k" };
const REGION = /no AWS region for .*: set AWS_REGION/;
const CREDENTIALS = /no AWS credentials for .*: set AWS_PROFILE/;
const CORRUPTED =
  /checkpoint file checkpoints.json is not valid JSON .*: restore it from a copy, or move it aside/;
// Filled in once the ports are known.
const down = (which: "jumpcloud" | "elasticsearch") => `<${which}-down>`;

const CASES: Case[] = [
  // status and unlock read only the checkpoint settings
  { broken: "no region", args: ["status"], env: NO_REGION, code: 2, says: REGION },
  { broken: "no credentials", args: ["status"], env: NO_CREDENTIALS, code: 2, says: CREDENTIALS },
  {
    broken: "corrupt checkpoint file",
    args: ["status"],
    env: CORRUPT,
    files: CORRUPT_FILES,
    code: 2,
    says: CORRUPTED,
  },
  {
    broken: "checkpoint file is a folder",
    args: ["status"],
    env: { CHECKPOINT_FILE: "state" },
    files: { "state/.keep": "" },
    code: 2,
    says: /checkpoint file state: cannot read it \(EISDIR\)/,
  },
  {
    broken: "a JumpCloud setting it does not use",
    args: ["status"],
    env: { JUMPCLOUD_TIMEOUT: "soon", CHECKPOINT_FILE: "none.json" },
    code: 0,
    says: /^warning: JUMPCLOUD_TIMEOUT must be .* \(ignored: status does not use it\)$/m,
  },
  {
    broken: "DynamoDB unreachable",
    args: ["status"],
    env: {
      ...NO_CREDENTIALS,
      AWS_ACCESS_KEY_ID: "AKIAEXAMPLE",
      AWS_SECRET_ACCESS_KEY: "x",
      AWS_ENDPOINT_URL_DYNAMODB: down("elasticsearch"),
    },
    code: 1,
    says: /^error: cannot reach AWS for the checkpoint table checkpoints \(.*ECONNREFUSED.*\): check this machine's network/m,
  },
  {
    broken: "an AWS profile that does not exist",
    args: ["status"],
    env: { ...NO_CREDENTIALS, AWS_PROFILE: "nope" },
    code: 2,
    says: /^error: no AWS credentials for the checkpoint table checkpoints: AWS_PROFILE "nope" gave none: check that profile/m,
  },
  { broken: "no region", args: ["unlock"], env: NO_REGION, code: 2, says: REGION },
  {
    broken: "DynamoDB unreachable",
    args: ["forget", "k", "--yes"],
    env: {
      ...NO_CREDENTIALS,
      AWS_ACCESS_KEY_ID: "AKIAEXAMPLE",
      AWS_SECRET_ACCESS_KEY: "x",
      AWS_ENDPOINT_URL_DYNAMODB: down("elasticsearch"),
    },
    code: 1,
    says: /^error: cannot reach AWS for the checkpoint table/m,
  },
  { broken: "no credentials", args: ["unlock"], env: NO_CREDENTIALS, code: 2, says: CREDENTIALS },
  {
    broken: "corrupt checkpoint file",
    args: ["unlock"],
    env: CORRUPT,
    files: CORRUPT_FILES,
    code: 2,
    says: CORRUPTED,
  },
  // collection
  {
    broken: "corrupt checkpoint file",
    args: ["run", "--once"],
    env: { ...CORRUPT, ...KEY, JUMPCLOUD_API_URL: down("jumpcloud") },
    files: CORRUPT_FILES,
    code: 2,
    says: CORRUPTED,
  },
  { broken: "no region", args: ["run", "--once"], env: { ...NO_REGION, ...KEY }, code: 2, says: REGION },
  {
    broken: "unreachable JumpCloud",
    args: ["run", "--once"],
    env: { ...KEY, JUMPCLOUD_API_URL: down("jumpcloud"), CHECKPOINT_FILE: "c.json" },
    code: 1,
    says: /^error: 1 of 1 org\(s\) failed, their checkpoints unmoved: .*ECONNREFUSED/m,
  },
  {
    broken: "unreachable Elasticsearch",
    args: ["setup"],
    env: { ELASTICSEARCH_URL: down("elasticsearch") },
    code: 1,
    says: /setting up the index template failed: connection error: connect ECONNREFUSED/,
  },
  {
    broken: "corrupt checkpoint file",
    args: ["replay", "--from", "2h", "--to", "1h"],
    env: { ...CORRUPT, ...KEY },
    files: CORRUPT_FILES,
    code: 2,
    says: CORRUPTED,
  },
  {
    broken: "corrupt checkpoint file",
    args: ["backfill", "--from", "2h"],
    env: { ...CORRUPT, ...KEY },
    files: CORRUPT_FILES,
    code: 2,
    says: CORRUPTED,
  },
  {
    broken: "unreachable JumpCloud",
    args: ["fetch", "--start", "1h"],
    env: { ...KEY, JUMPCLOUD_API_URL: down("jumpcloud") },
    code: 1,
    says: /ECONNREFUSED/,
  },
  {
    broken: "no JumpCloud credentials",
    args: ["fetch", "--start", "1h"],
    code: 2,
    says: /JumpCloud credentials are missing: set JUMPCLOUD_API_KEY/,
  },
  // files a user names
  {
    broken: "garbage input file",
    args: ["map", "garbage.bin"],
    files: { "garbage.bin": "\u0000\u0001not json at all\u00ff" },
    code: 1,
    says: /^error: no line of the input is a JSON object .*: expected JumpCloud events/m,
  },
  {
    broken: "missing input file",
    args: ["map", "nope.json"],
    code: 1,
    says: /^error: cannot read nope.json: ENOENT/m,
  },
  {
    broken: "garbage GeoIP database",
    args: ["map", "-"],
    env: { GEOIP_CITY_DB: "city.mmdb" },
    files: { "city.mmdb": "not a database" },
    code: 2,
    says: /GEOIP_CITY_DB/,
  },
  {
    broken: "missing CA certificate",
    args: ["setup"],
    env: { ELASTICSEARCH_URL: "https://127.0.0.1:9200", ELASTICSEARCH_CA_CERT: "nope.pem" },
    code: 2,
    says: /ELASTICSEARCH_CA_CERT/,
  },
  {
    broken: "an Elasticsearch setting it does not use",
    args: ["map", "events.json", "--format", "docs"],
    env: { ELASTICSEARCH_REQUEST_TIMEOUT: "soon" },
    files: {
      "events.json": '{"id":"e1","timestamp":"2026-01-01T00:00:00Z","event_type":"admin_login_attempt"}\n',
    },
    code: 0,
    says: /^warning: ELASTICSEARCH_REQUEST_TIMEOUT must be .* \(ignored: map does not use it\)$/m,
  },
  {
    broken: "a collector setting it does not use",
    args: ["fetch", "--simulate", "--start", "2h"],
    env: { LEASE_DURATION: "forever" },
    code: 0,
    says: /^warning: LEASE_DURATION must be .* \(ignored: fetch does not use it\)$/m,
  },
  // dead letters
  {
    broken: "a dead-letter folder that does not exist",
    args: ["redrive"],
    env: { DEAD_LETTER_DIR: "/nonexistent/dir", ELASTICSEARCH_URL: down("elasticsearch") },
    code: 2,
    says: /DEAD_LETTER_DIR \/nonexistent\/dir does not exist/,
  },
  {
    broken: "a dead-letter folder that is a file",
    args: ["redrive", "--dry-run"],
    env: { DEAD_LETTER_DIR: "notes.txt" },
    files: { "notes.txt": "x" },
    code: 2,
    says: /^error: DEAD_LETTER_DIR notes.txt is not a folder/m,
  },
  {
    broken: "no credentials for the bucket",
    args: ["redrive", "--dry-run"],
    env: { DEAD_LETTER_BUCKET: "dead", AWS_REGION: "us-east-1" },
    code: 2,
    says: CREDENTIALS,
  },
  {
    broken: "no region for the bucket",
    args: ["redrive", "--dry-run"],
    env: { DEAD_LETTER_BUCKET: "dead" },
    code: 2,
    says: REGION,
  },
  {
    broken: "a JumpCloud setting it does not use",
    args: ["redrive", "--dry-run"],
    env: { JUMPCLOUD_API_URL: "nowhere", DEAD_LETTER_DIR: "." },
    code: 0,
    says: /^warning: JUMPCLOUD_API_URL .*\(ignored: redrive does not use it\)$/m,
  },
  // the deployed collector
  {
    broken: "no region",
    args: ["invoke-replay", "--function", "collector", "--from", "2h", "--to", "1h"],
    code: 2,
    says: REGION,
  },
  {
    broken: "no credentials",
    args: ["invoke-replay", "--function", "collector", "--from", "2h", "--to", "1h"],
    env: { AWS_REGION: "us-east-1" },
    code: 2,
    says: CREDENTIALS,
  },
  // doctor reports, and does not trace either
  {
    broken: "no region, corrupt nothing",
    args: ["doctor"],
    env: { ...NO_REGION, ...KEY, JUMPCLOUD_API_URL: down("jumpcloud") },
    code: 1,
    says: /✗ Checkpoints: DynamoDB table checkpoints: no AWS region — set AWS_REGION/,
  },
];

const named = (c: Case) => `${c.args.join(" ")}: ${c.broken}`;

describe.concurrent("every command in a broken environment", () => {
  it.each(CASES.map((c) => [named(c), c] as const))("%s", async (_, c) => {
    const cwd = mkdtempSync(join(OUT, "cwd-"));
    for (const [name, content] of Object.entries(c.files ?? {})) {
      mkdirSync(join(cwd, name, ".."), { recursive: true });
      writeFileSync(join(cwd, name), content);
    }
    const fill = (value: string) =>
      value.replace("<jumpcloud-down>", jumpcloudDown).replace("<elasticsearch-down>", elasticsearchDown);
    const env = Object.fromEntries(Object.entries(c.env ?? {}).map(([k, v]) => [k, fill(v)]));
    // HOME in the fresh folder: no ~/.aws profile of this machine's user gets in.
    const result = await cliProcess(c.args, { cwd, env: { HOME: cwd, ...env } });
    const all = `${result.stderr}${result.stdout}`;
    expect(all, all).not.toMatch(/\n\s+at .*[:(]/);
    expect(all, all).not.toMatch(/unexpected error/);
    expect(all, all).toMatch(c.says);
    expect(result.code, all).toBe(c.code);
  });
});
