import type { ReactNode } from "react";
import {
  type ContainerForm,
  emptyContainer,
  type TaskDefinitionForm,
} from "../lib/task-definition-form.js";

/** The API's message for a field path, and for anything under it (containers.0.portMappings.1…). */
function messageAt(errors: Map<string, string>, path: string): string | undefined {
  const found = [...errors].filter(([key]) => key === path || key.startsWith(`${path}.`));
  return found.length > 0 ? found.map(([, message]) => message).join("; ") : undefined;
}

function Field({
  label,
  path,
  errors,
  children,
}: {
  label: string;
  path: string;
  errors: Map<string, string>;
  children: ReactNode;
}) {
  const message = messageAt(errors, path);
  return (
    // biome-ignore lint/a11y/noLabelWithoutControl: the control is passed in as children
    <label className={message ? "field invalid" : "field"} data-path={path}>
      {label}
      {children}
      {message ? (
        <span className="field-error" role="alert">
          {message}
        </span>
      ) : null}
    </label>
  );
}

/** The fields of a task definition, each showing the API's message for its path. */
export function TaskDefinitionFields({
  form,
  onChange,
  errors,
}: {
  form: TaskDefinitionForm;
  onChange: (form: TaskDefinitionForm) => void;
  errors: Map<string, string>;
}) {
  const set = (patch: Partial<TaskDefinitionForm>) => onChange({ ...form, ...patch });
  const setContainer = (index: number, patch: Partial<ContainerForm>) =>
    set({
      containers: form.containers.map((container, at) =>
        at === index ? { ...container, ...patch } : container,
      ),
    });
  const general = messageAt(errors, "");
  const containersMessage = errors.get("containers");

  return (
    <div className="fields">
      {general ? (
        <p className="error" role="alert">
          {general}
        </p>
      ) : null}
      <div className="row">
        <Field label="Family" path="family" errors={errors}>
          <input
            value={form.family}
            onChange={(e) => set({ family: e.target.value })}
            placeholder="web"
          />
        </Field>
        <Field label="Cpu (units, or e.g. 0.5 vCPU)" path="cpu" errors={errors}>
          <input value={form.cpu} onChange={(e) => set({ cpu: e.target.value })} />
        </Field>
        <Field label="Memory (MiB, or e.g. 1 GiB)" path="memory" errors={errors}>
          <input value={form.memory} onChange={(e) => set({ memory: e.target.value })} />
        </Field>
      </div>
      <fieldset className="checks" data-path="compatibilities">
        <legend>Runs on</legend>
        <label>
          <input
            type="checkbox"
            checked={form.pool}
            onChange={(e) => set({ pool: e.target.checked })}
          />{" "}
          pool
        </label>
        <label>
          <input
            type="checkbox"
            checked={form.fargate}
            onChange={(e) => set({ fargate: e.target.checked })}
          />{" "}
          fargate
        </label>
        {messageAt(errors, "compatibilities") ? (
          <span className="field-error" role="alert">
            {messageAt(errors, "compatibilities")}
          </span>
        ) : null}
      </fieldset>
      {containersMessage ? (
        <p className="field-error" role="alert">
          containers: {containersMessage}
        </p>
      ) : null}
      {form.containers.map((container, index) => {
        const path = `containers.${index}`;
        return (
          // biome-ignore lint/suspicious/noArrayIndexKey: containers have no id until named
          <fieldset key={index} className="container-fields">
            <legend>Container {index + 1}</legend>
            <div className="row">
              <Field label="Name" path={`${path}.name`} errors={errors}>
                <input
                  value={container.name}
                  onChange={(e) => setContainer(index, { name: e.target.value })}
                />
              </Field>
              <Field label="Image" path={`${path}.image`} errors={errors}>
                <input
                  value={container.image}
                  onChange={(e) => setContainer(index, { image: e.target.value })}
                  placeholder="registry.example/web:1.2"
                />
              </Field>
            </div>
            <Field
              label="Command (as in a shell; empty: the image's)"
              path={`${path}.command`}
              errors={errors}
            >
              <input
                className="mono"
                value={container.command}
                onChange={(e) => setContainer(index, { command: e.target.value })}
                placeholder="httpd -f -p 8080 -h /www"
              />
            </Field>
            <div className="row">
              <Field
                label="Container ports (comma separated)"
                path={`${path}.portMappings`}
                errors={errors}
              >
                <input
                  value={container.ports}
                  onChange={(e) => setContainer(index, { ports: e.target.value })}
                  placeholder="8080"
                />
              </Field>
              <label className="check">
                <input
                  type="checkbox"
                  checked={container.essential}
                  onChange={(e) => setContainer(index, { essential: e.target.checked })}
                />{" "}
                essential
              </label>
            </div>
            <Field label="Environment (KEY=value per line)" path={`${path}.env`} errors={errors}>
              <textarea
                className="mono"
                rows={3}
                value={container.env}
                onChange={(e) => setContainer(index, { env: e.target.value })}
              />
            </Field>
            <Field
              label="Secrets (VARIABLE=secret-name per line; values stay write-only, on the Secrets page)"
              path={`${path}.secrets`}
              errors={errors}
            >
              <textarea
                className="mono"
                rows={2}
                value={container.secrets}
                onChange={(e) => setContainer(index, { secrets: e.target.value })}
                placeholder="DB_PASSWORD=db-password"
              />
            </Field>
            {form.containers.length > 1 ? (
              <button
                type="button"
                className="secondary"
                onClick={() => set({ containers: form.containers.filter((_, at) => at !== index) })}
              >
                Remove container
              </button>
            ) : null}
          </fieldset>
        );
      })}
      <button
        type="button"
        className="secondary"
        onClick={() => set({ containers: [...form.containers, { ...emptyContainer(), name: "" }] })}
      >
        Add a container
      </button>
    </div>
  );
}
