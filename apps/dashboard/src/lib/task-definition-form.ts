import type { RegisterTaskDefinition, TaskDefinition } from "@skiff/shared";

/** What the task definition form edits: text fields as typed, converted on submit. */
export interface ContainerForm {
  name: string;
  image: string;
  command: string;
  env: string;
  /** `VARIABLE=secret-name` per line: the variable gets the secret's value (never shown). */
  secrets: string;
  ports: string;
  essential: boolean;
}

export interface TaskDefinitionForm {
  family: string;
  cpu: string;
  memory: string;
  pool: boolean;
  fargate: boolean;
  containers: ContainerForm[];
}

export function emptyContainer(): ContainerForm {
  return {
    name: "app",
    image: "",
    command: "",
    env: "",
    secrets: "",
    ports: "",
    essential: true,
  };
}

export function emptyForm(): TaskDefinitionForm {
  return {
    family: "",
    cpu: "256",
    memory: "512",
    pool: true,
    fargate: false,
    containers: [emptyContainer()],
  };
}

/**
 * Splits a command line into arguments the way a shell would for plain words and quotes
 * (`sh -c 'echo hi'` -> ["sh", "-c", "echo hi"]), without expanding anything.
 */
export function splitArgs(line: string): string[] {
  const args: string[] = [];
  let current = "";
  let quote: '"' | "'" | null = null;
  let started = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i] as string;
    if (quote) {
      if (char === quote) quote = null;
      else if (char === "\\" && quote === '"' && i + 1 < line.length) current += line[++i];
      else current += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      started = true;
    } else if (char === "\\" && i + 1 < line.length) {
      current += line[++i];
      started = true;
    } else if (/\s/.test(char)) {
      if (started) args.push(current);
      current = "";
      started = false;
    } else {
      current += char;
      started = true;
    }
  }
  if (started) args.push(current);
  return args;
}

/** The reverse of splitArgs, quoting only what needs it. */
export function joinArgs(args: readonly string[]): string {
  return args
    .map((arg) =>
      /^[A-Za-z0-9_./:=@%+,-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'"'"'`)}'`,
    )
    .join(" ");
}

/** A number when the text is one (cpu units, MiB), else the text for the API to parse. */
function numberOrText(text: string): number | string {
  const trimmed = text.trim();
  return /^\d+$/.test(trimmed) ? Number(trimmed) : trimmed;
}

/** The request body of the form. Left for the API to validate, so its messages are the truth. */
export function formToRequest(form: TaskDefinitionForm): RegisterTaskDefinition {
  const compatibilities: ("pool" | "fargate")[] = [];
  if (form.pool) compatibilities.push("pool");
  if (form.fargate) compatibilities.push("fargate");
  return {
    family: form.family.trim(),
    cpu: numberOrText(form.cpu),
    memory: numberOrText(form.memory),
    compatibilities,
    containers: form.containers.map((container) => {
      const out: RegisterTaskDefinition["containers"][number] = {
        name: container.name.trim(),
        image: container.image.trim(),
        essential: container.essential,
      };
      const command = splitArgs(container.command);
      if (command.length > 0) out.command = command;
      const env = parseEnvLines(container.env);
      if (Object.keys(env).length > 0) out.env = env;
      const secrets = Object.entries(parseEnvLines(container.secrets)).map(([name, from]) => ({
        name,
        valueFrom: from.trim(),
      }));
      if (secrets.length > 0) out.secrets = secrets;
      const ports = container.ports
        .split(/[\s,]+/)
        .filter(Boolean)
        .map((port) => ({ containerPort: Number(port) }));
      if (ports.length > 0) out.portMappings = ports;
      return out;
    }),
  };
}

/** A revision (or JSON typed by the user) back into the form, for editing a new revision. */
export function requestToForm(
  definition: RegisterTaskDefinition | TaskDefinition,
): TaskDefinitionForm {
  const compatibilities = definition.compatibilities ?? ["pool"];
  return {
    family: definition.family,
    cpu: String(definition.cpu),
    memory: String(definition.memory),
    pool: compatibilities.includes("pool"),
    fargate: compatibilities.includes("fargate"),
    containers: definition.containers.map((container) => ({
      name: container.name,
      image: container.image,
      command: joinArgs(container.command ?? []),
      env: Object.entries(container.env ?? {})
        .map(([name, value]) => `${name}=${value}`)
        .join("\n"),
      secrets: (container.secrets ?? [])
        .map((secret) => `${secret.name}=${secret.valueFrom}`)
        .join("\n"),
      ports: (container.portMappings ?? []).map((port) => port.containerPort).join(", "),
      essential: container.essential ?? true,
    })),
  };
}

/** `KEY=value` per line; blank lines and lines without `=` are skipped. */
export function parseEnvLines(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const separator = line.indexOf("=");
    if (separator > 0) env[line.slice(0, separator).trim()] = line.slice(separator + 1);
  }
  return env;
}
