import { constants } from "node:fs";
import { access, mkdir, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { Presets, SingleBar } from "cli-progress";
import { Command } from "commander";
import { awsClients } from "../lib/compose/aws.ts";
import { databaseStore, maxmindAccount, maxmindDownloads } from "../lib/compose/geoip-update.ts";
import { describeDatabase } from "../lib/ecs/geo.ts";
import { ConfigurationError } from "../lib/errors.ts";
import { type DownloadProgress, EDITIONS, updateDatabases } from "../lib/geoip/update.ts";
import type { Logger } from "../lib/logger.ts";
import { cliLogger, emit, jsonOption } from "./output.ts";
import { proxiedFetch } from "./proxy.ts";
import { type CliSeams, commandSettings } from "./settings.ts";

const MB = 1_048_576;

// A bar per download on a terminal; elsewhere one log line per edition, so a cron log says what ran.
function downloadProgress(seams: CliSeams, logger: Logger): { onProgress: DownloadProgress; stop(): void } {
  const terminal = seams.io.terminal;
  if (!terminal) {
    const told = new Set<string>();
    return {
      onProgress: (edition, _received, total) => {
        if (told.has(edition)) return;
        told.add(edition);
        logger.info(`downloading ${edition}${total ? ` (${(total / MB).toFixed(1)} MB)` : ""}`);
      },
      stop() {},
    };
  }
  let bar: SingleBar | undefined;
  let current: string | undefined;
  return {
    onProgress: (edition, received, total) => {
      if (edition !== current) {
        bar?.stop();
        current = edition;
        bar = new SingleBar(
          {
            stream: terminal,
            format: ` ${edition} |{bar}| {percentage}% | {value}/{total} MB`,
            hideCursor: true,
          },
          Presets.shades_classic,
        );
        bar.start(Number(((total ?? received) / MB).toFixed(1)), 0);
      }
      if (total === undefined) bar?.setTotal(Number((received / MB).toFixed(1)));
      bar?.update(Number((received / MB).toFixed(1)));
    },
    stop: () => bar?.stop(),
  };
}

/** The folder `--dir` names, made if missing; a ConfigurationError saying what is wrong with it otherwise. */
async function writableFolder(given: string): Promise<string> {
  if (given.trim() === "")
    throw new ConfigurationError(["--dir is empty: name the folder to keep the .mmdb files in"]);
  const dir = resolve(given);
  const found = await stat(dir).catch((error: NodeJS.ErrnoException) => error);
  if (!(found instanceof Error) && !found.isDirectory())
    throw new ConfigurationError([`--dir ${dir} is a file: name a folder (it is made if missing)`]);
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (error) {
    throw new ConfigurationError([
      `--dir ${dir} cannot be written (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): name a folder you may write to`,
    ]);
  }
  return dir;
}

/** `geoip update --dir`: brings the GeoLite2 City and ASN databases in a folder up to date from MaxMind. */
export function geoipCommand(seams: CliSeams): Command {
  const geoip = new Command("geoip").description(
    "keep MaxMind GeoLite2 databases current for GEOIP=files (`geoip update --dir <folder>`)",
  );
  geoip
    .command("update")
    .description(
      `download ${EDITIONS.join(" and ")} from MaxMind (MAXMIND_ACCOUNT_ID, MAXMIND_LICENSE_KEY), check each, and replace the folder's copy only when it changed`,
    )
    .requiredOption(
      "--dir <folder>",
      "where the .mmdb files are kept (GEOIP_CITY_DB / GEOIP_ASN_DB point into it)",
    )
    .addOption(jsonOption())
    .action(async (_options: { dir: string }, command: Command) => {
      // `--json` may be read by `geoip` (every command has it) or by `update`: either way.
      const flags = command.optsWithGlobals<{ dir: string; json?: boolean }>();
      const { settings, sourceOf } = await commandSettings(seams, {}, [], undefined, {
        names: [
          "maxmindAccountId",
          "maxmindLicenseKey",
          "maxmindDownloadUrl",
          "httpsProxy",
          "httpProxy",
          "noProxy",
        ],
        by: "geoip update",
      });
      const logger = cliLogger(seams, flags.json);
      // Before any download (MaxMind counts them per day): a folder that can take the files.
      const dir = await writableFolder(flags.dir);
      const account = await maxmindAccount(settings, seams.aws ?? awsClients(), sourceOf);
      const store = databaseStore(settings, seams.aws ?? awsClients(), dir);
      const progress = downloadProgress(seams, logger);
      const fetch = await proxiedFetch(settings);
      const results = await updateDatabases(maxmindDownloads(settings, account, logger, fetch), store, {
        onProgress: progress.onProgress,
      }).finally(() => progress.stop());
      await emit(seams, flags.json, { dir, results }, () =>
        results
          .map((r) => {
            const { text } = describeDatabase({
              kind: r.edition,
              type: r.edition,
              builtAt: new Date(r.builtAt),
            });
            return `${r.action === "updated" ? "updated" : "already current"}: ${dir}/${r.edition}.mmdb (${text.replace(`${r.edition} ${r.edition} `, "")})`;
          })
          .join("\n"),
      );
    });
  return geoip;
}
