import { getConnInfo } from "@hono/node-server/conninfo";
import { createRoute, z } from "@hono/zod-openapi";
import {
  assignmentsQuerySchema,
  assignmentsSchema,
  goneNodesQuerySchema,
  goneNodesSchema,
  heartbeatAnswerSchema,
  heartbeatSchema,
  registeredNodeSchema,
  registerNodeSchema,
  shipLogsSchema,
  taskReportSchema,
} from "@skiff/shared";
import type { Context } from "hono";
import { nodeAuthorized } from "../../lib/auth.js";
import { errorResponses, jsonContent, newRouter } from "../../lib/openapi.js";
import { withSecretValues } from "../../secrets/services/assignment-secrets.js";
import { findGoneNodes, recordHeartbeat, registerNode } from "../services/nodes.js";
import { recordUsage } from "../services/stats.js";
import { appendTaskLogs } from "../services/task-logs.js";
import {
  applyTaskReport,
  ensureTaskOnNode,
  findAssignments,
  taskIdsOnNode,
} from "../services/tasks.js";

/** The caller's address, when the request came over a socket (not in in-process tests). */
function remoteAddress(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined;
  }
}

const nodeParam = z.object({ id: z.string().max(64) });

const register = createRoute({
  method: "post",
  path: "/v1/agent/register",
  tags: ["agent"],
  summary: "An agent joins a pool with a join token and gets its node credential (once)",
  request: { body: { required: true, content: jsonContent(registerNodeSchema) } },
  responses: {
    201: { description: "Registered", content: jsonContent(registeredNodeSchema) },
    ...errorResponses("ValidationError", "Unauthorized", "Forbidden"),
  },
});

const heartbeat = createRoute({
  method: "post",
  path: "/v1/agent/nodes/{id}/heartbeat",
  tags: ["agent"],
  summary: "The agent is alive",
  ...nodeAuthorized(),
  request: { params: nodeParam, body: { required: true, content: jsonContent(heartbeatSchema) } },
  responses: {
    200: { description: "The node's state", content: jsonContent(heartbeatAnswerSchema) },
    ...errorResponses("ValidationError", "Unauthorized"),
  },
});

const assignments = createRoute({
  method: "get",
  path: "/v1/agent/nodes/{id}/assignments",
  tags: ["agent"],
  summary: "The node's desired tasks; blocks up to `wait` until they change past `index`",
  ...nodeAuthorized(),
  request: { params: nodeParam, query: assignmentsQuerySchema },
  responses: {
    200: { description: "Assignments", content: jsonContent(assignmentsSchema) },
    ...errorResponses("ValidationError", "Unauthorized"),
  },
});

const report = createRoute({
  method: "post",
  path: "/v1/agent/nodes/{id}/tasks/{taskId}/status",
  tags: ["agent"],
  summary: "A task transition the agent saw",
  ...nodeAuthorized(),
  request: {
    params: nodeParam.extend({ taskId: z.string().max(64) }),
    body: { required: true, content: jsonContent(taskReportSchema) },
  },
  responses: {
    204: { description: "Recorded" },
    ...errorResponses("ValidationError", "Unauthorized", "NotFound"),
  },
});

const shipLogs = createRoute({
  method: "post",
  path: "/v1/agent/nodes/{id}/tasks/{taskId}/logs",
  tags: ["agent"],
  summary: "Lines a task's containers wrote, oldest first, in batches of up to 1000",
  ...nodeAuthorized(),
  request: {
    params: nodeParam.extend({ taskId: z.string().max(64) }),
    body: { required: true, content: jsonContent(shipLogsSchema) },
  },
  responses: {
    204: { description: "Stored" },
    ...errorResponses("ValidationError", "Unauthorized", "NotFound"),
  },
});

const goneNodes = createRoute({
  method: "post",
  path: "/v1/agent/nodes/{id}/gone-nodes",
  tags: ["agent"],
  summary: "Which of these nodes are gone (unknown or down), so their containers may be removed",
  ...nodeAuthorized(),
  request: {
    params: nodeParam,
    body: { required: true, content: jsonContent(goneNodesQuerySchema) },
  },
  responses: {
    200: { description: "The gone ones", content: jsonContent(goneNodesSchema) },
    ...errorResponses("ValidationError", "Unauthorized"),
  },
});

export const agentRoutes = newRouter()
  .openapi(register, async (c) => {
    const { db, clock, settings } = c.get("services");
    const source = remoteAddress(c) ?? "127.0.0.1";
    const registered = await registerNode(
      db,
      c.req.valid("json"),
      source,
      clock.now(),
      settings.nodeDownAfterMs,
    );
    return c.json(registered, 201);
  })
  .openapi(heartbeat, async (c) => {
    const { db, redis, clock } = c.get("services");
    const node = c.get("node");
    const { usage, tasks = [], controlPort } = c.req.valid("json");
    const now = clock.now();
    const nodeState = await recordHeartbeat(db, redis, node, now, controlPort);
    // Only samples of the node's own tasks: a node cannot write another node's charts.
    const own = tasks.length > 0 ? await taskIdsOnNode(db, node.id) : new Set<string>();
    await recordUsage(
      redis,
      node.id,
      now,
      usage,
      tasks.filter((task) => own.has(task.taskId)),
    );
    return c.json({ nodeState }, 200);
  })
  .openapi(assignments, async (c) => {
    const { db, notifier, settings, clock } = c.get("services");
    const nodeId = c.get("node").id;
    const { index, wait } = c.req.valid("query");
    const deadline = Date.now() + wait * 1000;
    for (;;) {
      const next = notifier.nextChange(nodeId, Math.max(deadline - Date.now(), 0));
      const current = await findAssignments(db, nodeId);
      if (current.index > index || Date.now() >= deadline) {
        next.cancel();
        // Secret values only here, in the node's own answer, for the node's own tasks.
        const delivered = await withSecretValues(c.get("services"), current, clock.now());
        return c.json({ ...delivered, registryAddress: settings.registryAddress }, 200);
      }
      await next.changed;
    }
  })
  .openapi(report, async (c) => {
    const { db, clock, notifier } = c.get("services");
    const { id, taskId } = c.req.valid("param");
    await applyTaskReport(db, id, taskId, c.req.valid("json"), clock.now());
    await notifier.notify([id]);
    return c.body(null, 204);
  })
  .openapi(goneNodes, async (c) => {
    const { db } = c.get("services");
    const own = c.get("node").id;
    const asked = c.req.valid("json").nodeIds.filter((id) => id !== own);
    return c.json({ nodeIds: await findGoneNodes(db, asked) }, 200);
  })
  .openapi(shipLogs, async (c) => {
    const { db, redis } = c.get("services");
    const { id, taskId } = c.req.valid("param");
    await ensureTaskOnNode(db, id, taskId);
    await appendTaskLogs(redis, taskId, c.req.valid("json").lines);
    return c.body(null, 204);
  });
