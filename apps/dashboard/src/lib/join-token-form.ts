/** How many nodes a new join token admits, as the form offers it. */
export type UsesChoice = "one" | "some" | "unlimited";

/** How long a new token is valid: the API takes 1 minute to 30 days; these cover the cases. */
export const ttlChoices = [
  { seconds: 3600, label: "1 hour" },
  { seconds: 86_400, label: "1 day" },
  { seconds: 7 * 86_400, label: "7 days" },
  { seconds: 30 * 86_400, label: "30 days" },
] as const;

export const defaultTtlSeconds = 86_400;

/**
 * The form's choice as the API's `maxUses`: 1 by default (a leaked command admits no second
 * node), a typed number, or null for an autoscaling group's launch template, where every new
 * machine joins with the same token until it expires.
 */
export function maxUsesOf(choice: UsesChoice, typed: string): number | null {
  if (choice === "one") return 1;
  if (choice === "unlimited") return null;
  // The API checks the range (1..100000) and says so at the form; a blank box sends 0, refused.
  const value = Number(typed.trim());
  return Number.isFinite(value) ? value : 0;
}

/** "one node", "up to 5 nodes", "any number of nodes until it expires". */
export function describeUses(maxUses: number | null): string {
  if (maxUses === null) return "any number of nodes until it expires";
  return maxUses === 1 ? "one node" : `up to ${maxUses} nodes`;
}
