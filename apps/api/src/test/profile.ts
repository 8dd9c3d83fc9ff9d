/**
 * `SKIFF_TEST_CPU_PROF=<dir>` makes the processes that tests and benches start write V8 CPU
 * profiles there as they exit (NODE_OPTIONS may not carry --cpu-prof).
 */
export function profileArgs(): string[] {
  const dir = process.env.SKIFF_TEST_CPU_PROF;
  return dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : [];
}
