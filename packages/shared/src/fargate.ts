// Fargate's valid task sizes (cpu units -> memory MiB), as AWS documents them. A fargate task
// must be one of these; `size: "auto"` rounds a task's needs up to the smallest that covers them.

const gib = 1024;

/** Memory choices for each cpu size, in MiB, smallest first. */
export const fargateSizes: ReadonlyArray<{ cpu: number; memory: readonly number[] }> = [
  { cpu: 256, memory: [512, 1 * gib, 2 * gib] },
  { cpu: 512, memory: steps(1, 4, 1) },
  { cpu: 1024, memory: steps(2, 8, 1) },
  { cpu: 2048, memory: steps(4, 16, 1) },
  { cpu: 4096, memory: steps(8, 30, 1) },
  { cpu: 8192, memory: steps(16, 60, 4) },
  { cpu: 16384, memory: steps(32, 120, 8) },
];

/** Whole GiB from `from` to `to` in `step`s, in MiB. */
function steps(from: number, to: number, step: number): number[] {
  const sizes: number[] = [];
  for (let size = from; size <= to; size += step) sizes.push(size * gib);
  return sizes;
}

export interface FargateSize {
  cpu: number;
  memory: number;
}

export function isValidFargateSize(size: FargateSize): boolean {
  return fargateSizes.some((row) => row.cpu === size.cpu && row.memory.includes(size.memory));
}

/** The smallest valid size with at least this cpu and memory; undefined above the largest. */
export function smallestFargateSizeCovering(need: FargateSize): FargateSize | undefined {
  for (const row of fargateSizes) {
    if (row.cpu < need.cpu) continue;
    const memory = row.memory.find((choice) => choice >= need.memory);
    if (memory !== undefined) return { cpu: row.cpu, memory };
  }
  return undefined;
}

/**
 * Valid sizes near an invalid one, for the error message: the size covering it (if any) and
 * the valid memory range at the nearest cpu sizes.
 */
export function nearestFargateSizes(size: FargateSize): string[] {
  const covering = smallestFargateSizeCovering(size);
  const byDistance = [...fargateSizes].sort(
    (a, b) => Math.abs(Math.log2(a.cpu / size.cpu)) - Math.abs(Math.log2(b.cpu / size.cpu)),
  );
  const hints = byDistance.slice(0, 2).map((row) => {
    const low = row.memory[0] ?? 0;
    const high = row.memory.at(-1) ?? 0;
    return `cpu ${row.cpu} with memory ${low}-${high} MiB`;
  });
  if (covering) hints.unshift(`cpu ${covering.cpu} memory ${covering.memory}`);
  return [...new Set(hints)];
}

/** "cpu 256 with memory 512-2048 MiB" style message for an invalid size. */
export function fargateSizeError(size: FargateSize): string {
  return `cpu ${size.cpu} with memory ${size.memory} MiB is not a valid fargate size; nearest valid: ${nearestFargateSizes(size).join("; ")} (or set size "auto")`;
}
