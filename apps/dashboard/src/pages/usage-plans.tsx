import type { CreateUsagePlan, UsagePlan } from "@skiff/shared";
import { type FormEvent, useState } from "react";
import { ConfirmButton } from "../components/confirm-button.js";
import { DataTable } from "../components/data-table.js";
import { PageHeader } from "../components/layout.js";
import { ErrorMessage, Loaded } from "../components/states.js";
import { UsageChart } from "../components/usage-chart.js";
import { Link } from "../lib/router.js";
import {
  datesOf,
  lastDays,
  quotaFigure,
  today,
  total,
  usageLine,
  usageRange,
  usageWindowDays,
} from "../lib/usage-days.js";
import { useAction } from "../lib/use-action.js";
import { usePoll } from "../lib/use-poll.js";

type Period = "DAY" | "WEEK" | "MONTH";

/** Usage plans: which APIs their keys may call, at what rate, with what quota. */
export function UsagePlans() {
  const plans = usePoll("usage-plans", (client) => client.listUsagePlans({ limit: 100 }), 10_000);
  const apis = usePoll("apis", (client) => client.listApis({ limit: 100 }), 30_000);
  const [name, setName] = useState("");
  const [apiIds, setApiIds] = useState<string[]>([]);
  const [rate, setRate] = useState("");
  const [burst, setBurst] = useState("");
  const [quota, setQuota] = useState("");
  const [period, setPeriod] = useState<Period>("MONTH");
  const create = useAction(
    (client, body: CreateUsagePlan) => client.createUsagePlan(body),
    plans.reload,
  );
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const body: CreateUsagePlan = {
      name: name.trim(),
      apiIds,
      ...(rate || burst
        ? { throttle: { rateLimit: Number(rate), burstLimit: Number(burst) } }
        : {}),
      ...(quota ? { quota: { limit: Number(quota), period } } : {}),
    };
    if (await create.run(body)) {
      setName("");
      setApiIds([]);
      setRate("");
      setBurst("");
      setQuota("");
    }
  };
  return (
    <>
      <PageHeader title="Usage plans" />
      <Loaded poll={plans} what="usage plans" feature="Usage plans">
        {(page) =>
          page.items.length === 0 ? (
            <section className="card">
              <p className="hint">No usage plans yet.</p>
            </section>
          ) : (
            page.items.map((plan) => (
              <PlanCard key={plan.id} plan={plan} onChanged={plans.reload} />
            ))
          )
        }
      </Loaded>
      <section className="card">
        <h2>New usage plan</h2>
        <form className="inline-form" onSubmit={submit} aria-label="New usage plan">
          <label>
            Name
            <input name="name" value={name} onChange={(e) => setName(e.target.value)} required />
          </label>
          <label>
            APIs
            <select
              name="apiIds"
              multiple
              value={apiIds}
              onChange={(e) => setApiIds([...e.target.selectedOptions].map((o) => o.value))}
            >
              {(apis.data?.items ?? []).map((api) => (
                <option key={api.id} value={api.id}>
                  {api.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            Rate (requests/s)
            <input
              name="rateLimit"
              inputMode="decimal"
              value={rate}
              onChange={(e) => setRate(e.target.value)}
            />
          </label>
          <label>
            Burst
            <input
              name="burstLimit"
              inputMode="numeric"
              value={burst}
              onChange={(e) => setBurst(e.target.value)}
            />
          </label>
          <label>
            Quota (requests)
            <input
              name="quotaLimit"
              inputMode="numeric"
              value={quota}
              onChange={(e) => setQuota(e.target.value)}
            />
          </label>
          <label>
            Per
            <select
              name="quotaPeriod"
              value={period}
              onChange={(e) => setPeriod(e.target.value as Period)}
            >
              <option value="DAY">day</option>
              <option value="WEEK">week</option>
              <option value="MONTH">month</option>
            </select>
          </label>
          <button type="submit" disabled={create.busy}>
            Create usage plan
          </button>
        </form>
        <ErrorMessage error={create.error} />
      </section>
    </>
  );
}

/**
 * One plan: its limits, its keys (attach, detach), and each key's requests per day over the
 * last 30 days (chart and table) with what the quota has left.
 */
function PlanCard({ plan, onChanged }: { plan: UsagePlan; onChanged: () => void }) {
  const keys = usePoll(
    `usage-plan-keys:${plan.id}`,
    (client) => client.listUsagePlanKeys(plan.id, { limit: 100 }),
    10_000,
  );
  const allKeys = usePoll("api-keys", (client) => client.listApiKeys({ limit: 100 }), 30_000);
  const usage = usePoll(
    `usage-plan-usage:${plan.id}`,
    (client) => client.usagePlanUsage(plan.id, usageRange(lastDays(usageWindowDays))),
    30_000,
  );
  const [keyId, setKeyId] = useState("");
  const attach = useAction(
    (client, id: string) => client.attachUsagePlanKey(plan.id, id),
    () => {
      keys.reload();
      usage.reload();
    },
  );
  const detach = useAction(
    (client, id: string) => client.detachUsagePlanKey(plan.id, id),
    keys.reload,
  );
  const remove = useAction((client) => client.deleteUsagePlan(plan.id), onChanged);
  const attached = new Set((keys.data?.items ?? []).map((key) => key.keyId));
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (keyId && (await attach.run(keyId))) setKeyId("");
  };
  return (
    <section className="card" aria-label={`Usage plan ${plan.name}`}>
      <h2>{plan.name}</h2>
      <p className="hint">
        {plan.throttle
          ? `${plan.throttle.rateLimit} requests/s, bursts of ${plan.throttle.burstLimit}`
          : "No throttle"}
        {" · "}
        {plan.quota
          ? `${plan.quota.limit} requests per ${plan.quota.period.toLowerCase()}`
          : "no quota"}
        {" · "}
        {plan.apiIds.length} API{plan.apiIds.length === 1 ? "" : "s"}
      </p>
      <Loaded poll={keys} what="the plan's keys">
        {(page) => (
          <DataTable
            items={page.items}
            empty="No keys attached."
            columns={[
              "key",
              "state",
              "requests today",
              `last ${usageWindowDays} days`,
              "quota used",
              "",
            ]}
            row={(key) => {
              // "…" until the usage has loaded (a failed load says so above the chart).
              const line = usage.data && usageLine(usage.data, key.keyId, key.keyId, key.name);
              return (
                <tr key={key.keyId}>
                  <td>
                    <Link to={`/api-keys/${encodeURIComponent(key.keyId)}`}>{key.name}</Link>{" "}
                    <span className="mono muted">{key.prefix}…</span>
                  </td>
                  <td>{key.enabled ? "enabled" : "disabled"}</td>
                  <td>{line ? today(line) : "…"}</td>
                  <td>{line ? total(line.used) : "…"}</td>
                  <td>{line ? (quotaFigure(plan, line) ?? "no quota") : "…"}</td>
                  <td className="row-actions">
                    <ConfirmButton
                      label="Detach"
                      question={`Detach ${key.name} from ${plan.name}?`}
                      busy={detach.busy}
                      onConfirm={() => detach.run(key.keyId)}
                    />
                  </td>
                </tr>
              );
            }}
          />
        )}
      </Loaded>
      {(keys.data?.items.length ?? 0) > 0 ? (
        <Loaded poll={usage} what="the plan's usage">
          {(data) => (
            <UsageChart
              title={`${plan.name}: requests per day`}
              days={datesOf(data)}
              lines={(keys.data?.items ?? []).map((key) =>
                usageLine(data, key.keyId, key.keyId, key.name),
              )}
              dailyLimit={plan.quota?.period === "DAY" ? plan.quota.limit : undefined}
            />
          )}
        </Loaded>
      ) : null}
      <form className="inline-form" onSubmit={submit} aria-label={`Attach a key to ${plan.name}`}>
        <label>
          Key
          <select name="keyId" value={keyId} onChange={(e) => setKeyId(e.target.value)} required>
            <option value="">choose a key</option>
            {(allKeys.data?.items ?? [])
              .filter((key) => !attached.has(key.id))
              .map((key) => (
                <option key={key.id} value={key.id}>
                  {key.name}
                </option>
              ))}
          </select>
        </label>
        <button type="submit" className="secondary" disabled={attach.busy}>
          Attach key
        </button>
        <ConfirmButton
          label="Delete plan"
          question={`Delete the usage plan ${plan.name}?`}
          busy={remove.busy}
          onConfirm={() => remove.run()}
        />
      </form>
      <ErrorMessage error={attach.error} />
      <ErrorMessage error={detach.error} />
      <ErrorMessage error={remove.error} />
    </section>
  );
}
