import type { StatsPoint } from "@skiff/shared";
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { isDark } from "../lib/theme.js";

/** Cpu (percent, left axis) and memory (MiB, right axis) over time, drawn by uPlot. */
export function StatsChart({ points, title }: { points: StatsPoint[]; title: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data: uPlot.AlignedData = [
    points.map((point) => Date.parse(point.time) / 1000),
    points.map((point) => point.cpuPercent),
    points.map((point) => point.memory),
  ];
  const dataRef = useRef(data);
  dataRef.current = data;

  // One chart per mount; its width follows the box (1280 px screens and phones alike).
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const ink = isDark() ? "#c9d1d9" : "#24292f";
    const grid = isDark() ? "#30363d" : "#e5e7eb";
    const axis = { stroke: ink, grid: { stroke: grid }, ticks: { stroke: grid } };
    const chart = new uPlot(
      {
        width: element.clientWidth,
        height: 220,
        title,
        scales: {
          x: { time: true },
          cpu: { range: (_u, _min, max) => [0, Math.max(100, max)] },
          mem: { range: (_u, _min, max) => [0, Math.max(64, max * 1.1)] },
        },
        series: [
          {},
          {
            label: "cpu %",
            points: { show: false },
            scale: "cpu",
            stroke: "#2f81f7",
            width: 2,
            value: (_u, v) => (v == null ? "–" : `${v.toFixed(1)} %`),
          },
          {
            label: "memory MiB",
            points: { show: false },
            scale: "mem",
            stroke: "#d2691e",
            width: 2,
            value: (_u, v) => (v == null ? "–" : `${Math.round(v)} MiB`),
          },
        ],
        axes: [
          axis,
          { ...axis, scale: "cpu", values: (_u, values) => values.map((v) => `${v}%`) },
          {
            ...axis,
            scale: "mem",
            side: 1,
            size: 72,
            // One grid is enough: the cpu axis draws it.
            grid: { show: false },
            values: (_u, values) => values.map((v) => `${v} MiB`),
          },
        ],
      },
      dataRef.current,
      element,
    );
    plot.current = chart;
    const resize = new ResizeObserver(() =>
      chart.setSize({ width: element.clientWidth, height: 220 }),
    );
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, [title]);

  useEffect(() => {
    plot.current?.setData(data);
  });

  return <div className="chart" ref={box} role="img" aria-label={title} />;
}
