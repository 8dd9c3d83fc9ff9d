// What the instance manager needs of the Runtime API server (runtime-api.ts, its own branch):
// the subset of RuntimeApi it calls, so the manager codes against the interface and a test can
// pass the real server.

export interface RuntimeEvent {
  requestId: string;
  payload: Buffer;
  deadlineMs: number;
  functionArn: string;
  traceId?: string;
  clientContext?: string;
  cognitoIdentity?: string;
}

export type RuntimeAnswer =
  | { kind: "response"; body: Buffer }
  | { kind: "error"; body: Buffer; errorType: string | undefined }
  | { kind: "init-error"; body: Buffer; errorType: string | undefined }
  | { kind: "too-large" };

export interface RuntimeEvents {
  ready(instanceId: string): Promise<void>;
  invoke(instanceId: string, event: RuntimeEvent): Promise<RuntimeAnswer>;
  forget(instanceId: string, reason: Error): void;
}
