import type { FunctionInfo } from "@skiff/shared";
import { describe, expect, it } from "vitest";
import {
  emptyFunctionForm,
  formToCreate,
  formToUpdate,
  functionToForm,
  toBase64,
} from "./function-form.js";

describe("function form", () => {
  it("builds the create body with environment, secret references and numbers", () => {
    const body = formToCreate({
      ...emptyFunctionForm(),
      name: " hello ",
      memory: "256",
      timeout: "10",
      environment: "GREETING=hi=there\n\nNOPE",
      secrets: "DB_PASSWORD= db-password ",
      reservedConcurrency: "5",
    });
    expect(body).toEqual({
      name: "hello",
      runtime: "nodejs22.x",
      handler: "index.handler",
      memory: 256,
      timeout: 10,
      environment: { GREETING: "hi=there" },
      secrets: [{ name: "DB_PASSWORD", valueFrom: "db-password" }],
      reservedConcurrency: 5,
    });
  });

  it("leaves what is not a whole number for the API to refuse with its own message", () => {
    expect(formToCreate({ ...emptyFunctionForm(), memory: "lots" }).memory).toBe("lots");
  });

  it("clears an emptied reserved concurrency and description on update", () => {
    const fn: FunctionInfo = {
      id: "fn_1",
      arn: "arn:aws:lambda:us-east-1:000000000000:function:f",
      name: "f",
      runtime: "python3.11",
      handler: "app.handler",
      memory: 512,
      timeout: 30,
      environment: { A: "1" },
      secrets: [{ name: "S", valueFrom: "s" }],
      reservedConcurrency: 3,
      description: "old",
      async: { maximumRetryAttempts: 2, maximumEventAgeSeconds: 21600 },
      code: null,
      revision: 1,
      state: "Pending",
      createdAt: "2026-01-01T00:00:00.000Z",
      updatedAt: "2026-01-01T00:00:00.000Z",
    };
    const form = functionToForm(fn);
    expect(form.environment).toBe("A=1");
    expect(form.secrets).toBe("S=s");
    expect(formToUpdate({ ...form, reservedConcurrency: " ", description: "" })).toEqual({
      handler: "app.handler",
      memory: 512,
      timeout: 30,
      environment: { A: "1" },
      secrets: [{ name: "S", valueFrom: "s" }],
      reservedConcurrency: null,
      description: null,
    });
  });

  it("encodes large bytes as base64 without overflowing the stack", () => {
    const bytes = new Uint8Array(300_000).map((_, index) => index % 251);
    expect(toBase64(bytes)).toBe(Buffer.from(bytes).toString("base64"));
  });
});
