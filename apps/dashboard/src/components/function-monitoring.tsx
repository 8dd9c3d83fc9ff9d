import { usePoll } from "../lib/use-poll.js";
import { SeriesChart } from "./function-chart.js";
import { Empty, Loaded } from "./states.js";

/** A function's last hour per minute: invocations, errors, throttles, durations, concurrency. */
export function FunctionMonitoring({ name }: { name: string }) {
  const metrics = usePoll(
    `function-metrics:${name}`,
    (client) => client.functionMetrics(name, 60),
    15_000,
  );
  return (
    <Loaded poll={metrics} what="metrics" feature="Function metrics">
      {(data) => {
        const minutes = data.minutes;
        if (minutes.every((minute) => minute.invocations === 0 && minute.throttles === 0))
          return <Empty>No invocations in the last hour.</Empty>;
        const times = minutes.map((minute) => minute.minute);
        return (
          <div className="grid" data-testid="function-charts">
            <SeriesChart
              title="invocations per minute"
              unit=""
              times={times}
              series={[
                {
                  label: "invocations",
                  color: "#2f81f7",
                  values: minutes.map((m) => m.invocations),
                },
                {
                  label: "cold starts",
                  color: "#8250df",
                  values: minutes.map((m) => m.coldStarts),
                },
              ]}
            />
            <SeriesChart
              title="errors and throttles per minute"
              unit=""
              times={times}
              series={[
                { label: "errors", color: "#cf222e", values: minutes.map((m) => m.errors) },
                { label: "throttles", color: "#d2691e", values: minutes.map((m) => m.throttles) },
              ]}
            />
            <SeriesChart
              title="duration p50 / p99"
              unit="ms"
              times={times}
              series={[
                { label: "p50", color: "#1a7f37", values: minutes.map((m) => m.durationP50Ms) },
                { label: "p99", color: "#9a6700", values: minutes.map((m) => m.durationP99Ms) },
              ]}
            />
            <SeriesChart
              title="concurrent executions (most per minute)"
              unit=""
              times={times}
              series={[
                {
                  label: "concurrency",
                  color: "#0969da",
                  values: minutes.map((m) => m.maxConcurrency),
                },
              ]}
            />
          </div>
        );
      }}
    </Loaded>
  );
}
