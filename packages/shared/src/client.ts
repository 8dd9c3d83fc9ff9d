import { z } from "zod";
import { type ErrorCode, errorBodySchema, errorStatus } from "./errors.js";
import {
  type ApiKey,
  apiKeySchema,
  type CreateApiKey,
  type CreatedApiKey,
  createdApiKeySchema,
  type UpdateApiKey,
} from "./schemas/api-keys.js";
import {
  type CreateHttpApi,
  type CreateHttpApiRoute,
  type HttpApi,
  type HttpApiRoute,
  httpApiRouteSchema,
  httpApiSchema,
} from "./schemas/apis.js";
import {
  type AsyncInvocation,
  asyncInvocationSchema,
  type CreateFunction,
  type DeadLetter,
  deadLetterSchema,
  type FunctionInfo,
  type FunctionMetrics,
  functionMetricsSchema,
  functionSchema,
  type UpdateFunction,
} from "./schemas/functions.js";
import { type Health, healthSchema } from "./schemas/health.js";
import { type PlatformInfo, platformInfoSchema } from "./schemas/info.js";
import { type LogLine, logLineSchema, type TaskLogs, taskLogsSchema } from "./schemas/logs.js";
import { type Node, nodeSchema } from "./schemas/nodes.js";
import { type Page, pageSchema } from "./schemas/pagination.js";
import {
  type JoinToken,
  type JoinTokenInfo,
  joinTokenInfoSchema,
  joinTokenSchema,
  type Pool,
  poolSchema,
} from "./schemas/pools.js";
import {
  type ImageTag,
  imageTagListSchema,
  type RegistryInfo,
  type Repository,
  type RepositoryList,
  registryInfoSchema,
  repositoryListSchema,
  repositorySchema,
  type UpdateRepository,
} from "./schemas/registry.js";
import {
  type CreateSecret,
  type Secret,
  secretSchema,
  type UpdateSecret,
} from "./schemas/secrets.js";
import {
  type CreateService,
  type Service,
  serviceSchema,
  type UpdateService,
} from "./schemas/services.js";
import { type Stats, statsSchema } from "./schemas/stats.js";
import {
  type RegisterTaskDefinition,
  type TaskDefinition,
  type TaskDefinitionFamily,
  taskDefinitionFamilySchema,
  taskDefinitionSchema,
} from "./schemas/task-definitions.js";
import { type RunTask, type Task, type TaskStatus, taskSchema } from "./schemas/tasks.js";
import {
  type CreatedToken,
  type CreateToken,
  createdTokenSchema,
  type Token,
  tokenSchema,
  type Whoami,
  whoamiSchema,
} from "./schemas/tokens.js";
import { type Usage, type UsageQuery, usageSchema } from "./schemas/usage.js";
import {
  type CreateUsagePlan,
  type PlanUsage,
  planUsageSchema,
  type UpdateUsagePlan,
  type UsagePlan,
  type UsagePlanKey,
  usagePlanKeySchema,
  usagePlanSchema,
} from "./schemas/usage-plans.js";
import { parseServerSentEvents } from "./sse.js";

/** An error answered by the API, with its code from the one error body. */
export class SkiffApiError extends Error {
  override name = "SkiffApiError";
  constructor(
    readonly status: number,
    readonly code: ErrorCode | "Unknown",
    message: string,
    readonly requestId: string | undefined,
  ) {
    super(message);
  }
}

export interface SkiffClientOptions {
  /** Where the api listens, e.g. `http://localhost:3000`. */
  baseUrl: string;
  token?: string;
  /** Defaults to the global fetch; tests pass `app.request` to drive the app in-process. */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
}

/** A typed client of the Skiff REST API: answers are parsed with the API's own schemas. */
export class SkiffClient {
  private readonly baseUrl: string;
  private readonly doFetch: (input: string, init: RequestInit) => Promise<Response>;

  constructor(private readonly options: SkiffClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** The same client with another token. */
  withToken(token: string): SkiffClient {
    return new SkiffClient({ ...this.options, token });
  }

  health(): Promise<Health> {
    return this.request("GET", "/v1/health", healthSchema);
  }

  /** The platform's domain, gateway URL template, registry address, version and features. */
  info(): Promise<PlatformInfo> {
    return this.request("GET", "/v1/info", platformInfoSchema);
  }

  whoami(): Promise<Whoami> {
    return this.request("GET", "/v1/whoami", whoamiSchema);
  }

  createToken(body: CreateToken): Promise<CreatedToken> {
    return this.request("POST", "/v1/tokens", createdTokenSchema, body);
  }

  listTokens(
    query: { limit?: number; cursor?: string } = {},
  ): Promise<{ items: Token[]; nextCursor: string | null }> {
    return this.request("GET", `/v1/tokens${toQuery(query)}`, pageSchema(tokenSchema));
  }

  async deleteToken(id: string): Promise<void> {
    await this.request("DELETE", `/v1/tokens/${encodeURIComponent(id)}`, undefined);
  }

  /** Every pool (all pages). */
  listPools(): Promise<Pool[]> {
    return this.listAll((page) => this.listPoolsPage(page));
  }

  /** One page of pools, by name. */
  listPoolsPage(query: PageQuery = {}): Promise<Page<Pool>> {
    return this.request("GET", `/v1/pools${toQuery(query)}`, pageSchema(poolSchema));
  }

  createPool(name: string): Promise<Pool> {
    return this.request("POST", "/v1/pools", poolSchema, { name });
  }

  /** `maxUses`: how many nodes may join with it; unset or null for any number until it expires. */
  createJoinToken(pool: string, ttlSeconds?: number, maxUses?: number | null): Promise<JoinToken> {
    const body = {
      ...(ttlSeconds === undefined ? {} : { ttlSeconds }),
      ...(maxUses === undefined ? {} : { maxUses }),
    };
    return this.request(
      "POST",
      `/v1/pools/${encodeURIComponent(pool)}/join-tokens`,
      joinTokenSchema,
      body,
    );
  }

  async listJoinTokens(pool: string): Promise<JoinTokenInfo[]> {
    return (
      await this.request(
        "GET",
        `/v1/pools/${encodeURIComponent(pool)}/join-tokens`,
        z.object({ items: z.array(joinTokenInfoSchema) }),
      )
    ).items;
  }

  async revokeJoinToken(pool: string, id: string): Promise<void> {
    await this.request(
      "DELETE",
      `/v1/pools/${encodeURIComponent(pool)}/join-tokens/${encodeURIComponent(id)}`,
      undefined,
    );
  }

  /** Every node (all pages), of one pool if given. */
  listNodes(query: { pool?: string } = {}): Promise<Node[]> {
    return this.listAll((page) => this.listNodesPage({ ...query, ...page }));
  }

  /** One page of nodes, oldest first. */
  listNodesPage(query: PageQuery & { pool?: string } = {}): Promise<Page<Node>> {
    return this.request("GET", `/v1/nodes${toQuery(query)}`, pageSchema(nodeSchema));
  }

  getNode(id: string): Promise<Node> {
    return this.request("GET", `/v1/nodes/${encodeURIComponent(id)}`, nodeSchema);
  }

  drainNode(id: string): Promise<Node> {
    return this.request("POST", `/v1/nodes/${encodeURIComponent(id)}/drain`, nodeSchema);
  }

  async deregisterNode(id: string): Promise<void> {
    await this.request("DELETE", `/v1/nodes/${encodeURIComponent(id)}`, undefined);
  }

  /** Node usage samples of the last ~10 minutes, oldest first. */
  nodeStats(id: string): Promise<Stats> {
    return this.request("GET", `/v1/nodes/${encodeURIComponent(id)}/stats`, statsSchema);
  }

  /** Every task definition family with its latest revision (all pages). */
  listTaskDefinitionFamilies(): Promise<TaskDefinitionFamily[]> {
    return this.listAll((page) => this.listTaskDefinitionFamiliesPage(page));
  }

  /** One page of task definition families, by name. */
  listTaskDefinitionFamiliesPage(query: PageQuery = {}): Promise<Page<TaskDefinitionFamily>> {
    return this.request(
      "GET",
      `/v1/task-definitions${toQuery(query)}`,
      pageSchema(taskDefinitionFamilySchema),
    );
  }

  registerTaskDefinition(body: RegisterTaskDefinition): Promise<TaskDefinition> {
    return this.request("POST", "/v1/task-definitions", taskDefinitionSchema, body);
  }

  /** `family` (latest) or `family:revision`. */
  getTaskDefinition(ref: string): Promise<TaskDefinition> {
    const [family, revision] = ref.split(":");
    const path = `/v1/task-definitions/${encodeURIComponent(family ?? "")}${revision ? `/${revision}` : ""}`;
    return this.request("GET", path, taskDefinitionSchema);
  }

  async runTask(body: RunTask): Promise<Task[]> {
    return (await this.request("POST", "/v1/tasks", z.object({ tasks: z.array(taskSchema) }), body))
      .tasks;
  }

  listTasks(
    query: {
      service?: string;
      status?: TaskStatus;
      family?: string;
      nodeId?: string;
      limit?: number;
      cursor?: string;
    } = {},
  ): Promise<{ items: Task[]; nextCursor: string | null }> {
    return this.request("GET", `/v1/tasks${toQuery(query)}`, pageSchema(taskSchema));
  }

  getTask(id: string): Promise<Task> {
    return this.request("GET", `/v1/tasks/${encodeURIComponent(id)}`, taskSchema);
  }

  stopTask(id: string): Promise<Task> {
    return this.request("POST", `/v1/tasks/${encodeURIComponent(id)}/stop`, taskSchema);
  }

  /** The last `tail` lines (default 100) of a task's containers, oldest first. */
  taskLogs(id: string, query: { tail?: number } = {}): Promise<TaskLogs> {
    return this.request(
      "GET",
      `/v1/tasks/${encodeURIComponent(id)}/logs${toQuery(query)}`,
      taskLogsSchema,
    );
  }

  /**
   * Follows a task's log: the last `tail` lines, then new ones until the task stops or `signal`
   * aborts (the generator then just ends).
   */
  followTaskLogs(
    id: string,
    options: { tail?: number; signal?: AbortSignal } = {},
  ): AsyncGenerator<LogLine> {
    return this.followLogs(`/v1/tasks/${encodeURIComponent(id)}/logs`, options);
  }

  /** A log's event stream (`path` is a logs route): its tail, then new lines as they come. */
  private async *followLogs(
    path: string,
    options: { tail?: number; signal?: AbortSignal },
  ): AsyncGenerator<LogLine> {
    const headers: Record<string, string> = { accept: "text/event-stream" };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    const query = toQuery({ tail: options.tail, follow: "true" });
    const init: RequestInit = { method: "GET", headers };
    if (options.signal) init.signal = options.signal;
    let response: Response;
    try {
      response = await this.doFetch(`${this.baseUrl}${path}${query}`, init);
    } catch (error) {
      if (options.signal?.aborted) return;
      throw error;
    }
    if (!response.ok) throw await toApiError(response);
    if (!response.body) return;
    const text = response.body.pipeThrough(new TextDecoderStream());
    try {
      for await (const event of parseServerSentEvents(streamChunks(text))) {
        // The server ends a stream with an `error` event, e.g. once the token is revoked.
        if (event.event === "error") {
          const body = errorBodySchema.safeParse(JSON.parse(event.data));
          throw new SkiffApiError(
            body.success ? errorStatus[body.data.error.code] : 500,
            body.success ? body.data.error.code : "Unknown",
            body.success ? body.data.error.message : event.data,
            body.success ? body.data.error.requestId : undefined,
          );
        }
        yield logLineSchema.parse(JSON.parse(event.data));
      }
    } catch (error) {
      if (options.signal?.aborted) return;
      throw error;
    }
  }

  /** Task usage samples of the last ~10 minutes, oldest first. */
  taskStats(id: string): Promise<Stats> {
    return this.request("GET", `/v1/tasks/${encodeURIComponent(id)}/stats`, statsSchema);
  }

  /** Every service (all pages). */
  listServices(): Promise<Service[]> {
    return this.listAll((page) => this.listServicesPage(page));
  }

  /** One page of services, by name. */
  listServicesPage(query: PageQuery = {}): Promise<Page<Service>> {
    return this.request("GET", `/v1/services${toQuery(query)}`, pageSchema(serviceSchema));
  }

  /** Follows `nextCursor` until the last page, in pages of the largest size the API allows. */
  private async listAll<T>(load: (page: PageQuery) => Promise<Page<T>>): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | undefined;
    do {
      const page = await load({ limit: 500, ...(cursor ? { cursor } : {}) });
      items.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return items;
  }

  getService(name: string): Promise<Service> {
    return this.request("GET", `/v1/services/${encodeURIComponent(name)}`, serviceSchema);
  }

  createService(body: CreateService): Promise<Service> {
    return this.request("POST", "/v1/services", serviceSchema, body);
  }

  /** Scale (`desiredCount`) and/or deploy a new revision (`taskDefinition`). */
  updateService(name: string, body: UpdateService): Promise<Service> {
    return this.request("PATCH", `/v1/services/${encodeURIComponent(name)}`, serviceSchema, body);
  }

  async deleteService(name: string): Promise<void> {
    await this.request("DELETE", `/v1/services/${encodeURIComponent(name)}`, undefined);
  }

  /** Secrets, by name; never their values. */
  listSecrets(
    query: { limit?: number; cursor?: string } = {},
  ): Promise<{ items: Secret[]; nextCursor: string | null }> {
    return this.request("GET", `/v1/secrets${toQuery(query)}`, pageSchema(secretSchema));
  }

  getSecret(name: string): Promise<Secret> {
    return this.request("GET", secretPath(name), secretSchema);
  }

  /** Stores a secret encrypted; the answer (and every later one) holds no value. */
  createSecret(body: CreateSecret): Promise<Secret> {
    return this.request("POST", "/v1/secrets", secretSchema, body);
  }

  /** A new version of the value: tasks started from now on get it. */
  updateSecret(name: string, body: UpdateSecret): Promise<Secret> {
    return this.request("PUT", secretPath(name), secretSchema, body);
  }

  /** `force`: even while task definition revisions reference it (their new tasks then fail). */
  async deleteSecret(name: string, options: { force?: boolean } = {}): Promise<void> {
    const query = options.force ? "?force=true" : "";
    await this.request("DELETE", `${secretPath(name)}${query}`, undefined);
  }

  /** HTTP APIs on the gateway. */
  listApis(query: PageQuery = {}): Promise<Page<HttpApi>> {
    return this.request("GET", `/v1/apis${toQuery(query)}`, pageSchema(httpApiSchema));
  }

  /** An API by id or name. */
  getApi(api: string): Promise<HttpApi> {
    return this.request("GET", apiPath(api), httpApiSchema);
  }

  createApi(body: CreateHttpApi): Promise<HttpApi> {
    return this.request("POST", "/v1/apis", httpApiSchema, body);
  }

  async deleteApi(api: string): Promise<void> {
    await this.request("DELETE", apiPath(api), undefined);
  }

  listApiRoutes(api: string, query: PageQuery = {}): Promise<Page<HttpApiRoute>> {
    return this.request(
      "GET",
      `${apiPath(api)}/routes${toQuery(query)}`,
      pageSchema(httpApiRouteSchema),
    );
  }

  createApiRoute(api: string, body: CreateHttpApiRoute): Promise<HttpApiRoute> {
    return this.request("POST", `${apiPath(api)}/routes`, httpApiRouteSchema, body);
  }

  async deleteApiRoute(api: string, routeId: string): Promise<void> {
    await this.request(
      "DELETE",
      `${apiPath(api)}/routes/${encodeURIComponent(routeId)}`,
      undefined,
    );
  }

  /** API keys; never their values. */
  listApiKeys(query: PageQuery = {}): Promise<Page<ApiKey>> {
    return this.request("GET", `/v1/api-keys${toQuery(query)}`, pageSchema(apiKeySchema));
  }

  /** One API key; never its value. */
  getApiKey(id: string): Promise<ApiKey> {
    return this.request("GET", `/v1/api-keys/${encodeURIComponent(id)}`, apiKeySchema);
  }

  /** The answer holds the key's value: the only time it is shown. */
  createApiKey(body: CreateApiKey): Promise<CreatedApiKey> {
    return this.request("POST", "/v1/api-keys", createdApiKeySchema, body);
  }

  updateApiKey(id: string, body: UpdateApiKey): Promise<ApiKey> {
    return this.request("PATCH", `/v1/api-keys/${encodeURIComponent(id)}`, apiKeySchema, body);
  }

  async deleteApiKey(id: string): Promise<void> {
    await this.request("DELETE", `/v1/api-keys/${encodeURIComponent(id)}`, undefined);
  }

  listUsagePlans(query: PageQuery & { keyId?: string } = {}): Promise<Page<UsagePlan>> {
    return this.request("GET", `/v1/usage-plans${toQuery(query)}`, pageSchema(usagePlanSchema));
  }

  getUsagePlan(id: string): Promise<UsagePlan> {
    return this.request("GET", usagePlanPath(id), usagePlanSchema);
  }

  createUsagePlan(body: CreateUsagePlan): Promise<UsagePlan> {
    return this.request("POST", "/v1/usage-plans", usagePlanSchema, body);
  }

  updateUsagePlan(id: string, body: UpdateUsagePlan): Promise<UsagePlan> {
    return this.request("PATCH", usagePlanPath(id), usagePlanSchema, body);
  }

  async deleteUsagePlan(id: string): Promise<void> {
    await this.request("DELETE", usagePlanPath(id), undefined);
  }

  listUsagePlanKeys(id: string, query: PageQuery = {}): Promise<Page<UsagePlanKey>> {
    return this.request(
      "GET",
      `${usagePlanPath(id)}/keys${toQuery(query)}`,
      pageSchema(usagePlanKeySchema),
    );
  }

  attachUsagePlanKey(id: string, keyId: string): Promise<UsagePlanKey> {
    return this.request("POST", `${usagePlanPath(id)}/keys`, usagePlanKeySchema, { keyId });
  }

  async detachUsagePlanKey(id: string, keyId: string): Promise<void> {
    await this.request(
      "DELETE",
      `${usagePlanPath(id)}/keys/${encodeURIComponent(keyId)}`,
      undefined,
    );
  }

  /** Requests per key per UTC day, and what the quota had left (dates YYYY-MM-DD). */
  usagePlanUsage(
    id: string,
    query: { startDate: string; endDate: string; keyId?: string },
  ): Promise<PlanUsage> {
    return this.request("GET", `${usagePlanPath(id)}/usage${toQuery(query)}`, planUsageSchema);
  }

  /** Functions, by name. */
  listFunctions(query: PageQuery = {}): Promise<Page<FunctionInfo>> {
    return this.request("GET", `/v1/functions${toQuery(query)}`, pageSchema(functionSchema));
  }

  getFunction(name: string): Promise<FunctionInfo> {
    return this.request("GET", functionPath(name), functionSchema);
  }

  /** Creates a function from a zip (base64) or an image; without code it stays Pending. */
  createFunction(body: CreateFunction): Promise<FunctionInfo> {
    return this.request("POST", "/v1/functions", functionSchema, body);
  }

  /** Changes configuration (and code); bumps the revision. */
  updateFunction(name: string, body: UpdateFunction): Promise<FunctionInfo> {
    return this.request("PATCH", functionPath(name), functionSchema, body);
  }

  async deleteFunction(name: string): Promise<void> {
    await this.request("DELETE", functionPath(name), undefined);
  }

  /** Replaces the code with a zip's bytes (up to 50 MB), sent as application/zip. */
  async putFunctionCode(name: string, zip: Uint8Array<ArrayBuffer>): Promise<FunctionInfo> {
    const headers: Record<string, string> = {
      accept: "application/json",
      "content-type": "application/zip",
    };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    const response = await this.doFetch(`${this.baseUrl}${functionPath(name)}/code`, {
      method: "PUT",
      headers,
      body: zip,
    });
    if (!response.ok) throw await toApiError(response);
    return functionSchema.parse(await response.json());
  }

  /** The last `tail` lines (default 100) of a function's instances, oldest first. */
  functionLogs(name: string, query: { tail?: number } = {}): Promise<TaskLogs> {
    return this.request("GET", `${functionPath(name)}/logs${toQuery(query)}`, taskLogsSchema);
  }

  /** Follows a function's log until it is deleted or `signal` aborts. */
  followFunctionLogs(
    name: string,
    options: { tail?: number; signal?: AbortSignal } = {},
  ): AsyncGenerator<LogLine> {
    return this.followLogs(`${functionPath(name)}/logs`, options);
  }

  /** A function's Event invocations and their status, newest first. */
  listFunctionInvocations(name: string, query: PageQuery = {}): Promise<Page<AsyncInvocation>> {
    return this.request(
      "GET",
      `${functionPath(name)}/invocations${toQuery(query)}`,
      pageSchema(asyncInvocationSchema),
    );
  }

  /** A function's Event invocations that failed every attempt, newest first. */
  listFunctionDeadLetters(name: string, query: PageQuery = {}): Promise<Page<DeadLetter>> {
    return this.request(
      "GET",
      `${functionPath(name)}/dead-letters${toQuery(query)}`,
      pageSchema(deadLetterSchema),
    );
  }

  /** Queues a dead letter's event again (same request id) and removes the dead letter. */
  redriveFunctionDeadLetter(name: string, id: string): Promise<{ requestId: string }> {
    return this.request(
      "POST",
      `${functionPath(name)}/dead-letters/${encodeURIComponent(id)}/redrive`,
      z.object({ requestId: z.string() }),
    );
  }

  /** A function's invocations, errors, throttles, durations and concurrency per minute. */
  functionMetrics(name: string, minutes = 60): Promise<FunctionMetrics> {
    return this.request(
      "GET",
      `/v1/functions/${encodeURIComponent(name)}/metrics${toQuery({ minutes })}`,
      functionMetricsSchema,
    );
  }

  /**
   * Invokes a function synchronously with a JSON payload (Lambda's Invoke). A function's own
   * error is a result (`functionError`), and so is Lambda's refusal (`refused`: unknown function,
   * throttled, too large), as Lambda's SDKs report them; Skiff's errors (401, 403) throw.
   */
  async invokeFunction(
    name: string,
    payload: string,
    options: { logTail?: boolean; signal?: AbortSignal } = {},
  ): Promise<FunctionInvocation> {
    const headers: Record<string, string> = {
      accept: "application/json",
      "content-type": "application/json",
      "x-amz-invocation-type": "RequestResponse",
      "x-amz-log-type": options.logTail ? "Tail" : "None",
    };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    const init: RequestInit = { method: "POST", headers, body: payload };
    if (options.signal) init.signal = options.signal;
    const started = Date.now();
    const response = await this.doFetch(
      `${this.baseUrl}/2015-03-31/functions/${encodeURIComponent(name)}/invocations`,
      init,
    );
    const errorType = response.headers.get("x-amzn-errortype");
    if (!response.ok && !errorType) throw await toApiError(response);
    const body = await response.text();
    const logResult = response.headers.get("x-amz-log-result");
    return {
      status: response.status,
      requestId: response.headers.get("x-amzn-requestid"),
      functionError: response.headers.get("x-amz-function-error"),
      refused:
        errorType && !response.ok ? { type: errorType, message: refusalMessage(body) } : null,
      payload: response.ok ? body : null,
      logTail: logResult ? decodeBase64Text(logResult) : null,
      elapsedMs: Date.now() - started,
    };
  }

  /** Metered usage (fargate) over a time range, grouped by service or task. */
  usage(query: UsageQuery = {}): Promise<Usage> {
    return this.request("GET", `/v1/usage${toQuery({ ...query })}`, usageSchema);
  }

  /** The built-in registry's address, for `docker push <address>/<repository>:<tag>`. */
  registryInfo(): Promise<RegistryInfo> {
    return this.request("GET", "/v1/registry", registryInfoSchema);
  }

  listRepositories(query: { limit?: number; cursor?: string } = {}): Promise<RepositoryList> {
    return this.request("GET", `/v1/registry/repositories${toQuery(query)}`, repositoryListSchema);
  }

  getRepository(name: string): Promise<Repository> {
    return this.request("GET", repositoryPath(name), repositorySchema);
  }

  updateRepository(name: string, body: UpdateRepository): Promise<Repository> {
    return this.request("PATCH", repositoryPath(name), repositorySchema, body);
  }

  /** Tags of a repository, newest push first. */
  async listImageTags(name: string): Promise<ImageTag[]> {
    return (await this.request("GET", `${repositoryPath(name)}/tags`, imageTagListSchema)).tags;
  }

  async deleteImageTag(name: string, tag: string): Promise<void> {
    await this.request(
      "DELETE",
      `${repositoryPath(name)}/tags/${encodeURIComponent(tag)}`,
      undefined,
    );
  }

  async deleteManifest(name: string, digest: string): Promise<void> {
    await this.request(
      "DELETE",
      `${repositoryPath(name)}/manifests/${encodeURIComponent(digest)}`,
      undefined,
    );
  }

  /** A call the typed methods do not cover yet; the answer is parsed with `schema` when given. */
  async request<S extends z.ZodType | undefined>(
    method: string,
    path: string,
    schema: S,
    body?: unknown,
  ): Promise<S extends z.ZodType ? z.infer<S> : undefined> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await this.doFetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw await toApiError(response);
    if (!schema || response.status === 204) return undefined as never;
    return schema.parse(await response.json()) as never;
  }
}

/** What Invoke answered: the function's payload (or its error document) and the log's tail. */
export interface FunctionInvocation {
  status: number;
  requestId: string | null;
  /** `Unhandled` when the function failed; `payload` is then its error document. */
  functionError: string | null;
  /** Lambda's refusal before the function ran (X-Amzn-ErrorType and its message). */
  refused: { type: string; message: string } | null;
  payload: string | null;
  /** The last 4 KB of the invocation's log (X-Amz-Log-Result, decoded), when asked for. */
  logTail: string | null;
  /** As the caller measured it, request to answer. */
  elapsedMs: number;
}

function refusalMessage(body: string): string {
  try {
    const parsed = z.object({ message: z.string() }).safeParse(JSON.parse(body));
    if (parsed.success) return parsed.data.message;
  } catch {}
  return body.slice(0, 500);
}

/** Base64 to UTF-8 text, in Node and browsers alike (a log tail may hold any UTF-8). */
function decodeBase64Text(base64: string): string {
  const binary = atob(base64);
  const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

async function toApiError(response: Response): Promise<SkiffApiError> {
  const text = await response.text();
  try {
    const { error } = errorBodySchema.parse(JSON.parse(text));
    return new SkiffApiError(response.status, error.code, error.message, error.requestId);
  } catch {
    return new SkiffApiError(response.status, "Unknown", text.slice(0, 500), undefined);
  }
}

/** A repository's name may hold `/`: it travels as one encoded path segment. */
function repositoryPath(name: string): string {
  return `/v1/registry/repositories/${encodeURIComponent(name)}`;
}

function functionPath(name: string): string {
  return `/v1/functions/${encodeURIComponent(name)}`;
}

function apiPath(api: string): string {
  return `/v1/apis/${encodeURIComponent(api)}`;
}

function usagePlanPath(id: string): string {
  return `/v1/usage-plans/${encodeURIComponent(id)}`;
}

function secretPath(name: string): string {
  return `/v1/secrets/${encodeURIComponent(name)}`;
}

async function* streamChunks(stream: ReadableStream<string>): AsyncGenerator<string> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** The paging parameters of every list route. */
// A type, not an interface: toQuery takes it as a record.
export type PageQuery = {
  limit?: number;
  cursor?: string;
};

function toQuery(query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query))
    if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : "";
}
