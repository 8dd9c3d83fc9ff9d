/**
 * Splits the message of the API's ValidationError (`invalid json: containers.0.image: Too small;
 * cpu: bad cpu`) into messages per field path, so a form can show each one at its field.
 * Problems without a path are kept under "".
 */
export function parseFieldErrors(message: string): Map<string, string> {
  const errors = new Map<string, string>();
  const body = message.replace(/^invalid [a-z]+: /, "");
  for (const problem of body.split("; ")) {
    const match = /^([A-Za-z0-9_.]+): (.*)$/s.exec(problem);
    const path = match?.[1] && !match[1].includes(" ") ? match[1] : "";
    const text = path ? (match?.[2] ?? "") : problem;
    const previous = errors.get(path);
    errors.set(path, previous ? `${previous}; ${text}` : text);
  }
  return errors;
}
