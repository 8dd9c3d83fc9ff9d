import { type FunctionInfo, SkiffApiError } from "@skiff/shared";
import { type ChangeEvent, type FormEvent, type ReactNode, useState } from "react";
import { useApi } from "../lib/api.js";
import { parseFieldErrors } from "../lib/field-errors.js";
import { type FunctionForm, formToUpdate, functionToForm } from "../lib/function-form.js";
import { ErrorMessage } from "./states.js";

/** The messages of a ValidationError at one field path (and the paths under it). */
export function fieldError(errors: Map<string, string>, path: string): ReactNode {
  const message = [...errors]
    .filter(([key]) => key === path || key.startsWith(`${path}.`))
    .map(([, text]) => text);
  return message.length > 0 ? (
    <span className="field-error" role="alert">
      {message.join("; ")}
    </span>
  ) : null;
}

/**
 * Edits a function's configuration (PATCH) and replaces its code (a zip PUT, or an image).
 * Secrets are references (`VARIABLE=secret-name`): their values stay on the Secrets page.
 */
export function FunctionConfig({ fn, onSaved }: { fn: FunctionInfo; onSaved: () => void }) {
  const { client } = useApi();
  const [form, setForm] = useState<FunctionForm>(() => functionToForm(fn));
  const [errors, setErrors] = useState<Map<string, string>>(new Map());
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState<number | null>(null);
  const set = (patch: Partial<FunctionForm>) => {
    setSaved(null);
    setForm((previous) => ({ ...previous, ...patch }));
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setErrors(new Map());
    try {
      const updated = await client.updateFunction(fn.name, formToUpdate(form));
      setForm(functionToForm(updated));
      setSaved(updated.revision);
      onSaved();
    } catch (caught) {
      if (caught instanceof SkiffApiError && caught.code === "ValidationError")
        setErrors(parseFieldErrors(caught.message));
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  const at = (path: string) => fieldError(errors, path);
  const takesHandler = fn.runtime !== "provided" && fn.runtime !== "image";

  return (
    <>
      <form className="fields" onSubmit={submit} noValidate aria-label="Configuration">
        <div className="row">
          {takesHandler ? (
            <label className="field">
              Handler
              <input
                name="handler"
                value={form.handler}
                onChange={(e) => set({ handler: e.target.value })}
              />
              {at("handler")}
            </label>
          ) : null}
          <label className="field">
            Memory (MB, 128-10240; cpu in proportion)
            <input
              name="memory"
              type="number"
              value={form.memory}
              onChange={(e) => set({ memory: e.target.value })}
            />
            {at("memory")}
          </label>
          <label className="field">
            Timeout (seconds, 1-900)
            <input
              name="timeout"
              type="number"
              value={form.timeout}
              onChange={(e) => set({ timeout: e.target.value })}
            />
            {at("timeout")}
          </label>
          <label className="field">
            Reserved concurrency (empty: none)
            <input
              name="reservedConcurrency"
              type="number"
              min={0}
              value={form.reservedConcurrency}
              onChange={(e) => set({ reservedConcurrency: e.target.value })}
            />
            {at("reservedConcurrency")}
          </label>
        </div>
        <label className="field">
          Description
          <input
            name="description"
            value={form.description}
            onChange={(e) => set({ description: e.target.value })}
          />
          {at("description")}
        </label>
        <div className="row">
          <label className="field">
            Environment (KEY=value per line)
            <textarea
              name="environment"
              rows={4}
              value={form.environment}
              onChange={(e) => set({ environment: e.target.value })}
            />
            {at("environment")}
          </label>
          <label className="field">
            Secrets (VARIABLE=secret-name per line; values stay write-only, on the Secrets page)
            <textarea
              name="secrets"
              rows={4}
              value={form.secrets}
              onChange={(e) => set({ secrets: e.target.value })}
            />
            {at("secrets")}
          </label>
        </div>
        {errors.size === 0 || errors.has("") ? <ErrorMessage error={error} /> : null}
        <div>
          <button type="submit" disabled={busy}>
            {busy ? "Saving…" : "Save configuration"}
          </button>{" "}
          {saved !== null ? (
            <span className="muted" role="status">
              Saved: revision {saved}.
            </span>
          ) : null}
        </div>
      </form>
      <FunctionCode fn={fn} onSaved={onSaved} />
    </>
  );
}

/** Replaces the code: a zip (PUT as application/zip, up to 50 MB) or another image. */
function FunctionCode({ fn, onSaved }: { fn: FunctionInfo; onSaved: () => void }) {
  const { client } = useApi();
  const [image, setImage] = useState(fn.code?.image ?? "");
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const run = async (act: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await act();
      onSaved();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  const upload = (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    event.target.value = "";
    if (file)
      void run(async () =>
        client.putFunctionCode(fn.name, new Uint8Array(await file.arrayBuffer())),
      );
  };
  const submitImage = (event: FormEvent) => {
    event.preventDefault();
    void run(() => client.updateFunction(fn.name, { code: { image: image.trim() } }));
  };
  return (
    <fieldset>
      <legend>Code</legend>
      {fn.runtime === "image" ? (
        <form className="inline-form" onSubmit={submitImage}>
          <label>
            Image
            <input name="image" value={image} onChange={(e) => setImage(e.target.value)} />
          </label>
          <button type="submit" disabled={busy}>
            Deploy image
          </button>
        </form>
      ) : (
        <label className="field">
          Upload a new zip (up to 50 MB zipped, 250 MB unzipped)
          <input
            name="codeZip"
            type="file"
            accept=".zip,application/zip"
            disabled={busy}
            onChange={upload}
          />
        </label>
      )}
      {busy ? <p className="muted">Uploading…</p> : null}
      <ErrorMessage error={error} />
    </fieldset>
  );
}
