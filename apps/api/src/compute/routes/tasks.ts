import { createRoute, z } from "@hono/zod-openapi";
import { listTasksQuerySchema, pageSchema, runTaskSchema, taskSchema } from "@skiff/shared";
import { instanceMemoryOn } from "../../functions/services/router.js";
import { authorized } from "../../lib/auth.js";
import { authErrors, errorResponses, jsonContent, newRouter } from "../../lib/openapi.js";
import { launchTasks } from "../services/launch-tasks.js";
import { getTask, getTasks, listTasks, stopTask } from "../services/tasks.js";

const idParam = z.object({ id: z.string().max(64) });

const run = createRoute({
  method: "post",
  path: "/v1/tasks",
  tags: ["tasks"],
  summary:
    "Run tasks of a task definition; those that find no room wait in provisioning with a reason",
  ...authorized("deploy"),
  request: { body: { required: true, content: jsonContent(runTaskSchema) } },
  responses: {
    201: {
      description: "The tasks",
      content: jsonContent(z.object({ tasks: z.array(taskSchema) })),
    },
    ...errorResponses("ValidationError", "NotFound", "UnprocessableEntity", ...authErrors),
  },
});

const list = createRoute({
  method: "get",
  path: "/v1/tasks",
  tags: ["tasks"],
  summary: "List tasks, newest first",
  ...authorized("read"),
  request: { query: listTasksQuerySchema },
  responses: {
    200: { description: "A page of tasks", content: jsonContent(pageSchema(taskSchema)) },
    ...errorResponses("ValidationError", ...authErrors),
  },
});

const get = createRoute({
  method: "get",
  path: "/v1/tasks/{id}",
  tags: ["tasks"],
  summary: "One task",
  ...authorized("read"),
  request: { params: idParam },
  responses: {
    200: { description: "The task", content: jsonContent(taskSchema) },
    ...errorResponses("NotFound", ...authErrors),
  },
});

const stop = createRoute({
  method: "post",
  path: "/v1/tasks/{id}/stop",
  tags: ["tasks"],
  summary: "Stop a task (UserInitiated)",
  ...authorized("deploy"),
  request: { params: idParam },
  responses: {
    200: { description: "The task, stopping", content: jsonContent(taskSchema) },
    ...errorResponses("NotFound", ...authErrors),
  },
});

export const taskRoutes = newRouter()
  .openapi(run, async (c) => {
    const { db, notifier, redis } = c.get("services");
    const { ids, placedOn } = await launchTasks(db, c.req.valid("json"), {
      instanceMemory: (nodeIds) => instanceMemoryOn(redis, nodeIds),
    });
    await notifier.notify([...placedOn]);
    return c.json({ tasks: await getTasks(db, ids) }, 201);
  })
  .openapi(list, async (c) =>
    c.json(await listTasks(c.get("services").db, c.req.valid("query")), 200),
  )
  .openapi(get, async (c) =>
    c.json(await getTask(c.get("services").db, c.req.valid("param").id), 200),
  )
  .openapi(stop, async (c) => {
    const { db, notifier, clock } = c.get("services");
    const { task, nodeId } = await stopTask(
      db,
      c.req.valid("param").id,
      "UserInitiated",
      "stopped by the user",
      clock.now(),
    );
    await notifier.notify(nodeId ? [nodeId] : []);
    return c.json(task, 200);
  });
