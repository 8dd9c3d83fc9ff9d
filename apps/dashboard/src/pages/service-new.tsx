import { type CreateService, SkiffApiError } from "@skiff/shared";
import { type FormEvent, useState } from "react";
import { PageHeader } from "../components/layout.js";
import { ErrorMessage } from "../components/states.js";
import { useApi } from "../lib/api.js";
import { parseFieldErrors } from "../lib/field-errors.js";
import { navigate } from "../lib/router.js";
import { usePoll } from "../lib/use-poll.js";

/** Creates a service on a pool or on fargate, optionally behind the gateway. */
export function ServiceNew() {
  const { client } = useApi();
  const families = usePoll("families", (c) => c.listTaskDefinitionFamilies());
  const pools = usePoll("pools", (c) => c.listPools());
  const [name, setName] = useState("");
  const [taskDefinition, setTaskDefinition] = useState("");
  const [desiredCount, setDesiredCount] = useState("1");
  const [launchType, setLaunchType] = useState<"pool" | "fargate">("pool");
  const [pool, setPool] = useState("default");
  const [minimumHealthy, setMinimumHealthy] = useState("");
  const [maximum, setMaximum] = useState("");
  const [strategy, setStrategy] = useState<"" | "binpack">("");
  const [lbContainer, setLbContainer] = useState("");
  const [lbPort, setLbPort] = useState("");
  const [errors, setErrors] = useState<Map<string, string>>(new Map());
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const body: CreateService = {
      name: name.trim(),
      taskDefinition: taskDefinition.trim(),
      desiredCount: Number(desiredCount),
      launchType,
    };
    if (launchType === "pool") body.pool = pool;
    // Left out when empty: the API's defaults (100%, 200%, spread) apply.
    if (minimumHealthy.trim() || maximum.trim()) {
      body.deployment = {};
      if (minimumHealthy.trim()) body.deployment.minimumHealthyPercent = Number(minimumHealthy);
      if (maximum.trim()) body.deployment.maximumPercent = Number(maximum);
    }
    if (strategy) body.placement = { strategy };
    if (lbContainer.trim() || lbPort.trim())
      body.loadBalancer = { containerName: lbContainer.trim(), containerPort: Number(lbPort) };
    setBusy(true);
    setError(undefined);
    setErrors(new Map());
    try {
      const created = await client.createService(body);
      navigate(`/services/${encodeURIComponent(created.name)}`);
    } catch (caught) {
      if (caught instanceof SkiffApiError && caught.code === "ValidationError")
        setErrors(parseFieldErrors(caught.message));
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  const at = (path: string) => {
    const message = [...errors]
      .filter(([key]) => key === path || key.startsWith(`${path}.`))
      .map(([, text]) => text);
    return message.length > 0 ? (
      <span className="field-error" role="alert">
        {message.join("; ")}
      </span>
    ) : null;
  };

  return (
    <>
      <PageHeader title="Create a service" />
      <form className="card fields" onSubmit={submit} noValidate>
        <div className="row">
          <label className="field">
            Name
            <input
              name="name"
              value={name}
              onChange={(e) => setName(e.target.value)}
              placeholder="web"
            />
            {at("name")}
          </label>
          <label className="field">
            Task definition (family or family:revision)
            <input
              name="taskDefinition"
              list="families"
              value={taskDefinition}
              onChange={(e) => setTaskDefinition(e.target.value)}
            />
            <datalist id="families">
              {families.data?.map((family) => (
                <option key={family.family} value={family.family} />
              ))}
            </datalist>
            {at("taskDefinition")}
          </label>
          <label className="field">
            Desired count
            <input
              name="desiredCount"
              type="number"
              min={0}
              value={desiredCount}
              onChange={(e) => setDesiredCount(e.target.value)}
            />
            {at("desiredCount")}
          </label>
        </div>
        <div className="row">
          <fieldset className="checks">
            <legend>Launch type</legend>
            <label>
              <input
                type="radio"
                name="launchType"
                checked={launchType === "pool"}
                onChange={() => setLaunchType("pool")}
              />{" "}
              pool (your nodes)
            </label>
            <label>
              <input
                type="radio"
                name="launchType"
                checked={launchType === "fargate"}
                onChange={() => setLaunchType("fargate")}
              />{" "}
              fargate (platform capacity)
            </label>
            {at("launchType")}
          </fieldset>
          {launchType === "pool" ? (
            <label className="field">
              Pool
              <select name="pool" value={pool} onChange={(e) => setPool(e.target.value)}>
                {(pools.data ?? [{ name: "default" }]).map((item) => (
                  <option key={item.name} value={item.name}>
                    {item.name}
                  </option>
                ))}
              </select>
              {at("pool")}
            </label>
          ) : null}
        </div>
        <fieldset>
          <legend>Deployment and placement (optional)</legend>
          <div className="row">
            <label className="field">
              Minimum healthy % (default 100)
              <input
                name="minimumHealthyPercent"
                type="number"
                value={minimumHealthy}
                onChange={(e) => setMinimumHealthy(e.target.value)}
              />
              {at("deployment.minimumHealthyPercent")}
            </label>
            <label className="field">
              Maximum % (default 200)
              <input
                name="maximumPercent"
                type="number"
                value={maximum}
                onChange={(e) => setMaximum(e.target.value)}
              />
              {at("deployment.maximumPercent")}
            </label>
            <label className="field">
              Placement
              <select
                name="strategy"
                value={strategy}
                onChange={(e) => setStrategy(e.target.value === "binpack" ? "binpack" : "")}
              >
                <option value="">spread over nodes (default)</option>
                <option value="binpack">binpack (fill nodes up)</option>
              </select>
              {at("placement")}
            </label>
          </div>
        </fieldset>
        <fieldset>
          <legend>Load balancer (optional): the gateway routes to healthy tasks</legend>
          <div className="row">
            <label className="field">
              Container name
              <input
                name="lbContainer"
                value={lbContainer}
                onChange={(e) => setLbContainer(e.target.value)}
              />
              {at("loadBalancer.containerName")}
            </label>
            <label className="field">
              Container port
              <input
                name="lbPort"
                type="number"
                value={lbPort}
                onChange={(e) => setLbPort(e.target.value)}
              />
              {at("loadBalancer.containerPort")}
            </label>
          </div>
        </fieldset>
        {errors.size === 0 || errors.has("") ? <ErrorMessage error={error} /> : null}
        <button type="submit" disabled={busy}>
          {busy ? "Creating…" : "Create service"}
        </button>
      </form>
    </>
  );
}
