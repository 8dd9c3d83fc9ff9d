import { busyDays, total, type UsageLine, usageWindowDays } from "../lib/usage-days.js";
import { DataTable } from "./data-table.js";
import { SeriesChart } from "./function-chart.js";
import { Empty } from "./states.js";

const colors = ["#2f81f7", "#d2691e", "#1a7f37", "#8250df", "#cf222e", "#9a6700", "#0969da"];

/**
 * Requests per UTC day over the usage window, one line per key (or per plan), drawn as the
 * function charts are, with a day quota as a flat line; beneath it the days that had requests,
 * as a table, so the counts can be read (and copied) exactly.
 */
export function UsageChart({
  title,
  days,
  lines,
  dailyLimit,
}: {
  title: string;
  /** YYYY-MM-DD, oldest first. */
  days: string[];
  lines: UsageLine[];
  /** A quota per DAY: drawn across the chart. */
  dailyLimit?: number | undefined;
}) {
  if (lines.every((line) => total(line.used) === 0))
    return <Empty>No requests in the last {usageWindowDays} days.</Empty>;
  return (
    <div className="usage-chart">
      <SeriesChart
        title={title}
        unit=""
        times={days.map((day) => `${day}T00:00:00Z`)}
        series={[
          ...lines.map((line, i) => ({
            label: line.label,
            color: colors[i % colors.length] ?? "#2f81f7",
            values: line.used,
          })),
          ...(dailyLimit === undefined
            ? []
            : [{ label: "daily quota", color: "#8c959f", values: days.map(() => dailyLimit) }]),
        ]}
      />
      <section aria-label={`${title}, by day`}>
        <DataTable
          items={busyDays(days, lines)}
          columns={["day (UTC)", ...lines.map((line) => line.label)]}
          row={(row) => (
            <tr key={row.date}>
              <td className="mono">{row.date}</td>
              {row.counts.map((count, i) => (
                <td key={lines[i]?.id ?? i}>{count}</td>
              ))}
            </tr>
          )}
        />
      </section>
    </div>
  );
}
