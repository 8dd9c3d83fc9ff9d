import type { ReactNode } from "react";
import { Empty } from "./states.js";

/**
 * `items` as rows under column headings (an empty heading for a column of buttons), or the
 * `empty` note when there are none.
 */
export function DataTable<T>({
  items,
  columns,
  row,
  empty,
}: {
  items: T[];
  columns: string[];
  row: (item: T) => ReactNode;
  empty?: string;
}) {
  if (items.length === 0 && empty !== undefined) return <Empty>{empty}</Empty>;
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            {columns.map((column, index) => (
              // Headings may repeat or be empty; their place is their identity.
              // biome-ignore lint/suspicious/noArrayIndexKey: fixed column order
              <th key={index}>{column}</th>
            ))}
          </tr>
        </thead>
        <tbody>{items.map(row)}</tbody>
      </table>
    </div>
  );
}
