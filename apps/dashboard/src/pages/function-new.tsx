import { type CreateFunction, functionRuntimes, SkiffApiError } from "@skiff/shared";
import { type FormEvent, useState } from "react";
import { fieldError } from "../components/function-config.js";
import { PageHeader } from "../components/layout.js";
import { ErrorMessage } from "../components/states.js";
import { useApi } from "../lib/api.js";
import { parseFieldErrors } from "../lib/field-errors.js";
import {
  defaultHandlers,
  emptyFunctionForm,
  type FunctionForm,
  formToCreate,
  inlineZipBytes,
  toBase64,
} from "../lib/function-form.js";
import { navigate } from "../lib/router.js";

/** Creates a function from a zip upload or an image reference. */
export function FunctionNew() {
  const { client } = useApi();
  const [form, setForm] = useState<FunctionForm>(emptyFunctionForm);
  const [zip, setZip] = useState<File | null>(null);
  const [image, setImage] = useState("");
  const [errors, setErrors] = useState<Map<string, string>>(new Map());
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const set = (patch: Partial<FunctionForm>) => setForm((previous) => ({ ...previous, ...patch }));
  const isImage = form.runtime === "image";
  const takesHandler = !isImage && form.runtime !== "provided";

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const body: CreateFunction = formToCreate(takesHandler ? form : { ...form, handler: "" });
    const bytes = !isImage && zip ? new Uint8Array(await zip.arrayBuffer()) : null;
    if (isImage) {
      if (image.trim()) body.code = { image: image.trim() };
    } else if (bytes && bytes.length <= inlineZipBytes) body.code = { zipBase64: toBase64(bytes) };
    setBusy(true);
    setError(undefined);
    setErrors(new Map());
    let created = false;
    try {
      await client.createFunction(body);
      created = true;
      // Larger zips go as application/zip (up to 50 MB), beyond the JSON body's limit.
      if (bytes && !body.code) await client.putFunctionCode(body.name, bytes);
      navigate(`/functions/${encodeURIComponent(body.name)}`);
    } catch (caught) {
      if (caught instanceof SkiffApiError && caught.code === "ValidationError")
        setErrors(parseFieldErrors(caught.message));
      setError(
        created
          ? new Error(
              `The function ${body.name} was created, but its code was refused: ${
                caught instanceof Error ? caught.message : String(caught)
              }. Upload a zip on its page (Configuration).`,
            )
          : caught,
      );
    } finally {
      setBusy(false);
    }
  };
  const at = (path: string) => fieldError(errors, path);

  return (
    <>
      <PageHeader title="Create a function" />
      <form className="card fields" onSubmit={submit} noValidate>
        <div className="row">
          <label className="field">
            Name
            <input
              name="name"
              value={form.name}
              onChange={(e) => set({ name: e.target.value })}
              placeholder="hello"
            />
            {at("name")}
          </label>
          <label className="field">
            Runtime
            <select
              name="runtime"
              value={form.runtime}
              onChange={(e) => {
                const runtime = functionRuntimes.find((item) => item === e.target.value);
                if (runtime) set({ runtime, handler: defaultHandlers[runtime] });
              }}
            >
              {functionRuntimes.map((runtime) => (
                <option key={runtime} value={runtime}>
                  {runtime === "provided"
                    ? "provided (a bootstrap executable)"
                    : runtime === "image"
                      ? "image (implements the Runtime API)"
                      : runtime}
                </option>
              ))}
            </select>
            {at("runtime")}
          </label>
          {takesHandler ? (
            <label className="field">
              Handler (file.export)
              <input
                name="handler"
                value={form.handler}
                onChange={(e) => set({ handler: e.target.value })}
              />
              {at("handler")}
            </label>
          ) : null}
        </div>
        <div className="row">
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
        </div>
        <fieldset>
          <legend>Code</legend>
          {isImage ? (
            <label className="field">
              Image (its entrypoint implements the Lambda Runtime API)
              <input
                name="image"
                value={image}
                onChange={(e) => setImage(e.target.value)}
                placeholder="localhost:5000/team/fn:1"
              />
              {at("code")}
            </label>
          ) : (
            <label className="field">
              Zip file (up to 50 MB; without one the function stays Pending until code is uploaded)
              <input
                name="codeZip"
                type="file"
                accept=".zip,application/zip"
                onChange={(e) => setZip(e.target.files?.[0] ?? null)}
              />
              {at("code")}
            </label>
          )}
        </fieldset>
        <fieldset>
          <legend>Environment (optional)</legend>
          <div className="row">
            <label className="field">
              Variables (KEY=value per line)
              <textarea
                name="environment"
                rows={3}
                value={form.environment}
                onChange={(e) => set({ environment: e.target.value })}
              />
              {at("environment")}
            </label>
            <label className="field">
              Secrets (VARIABLE=secret-name per line; values stay write-only, on the Secrets page)
              <textarea
                name="secrets"
                rows={3}
                value={form.secrets}
                onChange={(e) => set({ secrets: e.target.value })}
              />
              {at("secrets")}
            </label>
          </div>
        </fieldset>
        {errors.size === 0 || errors.has("") ? <ErrorMessage error={error} /> : null}
        <button type="submit" disabled={busy}>
          {busy ? "Creating…" : "Create function"}
        </button>
      </form>
    </>
  );
}
