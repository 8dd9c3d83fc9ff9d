import type { SkiffClient, UsagePlan } from "@skiff/shared";
import { DataTable } from "../components/data-table.js";
import { PageHeader } from "../components/layout.js";
import { Empty, Loaded } from "../components/states.js";
import { UsageChart } from "../components/usage-chart.js";
import { formatAgo } from "../lib/format.js";
import { Link } from "../lib/router.js";
import {
  datesOf,
  lastDays,
  quotaFigure,
  today,
  total,
  type UsageLine,
  usageLine,
  usageRange,
  usageWindowDays,
} from "../lib/usage-days.js";
import { usePoll } from "../lib/use-poll.js";

interface PlanUse {
  plan: UsagePlan;
  line: UsageLine;
}

/** The key's plans (a key is in one plan per API at most) and its requests per day in each. */
async function loadKeyUsage(
  client: SkiffClient,
  keyId: string,
): Promise<{ days: string[]; plans: PlanUse[] }> {
  const range = usageRange(lastDays(usageWindowDays));
  const plans: UsagePlan[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listUsagePlans({ keyId, limit: 100, cursor });
    plans.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  const found = await Promise.all(
    plans.map(async (plan) => {
      const usage = await client.usagePlanUsage(plan.id, { ...range, keyId });
      return { plan, line: usageLine(usage, keyId, plan.id, plan.name) };
    }),
  );
  return { days: datesOf(range), plans: found };
}

/** An API key: what it is, the plans it is in, and its requests per day across them. */
export function ApiKeyDetail({ id }: { id: string }) {
  const key = usePoll(`api-key:${id}`, (client) => client.getApiKey(id), 10_000);
  const usage = usePoll(`api-key-usage:${id}`, (client) => loadKeyUsage(client, id), 30_000);
  const title = `API key ${key.data?.name ?? id}`;
  return (
    <>
      <PageHeader title={title} />
      <section className="card">
        <Loaded poll={key} what="the key">
          {(apiKey) => (
            <p className="hint">
              <span className="mono">{apiKey.id}</span> · starts with{" "}
              <span className="mono">{apiKey.prefix}…</span> ·{" "}
              {apiKey.enabled ? "enabled" : "disabled"} · created{" "}
              <span title={apiKey.createdAt}>{formatAgo(apiKey.createdAt)}</span>
            </p>
          )}
        </Loaded>
      </section>
      <section className="card" aria-label="Usage">
        <h2>Requests per day, last {usageWindowDays} days</h2>
        <Loaded poll={usage} what="the key's usage">
          {({ days, plans }) =>
            plans.length === 0 ? (
              <Empty>
                In no usage plan: attach it to one on <Link to="/usage-plans">Usage plans</Link>.
              </Empty>
            ) : (
              <>
                <DataTable
                  items={plans}
                  columns={[
                    "usage plan",
                    "requests today",
                    `last ${usageWindowDays} days`,
                    "quota used",
                  ]}
                  row={({ plan, line }) => (
                    <tr key={plan.id}>
                      <td>{plan.name}</td>
                      <td>{today(line)}</td>
                      <td>{total(line.used)}</td>
                      <td>{quotaFigure(plan, line) ?? "no quota"}</td>
                    </tr>
                  )}
                />
                <UsageChart
                  title={`${key.data?.name ?? id}: requests per day`}
                  days={days}
                  lines={plans.map((use) => use.line)}
                  dailyLimit={
                    plans.length === 1 && plans[0]?.plan.quota?.period === "DAY"
                      ? plans[0].plan.quota.limit
                      : undefined
                  }
                />
              </>
            )
          }
        </Loaded>
      </section>
    </>
  );
}
