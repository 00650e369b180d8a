// `npm run simulators`: the JumpCloud simulator, the Elasticsearch emulator and the Kibana emulator
// on their own loopback ports, to try the CLI by hand against them (every command, doctor and
// setup --kibana included) until Ctrl-C.
import { Command, InvalidArgumentError } from "commander";
import { SIMULATED_KEY, SIMULATED_ORG } from "../cli/simulated.ts";
import { ElasticsearchEmulator } from "../simulators/elasticsearch/server.ts";
import { ingestionDelays, JumpcloudSimulator } from "../simulators/jumpcloud/server.ts";
import { generateTenantEvents } from "../simulators/jumpcloud/tenant.ts";
import { KibanaEmulator } from "../simulators/kibana/server.ts";

const DAY = 86_400_000;

function whole(min: number, max: number) {
  return (text: string) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max)
      throw new InvalidArgumentError(`a whole number from ${min} to ${max}`);
    return value;
  };
}

const flags = new Command("simulators")
  .description("the JumpCloud simulator, the Elasticsearch and Kibana emulators on loopback, until Ctrl-C")
  .option("--jumpcloud-port <port>", "the simulator's port (0: any free one)", whole(0, 65_535), 8081)
  .option("--elasticsearch-port <port>", "the emulator's port (0: any free one)", whole(0, 65_535), 9200)
  .option("--kibana-port <port>", "the Kibana emulator's port (0: any free one)", whole(0, 65_535), 5601)
  .option("--events <count>", "events over the last day, across eight services", whole(0, 1_000_000), 2_000)
  // A wrong flag exits 2, as the CLI's usage errors do.
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
  .parse()
  .opts<{ jumpcloudPort: number; elasticsearchPort: number; kibanaPort: number; events: number }>();

const now = Date.now();
const simulator = new JumpcloudSimulator({
  tenants: [
    {
      orgId: SIMULATED_ORG,
      events: generateTenantEvents({
        seed: 2026,
        start: now - DAY,
        end: now - 120_000,
        count: flags.events,
        organization: SIMULATED_ORG,
      }),
    },
  ],
  keys: [{ key: SIMULATED_KEY, orgs: [SIMULATED_ORG] }],
  ingestionDelay: ingestionDelays.realistic(),
});
// MaxMind's test databases stand in for those a cluster downloads: GEOIP=cluster works here too.
const geoip = new URL("../test/fixtures/geoip/", import.meta.url).pathname;
const emulator = new ElasticsearchEmulator({
  geoip: {
    files: {
      "GeoLite2-City.mmdb": `${geoip}GeoLite2-City-Test.mmdb`,
      "GeoLite2-ASN.mmdb": `${geoip}GeoLite2-ASN-Test.mmdb`,
    },
  },
});

// The key `setup --kibana` sends (KIBANA_API_KEY): the Elasticsearch emulator takes none.
const KIBANA_KEY = "emulator-key";
const kibana = new KibanaEmulator({
  version: "8.19.5",
  credentials: { [KIBANA_KEY]: { fleet: true, rules: true } },
});
const FLAGS: Record<string, string> = {
  simulator: "--jumpcloud-port",
  emulator: "--elasticsearch-port",
  "Kibana emulator": "--kibana-port",
};

async function listen<T>(what: string, port: number, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const flag = FLAGS[what];
    process.stderr.write(
      `error: cannot start the ${what} on 127.0.0.1:${port} (${code ?? error}): choose another ${flag}, or 0 for any free port\n`,
    );
    await Promise.allSettled([simulator.stop(), emulator.stop(), kibana.stop()]);
    process.exit(2);
  }
}

const apiUrl = await listen("simulator", flags.jumpcloudPort, () => simulator.start(flags.jumpcloudPort));
const esUrl = await listen("emulator", flags.elasticsearchPort, () =>
  emulator.start(flags.elasticsearchPort),
);
const kibanaUrl = await listen("Kibana emulator", flags.kibanaPort, () => kibana.start(flags.kibanaPort));
process.stdout.write(
  `JumpCloud simulator:    ${apiUrl} (key ${SIMULATED_KEY}, ${flags.events} events over the last day)\n` +
    `Elasticsearch emulator: ${esUrl} (no authentication; kept in memory)\n` +
    `Kibana emulator:        ${kibanaUrl} (key ${KIBANA_KEY}; Fleet and the rules import API, kept in memory)\n` +
    "In another terminal:\n" +
    `  export JUMPCLOUD_API_URL=${apiUrl} JUMPCLOUD_API_KEY=${SIMULATED_KEY} ELASTICSEARCH_URL=${esUrl} KIBANA_URL=${kibanaUrl} KIBANA_API_KEY=${KIBANA_KEY}\n` +
    "  npm run cli -- setup --kibana && npm run cli -- doctor && npm run cli -- run --once\n" +
    "Ctrl-C stops them.\n",
);

for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.once(signal, async () => {
    await Promise.allSettled([simulator.stop(), emulator.stop(), kibana.stop()]);
    process.stdout.write("stopped\n");
    process.exit(0);
  });
