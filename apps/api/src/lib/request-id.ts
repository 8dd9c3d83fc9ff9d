import { newId } from "@skiff/shared";

const clientRequestId = /^[A-Za-z0-9._:-]{1,128}$/;

/** A request's id: the caller's `X-Request-Id` when it is a sane one, else a new id. */
export function requestIdOf(given: string | undefined): string {
  return given && clientRequestId.test(given) ? given : newId("req");
}
