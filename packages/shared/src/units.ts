/** One vCPU is 1024 cpu units, as in ECS. */
export const cpuUnitsPerVcpu = 1024;

export class UnitParseError extends Error {
  override name = "UnitParseError";
}

/**
 * Cpu units from a number of units (`512`, `"512"`, `"512 units"`) or vCPUs (`"0.5 vCPU"`,
 * `"2vcpu"`). Results are whole units; anything else throws UnitParseError.
 */
export function parseCpu(input: number | string): number {
  if (typeof input === "number") return wholePositive(input, "cpu", String(input));
  const match = /^\s*(\d+(?:\.\d+)?)\s*(vcpus?|cpus?|cores?|units?)?\s*$/i.exec(input);
  if (!match?.[1])
    throw new UnitParseError(
      `cpu "${input}" is not a number of cpu units or vCPUs (e.g. 512 or "0.5 vCPU")`,
    );
  const amount = Number(match[1]);
  const unit = (match[2] ?? "units").toLowerCase();
  const units = unit.startsWith("unit") ? amount : amount * cpuUnitsPerVcpu;
  return wholePositive(units, "cpu", input);
}

const mebibytesPer: Record<string, number> = {
  b: 1 / 1024 ** 2,
  kb: 1000 / 1024 ** 2,
  kib: 1 / 1024,
  mb: 1000 ** 2 / 1024 ** 2,
  mib: 1,
  gb: 1000 ** 3 / 1024 ** 2,
  gib: 1024,
  tb: 1000 ** 4 / 1024 ** 2,
  tib: 1024 ** 2,
};

/**
 * Memory in MiB from a number of MiB (`512`) or a size with a unit (`"512MiB"`, `"1 GiB"`,
 * `"2GB"`). Decimal units (MB, GB) are converted exactly and rounded up to a whole MiB, so a
 * limit is never smaller than what was asked for.
 */
export function parseMemory(input: number | string): number {
  if (typeof input === "number") return wholePositive(input, "memory", String(input));
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(input);
  const unit = (match?.[2] || "mib").toLowerCase();
  const factor = mebibytesPer[unit];
  if (!match?.[1] || factor === undefined) {
    throw new UnitParseError(`memory "${input}" is not a size (e.g. 512, "512MiB" or "2 GiB")`);
  }
  const mebibytes = Number(match[1]) * factor;
  return wholePositive(Math.ceil(mebibytes - 1e-9), "memory", input);
}

function wholePositive(value: number, what: string, input: string): number {
  if (!Number.isFinite(value) || value <= 0 || !Number.isInteger(value)) {
    throw new UnitParseError(`${what} "${input}" must come to a whole number greater than 0`);
  }
  return value;
}

/** "0.5 vCPU" style text for cpu units. */
export function formatCpu(units: number): string {
  return `${units / cpuUnitsPerVcpu} vCPU`;
}

/** "512 MiB" or "2 GiB" style text for MiB. */
export function formatMemory(mebibytes: number): string {
  return mebibytes % 1024 === 0 ? `${mebibytes / 1024} GiB` : `${mebibytes} MiB`;
}
