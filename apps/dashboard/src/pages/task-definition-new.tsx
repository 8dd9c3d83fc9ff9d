import { type RegisterTaskDefinition, SkiffApiError } from "@skiff/shared";
import { type FormEvent, useEffect, useState } from "react";
import { PageHeader } from "../components/layout.js";
import { ErrorMessage } from "../components/states.js";
import { TaskDefinitionFields } from "../components/task-definition-fields.js";
import { useApi } from "../lib/api.js";
import { parseFieldErrors } from "../lib/field-errors.js";
import { navigate, useLocation } from "../lib/router.js";
import {
  emptyForm,
  formToRequest,
  requestToForm,
  type TaskDefinitionForm,
} from "../lib/task-definition-form.js";

type Mode = "form" | "json";

/** Registers a revision from a form or from JSON; the API's field errors show at the fields. */
export function TaskDefinitionNew() {
  const { client } = useApi();
  const { query } = useLocation();
  const from = query.get("from");
  const [mode, setMode] = useState<Mode>("form");
  const [form, setForm] = useState<TaskDefinitionForm>(emptyForm);
  const [json, setJson] = useState("");
  const [jsonProblem, setJsonProblem] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<Map<string, string>>(new Map());
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  // "New revision" of an existing one starts from it.
  useEffect(() => {
    if (!from) return;
    client
      .getTaskDefinition(from)
      .then((definition) => setForm(requestToForm(definition)))
      .catch(setError);
  }, [client, from]);

  const switchTo = (next: Mode) => {
    if (next === mode) return;
    if (next === "json") {
      setJson(JSON.stringify(formToRequest(form), null, 2));
      setJsonProblem(null);
    } else {
      try {
        setForm(requestToForm(JSON.parse(json) as RegisterTaskDefinition));
      } catch (caught) {
        setJsonProblem(`the JSON cannot be shown as a form: ${(caught as Error).message}`);
        return;
      }
    }
    setMode(next);
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    let body: RegisterTaskDefinition;
    if (mode === "form") body = formToRequest(form);
    else {
      try {
        body = JSON.parse(json) as RegisterTaskDefinition;
      } catch (caught) {
        setJsonProblem(`not valid JSON: ${(caught as Error).message}`);
        return;
      }
    }
    setBusy(true);
    setError(undefined);
    setFieldErrors(new Map());
    setJsonProblem(null);
    try {
      const created = await client.registerTaskDefinition(body);
      navigate(
        `/task-definitions/${encodeURIComponent(created.family)}?revision=${created.revision}`,
      );
    } catch (caught) {
      if (caught instanceof SkiffApiError && caught.code === "ValidationError")
        setFieldErrors(parseFieldErrors(caught.message));
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <PageHeader title="Register a task definition" />
      <form className="card" onSubmit={submit} noValidate>
        <div className="tabs" role="tablist">
          <button
            type="button"
            role="tab"
            aria-selected={mode === "form"}
            onClick={() => switchTo("form")}
          >
            Form
          </button>
          <button
            type="button"
            role="tab"
            aria-selected={mode === "json"}
            onClick={() => switchTo("json")}
          >
            JSON
          </button>
        </div>
        {jsonProblem ? (
          <p className="error" role="alert">
            {jsonProblem}
          </p>
        ) : null}
        {mode === "form" ? (
          <TaskDefinitionFields form={form} onChange={setForm} errors={fieldErrors} />
        ) : (
          <>
            <label>
              Task definition JSON (the body of POST /v1/task-definitions)
              <textarea
                className="json-editor"
                spellCheck={false}
                rows={24}
                value={json}
                onChange={(event) => setJson(event.target.value)}
              />
            </label>
            {fieldErrors.size > 0 ? (
              <ul className="field-errors" aria-label="Problems">
                {[...fieldErrors].map(([path, message]) => (
                  <li key={path}>
                    {path ? <code>{path}</code> : null} {message}
                  </li>
                ))}
              </ul>
            ) : null}
          </>
        )}
        {fieldErrors.size === 0 ? <ErrorMessage error={error} /> : null}
        <button type="submit" disabled={busy}>
          {busy ? "Registering…" : "Register"}
        </button>
      </form>
    </>
  );
}
