// Lambda cost per million events, computed from the measured times at the stack's memory sizes.
import { DEFAULTS } from "../infra/config.ts";
import type { PageCost } from "./page.ts";
import type { BenchSection } from "./section.ts";

/** AWS Lambda list price, arm64, first pricing tier (us-east-1, December 2026). */
export const PRICE = { perGbSecond: 0.0000133334, perMillionRequests: 0.2 };
/** Lambda gives a function one vCPU at 1 769 MB, and CPU in proportion below that. */
const MB_PER_VCPU = 1_769;

interface BackfillFigures {
  events: number;
  wallMs: number;
  pageLimit: number;
}

/** Seconds a page's work takes at `memoryMb`: CPU time stretched by the vCPU share, waiting unchanged. */
export function lambdaSeconds(cpuMs: number, wallMs: number, memoryMb: number): number {
  const share = Math.min(1, memoryMb / MB_PER_VCPU);
  return (cpuMs / share + Math.max(0, wallMs - cpuMs)) / 1000;
}

/** Part 5 of `npm run bench`: from the backfill (collector) and the page (mapper) measurements. */
export function costSection(backfill: BackfillFigures, page: PageCost): BenchSection {
  const million = 1_000_000;
  const mapperGb = DEFAULTS.mapperMemoryMb / 1024;
  const collectorGb = DEFAULTS.collectorMemoryMb / 1024;
  const mapperSeconds =
    lambdaSeconds(page.cpuMs, page.wallMs, DEFAULTS.mapperMemoryMb) * (million / page.events);
  // The collector waits for the API and for the mapper it invokes: billed the backfill's wall time
  // (measured with mapping in the same process, so an upper estimate).
  const collectorSeconds = (backfill.wallMs / 1000) * (million / backfill.events);
  const invocations = Math.ceil(million / backfill.pageLimit);
  const mapperGbS = mapperSeconds * mapperGb;
  const collectorGbS = collectorSeconds * collectorGb;
  const dollars =
    (mapperGbS + collectorGbS) * PRICE.perGbSecond + (invocations / million) * PRICE.perMillionRequests;
  const usd = (x: number) => `$${x.toFixed(4)}`;
  return {
    title: `Cost per million events (AWS Lambda arm64 list price $${PRICE.perGbSecond}/GB-s, $${PRICE.perMillionRequests}/M requests)`,
    rows: [
      {
        measure: `mapper, ${DEFAULTS.mapperMemoryMb} MB`,
        value: `${mapperGbS.toFixed(0)} GB-s (${usd(mapperGbS * PRICE.perGbSecond)})`,
        against: `from the page: CPU ${page.cpuMs.toFixed(0)} ms ÷ ${Math.min(1, DEFAULTS.mapperMemoryMb / MB_PER_VCPU).toFixed(2)} vCPU + ${Math.max(0, page.wallMs - page.cpuMs).toFixed(0)} ms waiting, per ${page.events} events`,
      },
      {
        measure: `collector, ${DEFAULTS.collectorMemoryMb} MB`,
        value: `${collectorGbS.toFixed(0)} GB-s (${usd(collectorGbS * PRICE.perGbSecond)})`,
        against: `from the backfill: ${(backfill.wallMs / 1000).toFixed(1)} s wall per ${backfill.events} events`,
      },
      {
        measure: "total, with requests",
        value: usd(dollars),
        against: `${invocations} mapper invocations (one per page of ${backfill.pageLimit})`,
      },
    ],
    results: {
      mapperGbSeconds: mapperGbS,
      collectorGbSeconds: collectorGbS,
      invocations,
      dollars,
      price: PRICE,
    },
  };
}
