/** A throttle as API Gateway defines it: steady requests per second and a burst (bucket size). */
export interface Throttle {
  rateLimit: number;
  burstLimit: number;
}

/** What the gateway knows of a request when it asks whether to let it through. */
export interface AccessRequest {
  apiId: string;
  /** The matched route's key, e.g. "GET /items/{id}" or "$default". */
  routeKey: string;
  /** The route requires an API key (`x-api-key`). */
  apiKeyRequired: boolean;
  /** The `x-api-key` header's value, if any. */
  apiKey: string | undefined;
  /** Default throttles of the API and of the route (all clients together), if set. */
  apiThrottle: Throttle | undefined;
  routeThrottle: Throttle | undefined;
}

export type AccessDecision =
  | { allowed: true; apiKeyId: string | undefined; headers: Record<string, string> }
  | { allowed: false; status: 403 | 429; body: string; headers: Record<string, string> };

/** Decides, per request, from memory and one Redis round trip at most (never PostgreSQL). */
export interface AccessGate {
  admit(request: AccessRequest): Promise<AccessDecision>;
}

/** The gate before keys and plans exist: lets everything through. */
export const allowAll: AccessGate = {
  async admit() {
    return { allowed: true, apiKeyId: undefined, headers: {} };
  },
};
