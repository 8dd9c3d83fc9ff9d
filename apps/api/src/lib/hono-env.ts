import type { TokenScope } from "@skiff/shared";
import type { nodes } from "../db/schema/index.js";
import type { Services } from "../services.js";

/** Who made a request, set by the auth middleware. */
export interface Caller {
  tokenId: string;
  name: string;
  scopes: TokenScope[];
}

/** The variables every Skiff handler can read with `c.get(...)`. */
export interface AppEnv {
  Variables: {
    services: Services;
    requestId: string;
    caller: Caller;
    /** The node an agent request authenticated as. */
    node: typeof nodes.$inferSelect;
  };
}
