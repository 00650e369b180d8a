import { type Answer, kibanaError } from "./responses.ts";

/** The package the project installs (elastic/integrations, packages/jumpcloud). */
export const PACKAGE = "jumpcloud";
/** The package's one dashboard (packages/jumpcloud/kibana/dashboard/). */
export const DASHBOARD_ID = "jumpcloud-fe780080-94a7-11ed-9170-e9f90db17dfc";
const DASHBOARD_TITLE = "[JumpCloud] Directory Insights Summary";
const TAG_IDS = ["jumpcloud-fleet-managed-default", "jumpcloud-fleet-pkg-jumpcloud-default"];
const DATASET = "jumpcloud.events";

/** Settings of the Fleet emulation. */
export interface FleetOptions {
  kibanaVersion: string;
  /** Whether Kibana reaches the package registry. */
  registry: boolean;
  /** Versions the registry has, oldest first; the last is the latest. */
  versions: string[];
}

/** The `epm-packages` saved object of an installed package (cluster-wide: one per package). */
interface Installation {
  version: string;
  createdAt: string;
  updatedAt: string;
  /** The space Kibana assets were first installed into (`installed_kibana_space_id`). */
  spaceId: string;
  /** Other spaces assets were installed into later (`additional_spaces_installed_kibana`). */
  additionalSpaces: Set<string>;
}

type Ref = { id: string; type: string };

const kibanaRefs = (): Ref[] => [
  { id: DASHBOARD_ID, type: "dashboard" },
  ...TAG_IDS.map((id) => ({ id, type: "tag" })),
];

// What Fleet installs into Elasticsearch for a package with one logs data stream.
const esRefs = (version: string): Ref[] => [
  { id: `logs-${DATASET}-${version}`, type: "ingest_pipeline" },
  { id: `logs-${DATASET}`, type: "index_template" },
  { id: `logs-${DATASET}@package`, type: "component_template" },
  { id: `logs-${DATASET}@custom`, type: "component_template" },
];

const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

function compareVersions(a: string, b: string): number {
  const parts = (v: string) => v.split(/[-+]/, 1)[0]?.split(".").map(Number) ?? [];
  const [pa, pb] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

// Fleet's registry errors (fleet/server/services/epm/registry/index.ts and packages/get.ts); the
// status codes from fleet/server/errors/handlers.ts (PackageNotFoundError 404, RegistryConnectionError 502).
const notInRegistry = (name: string) => kibanaError(404, `[${name}] package not found in registry`);
const notInstalledNorFound = (name: string) =>
  kibanaError(404, `[${name}] package not installed or found in registry`);
const versionNotFound = (name: string, version: string) => kibanaError(404, `${name}@${version} not found`);
const registryDown = (name: string, version: string) =>
  kibanaError(
    502,
    `Error connecting to package registry: request to https://epr.elastic.co/package/${name}/${version}/ failed, reason: getaddrinfo ENOTFOUND epr.elastic.co`,
  );

/** Fleet's EPM for the `jumpcloud` package, and the dashboards its installs leave per space. */
export class Fleet {
  /** How many times a package was installed or reinstalled (an "already installed" answer is not one). */
  installCount = 0;
  private installation: Installation | undefined;
  private readonly dashboards = new Map<string, { created: string }>();

  constructor(private readonly options: FleetOptions) {}

  /** Whether the registry is reachable (the emulator's `registry` setter changes it). */
  set registry(reachable: boolean) {
    this.options.registry = reachable;
  }

  private get latest(): string {
    return this.options.versions.at(-1) ?? "0.0.0";
  }

  /** The installed package (Fleet installs a package once for the whole cluster). */
  installed(): { name: string; version: string } | undefined {
    return this.installation && { name: PACKAGE, version: this.installation.version };
  }

  /** Dashboard ids present in a space. */
  dashboardIds(space: string): string[] {
    return this.dashboards.has(space) ? [DASHBOARD_ID] : [];
  }

  /** `GET /api/fleet/epm/packages/<name>[/<version>]`: getInfoHandler → getPackageInfo (packages/get.ts). */
  info(name: string, version: string | undefined): Answer {
    if (version !== undefined && !SEMVER.test(version))
      return kibanaError(400, "Package version is not a valid semver");
    const installed = name === PACKAGE ? this.installation : undefined;
    const latest = name === PACKAGE && this.options.registry ? this.latest : undefined;
    if (!installed && !latest) return notInstalledNorFound(name);
    const resolved = version ?? installed?.version ?? (latest as string);
    if (installed?.version !== resolved) {
      // Not served from the installed copy in Elasticsearch: the registry has to have it.
      if (!this.options.registry) return registryDown(name, resolved);
      if (!this.options.versions.includes(resolved)) return versionNotFound(name, resolved);
    }
    const latestVersion = latest && compareVersions(latest, resolved) >= 0 ? latest : resolved;
    return [200, { item: this.item(resolved, latestVersion) }];
  }

  /**
   * `POST /api/fleet/epm/packages/<name>[/<version>]`: installPackageFromRegistry (packages/install.ts);
   * without a version, the latest.
   * The registry is asked for the latest version first; unreachable, that lookup yields nothing and
   * the install fails as "not found in registry" before the archive fetch times out.
   */
  install(space: string, name: string, requested: string | undefined, body: Buffer): Answer {
    const options = installOptions(body);
    if ("answer" in options) return options.answer;
    if (requested !== undefined && !SEMVER.test(requested))
      return kibanaError(400, "Package version is not a valid semver");
    if (name !== PACKAGE || !this.options.registry) return notInRegistry(name);
    const version = requested ?? this.latest;
    if (!this.options.versions.includes(version)) return versionNotFound(name, version);
    const current = this.installation;
    const reinstall = current?.version === version;
    if (compareVersions(version, this.latest) < 0 && !options.force && !reinstall)
      return kibanaError(400, `${name}-${version} is out-of-date and cannot be installed or updated`);
    const meta = { install_source: "registry", name };
    if (reinstall && !options.force)
      return [200, { items: [...esRefs(version), ...kibanaRefs()], _meta: meta }];
    this.record(space, version);
    return [200, { items: [...kibanaRefs(), ...esRefs(version)], _meta: meta }];
  }

  private record(space: string, version: string): void {
    const now = new Date().toISOString();
    this.installCount++;
    const current = this.installation;
    if (!current)
      this.installation = {
        version,
        createdAt: now,
        updatedAt: now,
        spaceId: space,
        additionalSpaces: new Set(),
      };
    else {
      current.version = version;
      current.updatedAt = now;
      if (space !== current.spaceId) current.additionalSpaces.add(space);
    }
    if (!this.dashboards.has(space)) this.dashboards.set(space, { created: now });
  }

  /** `GET /api/saved_objects/<type>/<id>` for what installs create (dashboards; tags live with them). */
  savedObject(space: string, type: string, id: string): Answer {
    const installed = this.dashboards.get(space);
    if (type !== "dashboard" || id !== DASHBOARD_ID || !installed)
      return kibanaError(404, `Saved object [${type}/${id}] not found`);
    return [200, dashboardObject(space, installed.created, this.options.kibanaVersion)];
  }

  private item(version: string, latestVersion: string): Record<string, unknown> {
    const installation = this.installation;
    const item: Record<string, unknown> = {
      ...packageManifest(version, this.options.kibanaVersion),
      latestVersion,
      assets: assetsOf(version),
      keepPoliciesUpToDate: false,
      // Fleet reports the installation's status whatever version was asked for: compare versions.
      status: installation ? "installed" : "not_installed",
    };
    if (!installation) return item;
    const info = installationInfo(installation);
    item.installationInfo = info;
    // 8.x still sends the whole saved object next to installationInfo; 9.x dropped it.
    if (this.options.kibanaVersion.startsWith("8.")) item.savedObject = savedObjectOf(installation, info);
    return item;
  }
}

function installOptions(body: Buffer): { force: boolean } | { answer: Answer } {
  if (body.length === 0) return { force: false };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    return { answer: kibanaError(400, "Invalid request payload JSON format") };
  }
  const fields = (parsed ?? {}) as Record<string, unknown>;
  for (const key of ["force", "ignore_constraints"]) {
    const value = fields[key];
    if (value !== undefined && typeof value !== "boolean")
      return {
        answer: kibanaError(
          400,
          `[request body.${key}]: expected value of type [boolean] but got [${typeof value}]`,
        ),
      };
  }
  return { force: fields.force === true };
}

// The registry's package info, from packages/jumpcloud/manifest.yml (conditions made to fit the emulated Kibana).
function packageManifest(version: string, kibanaVersion: string): Record<string, unknown> {
  return {
    name: PACKAGE,
    title: "JumpCloud",
    version,
    release: "ga",
    description: "Collect logs from JumpCloud Directory as a Service",
    type: "integration",
    download: `/epr/${PACKAGE}/${PACKAGE}-${version}.zip`,
    path: `/package/${PACKAGE}/${version}`,
    format_version: "3.3.2",
    categories: ["cloud", "security"],
    conditions: {
      kibana: { version: `^${kibanaVersion.split(".")[0]}.0.0` },
      elastic: { subscription: "basic" },
    },
    owner: { github: "elastic/security-service-integrations", type: "elastic" },
    icons: [
      {
        src: "/img/jumpcloud.svg",
        path: `/package/${PACKAGE}/${version}/img/jumpcloud.svg`,
        type: "image/svg+xml",
      },
    ],
    data_streams: [
      {
        type: "logs",
        dataset: DATASET,
        title: "JumpCloud Events",
        release: "ga",
        path: "events",
        package: PACKAGE,
      },
    ],
    policy_templates: [{ name: PACKAGE, title: "JumpCloud Events", inputs: [{ type: "httpjson" }] }],
  };
}

function assetsOf(version: string): Record<string, unknown> {
  const pkgkey = `${PACKAGE}-${version}`;
  const kibana = (type: string, id: string) => ({
    pkgkey,
    service: "kibana",
    type,
    file: `${id}.json`,
    path: `${pkgkey}/kibana/${type}/${id}.json`,
  });
  return {
    kibana: { dashboard: [kibana("dashboard", DASHBOARD_ID)], tag: TAG_IDS.map((id) => kibana("tag", id)) },
    elasticsearch: {
      ingest_pipeline: [
        {
          pkgkey,
          service: "elasticsearch",
          type: "ingest_pipeline",
          file: "default.yml",
          dataset: "events",
          path: `${pkgkey}/data_stream/events/elasticsearch/ingest_pipeline/default.yml`,
        },
      ],
    },
  };
}

// soToInstallationInfo in fleet/server/routes/epm/handlers.ts.
function installationInfo(installation: Installation): Record<string, unknown> {
  const additional = Object.fromEntries([...installation.additionalSpaces].map((s) => [s, kibanaRefs()]));
  return {
    type: "epm-packages",
    created_at: installation.createdAt,
    updated_at: installation.updatedAt,
    installed_kibana: kibanaRefs(),
    installed_kibana_space_id: installation.spaceId,
    additional_spaces_installed_kibana: additional,
    installed_es: esRefs(installation.version),
    install_status: "installed",
    install_source: "registry",
    name: PACKAGE,
    version: installation.version,
    verification_status: "verified",
    verification_key_id: "d27d666cd88e42b4",
    experimental_data_stream_features: [],
    latest_install_failed_attempts: [],
  };
}

function savedObjectOf(installation: Installation, info: Record<string, unknown>): Record<string, unknown> {
  const { type, created_at, updated_at, ...attributes } = info;
  return {
    id: PACKAGE,
    type,
    created_at,
    updated_at,
    version: "WzEsMV0=",
    attributes: { ...attributes, install_version: installation.version, keep_policies_up_to_date: false },
    references: [],
    managed: false,
  };
}

// The saved object GET answers for the package's dashboard; panels omitted, the rest as exported.
function dashboardObject(space: string, created: string, kibanaVersion: string): Record<string, unknown> {
  return {
    id: DASHBOARD_ID,
    type: "dashboard",
    namespaces: [space],
    created_at: created,
    updated_at: created,
    version: "WzEsMV0=",
    managed: true,
    coreMigrationVersion: kibanaVersion.startsWith("8.") ? "8.8.0" : "9.0.0",
    typeMigrationVersion: "10.2.0",
    attributes: {
      title: DASHBOARD_TITLE,
      description: "Summary of events from Directory Insights",
      hits: 0,
      timeRestore: false,
      version: 1,
      optionsJSON: '{"hidePanelTitles":false,"syncColors":false,"syncTooltips":false,"useMargins":true}',
      panelsJSON: "[]",
      kibanaSavedObjectMeta: {
        searchSourceJSON: '{"filter":[],"query":{"language":"kuery","query":"NOT user.name: svc-sssd"}}',
      },
    },
    references: TAG_IDS.map((id) => ({ id, name: `tag-${id}`, type: "tag" })),
  };
}
