// Prometheus metrics of functions, kept in this process's memory (each replica exposes its own
// counts; Prometheus sums replicas). Appended to /v1/metrics.

/** Upper bounds (seconds) of the duration histogram's buckets. */
const buckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];

interface FunctionCounters {
  invocations: number;
  errors: number;
  throttles: number;
  coldStarts: number;
  concurrent: number;
  durationCounts: number[];
  durationSum: number;
  durationCount: number;
}

export class FunctionMetrics {
  private readonly byName = new Map<string, FunctionCounters>();

  private of(name: string): FunctionCounters {
    let counters = this.byName.get(name);
    if (!counters) {
      counters = {
        invocations: 0,
        errors: 0,
        throttles: 0,
        coldStarts: 0,
        concurrent: 0,
        durationCounts: buckets.map(() => 0),
        durationSum: 0,
        durationCount: 0,
      };
      this.byName.set(name, counters);
    }
    return counters;
  }

  started(name: string): void {
    this.of(name).concurrent++;
  }

  finished(
    name: string,
    outcome: { error: boolean; durationMs: number; coldStart: boolean },
  ): void {
    const counters = this.of(name);
    counters.concurrent = Math.max(0, counters.concurrent - 1);
    counters.invocations++;
    if (outcome.error) counters.errors++;
    if (outcome.coldStart) counters.coldStarts++;
    const seconds = outcome.durationMs / 1000;
    counters.durationSum += seconds;
    counters.durationCount++;
    buckets.forEach((bound, index) => {
      if (seconds <= bound)
        counters.durationCounts[index] = (counters.durationCounts[index] ?? 0) + 1;
    });
  }

  /** An execution that ended without an outcome (the agent unreachable): only the gauge. */
  abandoned(name: string): void {
    const counters = this.of(name);
    counters.concurrent = Math.max(0, counters.concurrent - 1);
  }

  throttled(name: string): void {
    this.of(name).throttles++;
  }

  forget(name: string): void {
    this.byName.delete(name);
  }

  /** Prometheus text exposition format 0.0.4. */
  toPrometheus(): string {
    const lines: string[] = [];
    const entries = [...this.byName.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    const counter = (
      metric: string,
      help: string,
      type: string,
      value: (c: FunctionCounters) => number,
    ) => {
      lines.push(`# HELP ${metric} ${help}`, `# TYPE ${metric} ${type}`);
      for (const [name, counters] of entries)
        lines.push(`${metric}{function="${escapeLabel(name)}"} ${value(counters)}`);
    };
    counter(
      "skiff_function_invocations_total",
      "Invocations that ran (sync and async attempts)",
      "counter",
      (c) => c.invocations,
    );
    counter(
      "skiff_function_errors_total",
      "Invocations that ended in a function error, timeout or crash",
      "counter",
      (c) => c.errors,
    );
    counter(
      "skiff_function_throttles_total",
      "Invocations refused for concurrency (429)",
      "counter",
      (c) => c.throttles,
    );
    counter(
      "skiff_function_cold_starts_total",
      "Invocations that started a new instance",
      "counter",
      (c) => c.coldStarts,
    );
    counter(
      "skiff_function_concurrent_executions",
      "Executions in flight in this api process",
      "gauge",
      (c) => c.concurrent,
    );
    const metric = "skiff_function_duration_seconds";
    lines.push(
      `# HELP ${metric} Invocation duration as the agent measured it`,
      `# TYPE ${metric} histogram`,
    );
    for (const [name, counters] of entries) {
      const label = `function="${escapeLabel(name)}"`;
      buckets.forEach((bound, index) => {
        lines.push(
          `${metric}_bucket{${label},le="${bound}"} ${counters.durationCounts[index] ?? 0}`,
        );
      });
      lines.push(`${metric}_bucket{${label},le="+Inf"} ${counters.durationCount}`);
      lines.push(`${metric}_sum{${label}} ${round(counters.durationSum)}`);
      lines.push(`${metric}_count{${label}} ${counters.durationCount}`);
    }
    return `${lines.join("\n")}\n`;
  }
}

function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
