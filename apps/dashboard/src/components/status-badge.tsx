/** A state word (running, draining, failed…) coloured by how it is going. */
export function StatusBadge({ status }: { status: string }) {
  const tone = /^(running|active|completed|succeeded|healthy|primary)$/.test(status)
    ? "good"
    : /^(stopped|down|failed|unhealthy|inactive)$/.test(status)
      ? "bad"
      : // Over, as meant: a join token past its use, nothing to fix.
        /^(expired|used-up|revoked)$/.test(status)
        ? "done"
        : "busy";
  return <span className={`badge ${tone}`}>{status}</span>;
}
