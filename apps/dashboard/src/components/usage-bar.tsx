import { percentOf } from "../lib/format.js";

/** Allocated against capacity, as a bar with its numbers. */
export function UsageBar({
  label,
  used,
  total,
  format,
}: {
  label: string;
  used: number;
  total: number;
  format: (value: number) => string;
}) {
  const percent = percentOf(used, total);
  return (
    <div className="usage-bar">
      <div className="usage-bar-label">
        <span>{label}</span>
        <span>
          {format(used)} / {format(total)}
        </span>
      </div>
      {/* biome-ignore lint/a11y/useSemanticElements: a <meter> cannot be styled alike across browsers */}
      <div
        className="usage-bar-track"
        role="meter"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
      >
        <div
          className={`usage-bar-fill${percent >= 90 ? " high" : ""}`}
          style={{ width: `${percent}%` }}
        />
      </div>
    </div>
  );
}
