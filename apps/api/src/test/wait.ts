/**
 * Polls `probe` until it returns a value other than undefined; fails naming `what` (and what
 * `describe` adds, such as the api's output) once `timeoutMs` has passed.
 */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  describe: () => Promise<string> | string = () => "",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const detail = await describe();
      throw new Error(`no ${what} within ${timeoutMs} ms${detail ? `; ${detail}` : ""}`);
    }
    await new Promise((done) => setTimeout(done, 250));
  }
}
