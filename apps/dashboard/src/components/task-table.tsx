import type { Task } from "@skiff/shared";
import { formatAgo, formatCpu, formatMemory } from "../lib/format.js";
import { Link } from "../lib/router.js";
import { DataTable } from "./data-table.js";
import { Empty } from "./states.js";
import { StatusBadge } from "./status-badge.js";

/** Tasks as rows linking to their detail. */
export function TaskTable({ tasks, empty }: { tasks: Task[]; empty: string }) {
  if (tasks.length === 0) return <Empty>{empty}</Empty>;
  return (
    <DataTable
      items={tasks}
      columns={["task", "definition", "status", "service", "launch", "size", "started"]}
      row={(task) => (
        <tr key={task.id}>
          <td>
            <Link to={`/tasks/${task.id}`} className="mono">
              {task.id}
            </Link>
          </td>
          <td>
            {task.family}:{task.revision}
          </td>
          <td>
            <StatusBadge status={task.status} />
            {task.stopCode ? <div className="muted">{task.stopCode}</div> : null}
          </td>
          <td>{task.service ?? "–"}</td>
          <td>{task.launchType}</td>
          <td>
            {formatCpu(task.cpu)}, {formatMemory(task.memory)}
          </td>
          <td>{task.startedAt ? formatAgo(task.startedAt) : "–"}</td>
        </tr>
      )}
    />
  );
}
