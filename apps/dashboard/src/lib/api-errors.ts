import { SkiffApiError } from "@skiff/shared";

/** The token was refused (401) or lacks the scope (403): the session cannot go on as it is. */
export function isAuthError(error: unknown): error is SkiffApiError {
  return error instanceof SkiffApiError && (error.status === 401 || error.status === 403);
}

/**
 * The server has no such route (its 404 says "no route ..."): a feature this server does not run
 * yet, as opposed to a missing service or task, which is a 404 about that thing.
 */
export function isMissingRoute(error: unknown): boolean {
  return error instanceof SkiffApiError && error.status === 404 && /^no route /.test(error.message);
}

/** What to show a user for a failed call: the API's own message when it answered. */
export function errorText(error: unknown): string {
  if (error instanceof SkiffApiError) return `${error.message} (${error.code}, ${error.status})`;
  if (error instanceof TypeError) return `the API could not be reached: ${error.message}`;
  if (error instanceof Error) return error.message;
  return String(error);
}
