const UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Parses `500ms`, `30s`, `5m`, `2h`, `15d` (or a combination like `1h30m`) into milliseconds; `undefined` if invalid. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^(\d+(ms|s|m|h|d))+$/.test(trimmed)) return undefined;
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(/(\d+)(ms|s|m|h|d)/g)) {
    total += Number(amount) * (UNITS[unit as string] as number);
  }
  return total;
}

/** Formats milliseconds the way parseDuration reads them (largest units first). */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  let rest = ms;
  let out = "";
  for (const unit of ["d", "h", "m", "s", "ms"]) {
    const size = UNITS[unit] as number;
    const amount = Math.floor(rest / size);
    if (amount > 0) {
      out += `${amount}${unit}`;
      rest -= amount * size;
    }
  }
  return out;
}
