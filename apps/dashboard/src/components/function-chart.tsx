import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { isDark } from "../lib/theme.js";

export interface ChartSeries {
  label: string;
  color: string;
  /** One value per time; null where there is nothing to draw (a minute without invocations). */
  values: (number | null)[];
}

/**
 * Series over time on one axis (counts, or ms), drawn by uPlot as StatsChart draws cpu and
 * memory; `unit` labels the axis and the legend's values.
 */
export function SeriesChart({
  title,
  times,
  series,
  unit,
}: {
  title: string;
  /** ISO times, oldest first. */
  times: string[];
  series: ChartSeries[];
  unit: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data: uPlot.AlignedData = [
    times.map((time) => Date.parse(time) / 1000),
    ...series.map((item) => item.values),
  ];
  const dataRef = useRef(data);
  dataRef.current = data;
  const shape = series.map((item) => `${item.label}:${item.color}`).join(",");

  // One chart per mount (and per set of series); its width follows the box.
  // biome-ignore lint/correctness/useExhaustiveDependencies: shape stands for series' labels and colours
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const ink = isDark() ? "#c9d1d9" : "#24292f";
    const grid = isDark() ? "#30363d" : "#e5e7eb";
    const axis = { stroke: ink, grid: { stroke: grid }, ticks: { stroke: grid } };
    const format = (v: number | null) =>
      v == null ? "–" : `${Number.isInteger(v) ? v : v.toFixed(1)}${unit ? ` ${unit}` : ""}`;
    const chart = new uPlot(
      {
        width: element.clientWidth,
        height: 180,
        title,
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        series: [
          {},
          ...series.map((item) => ({
            label: item.label,
            stroke: item.color,
            width: 2,
            spanGaps: false,
            points: { show: true, size: 4 },
            value: (_u: uPlot, v: number | null) => format(v),
          })),
        ],
        axes: [axis, { ...axis, size: 64, values: (_u, values) => values.map((v) => format(v)) }],
      },
      dataRef.current,
      element,
    );
    plot.current = chart;
    const resize = new ResizeObserver(() =>
      chart.setSize({ width: element.clientWidth, height: 180 }),
    );
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, [title, unit, shape]);

  useEffect(() => {
    plot.current?.setData(data);
  });

  return <div className="chart" ref={box} role="img" aria-label={title} />;
}
