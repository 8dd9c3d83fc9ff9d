export type ThemeChoice = "system" | "light" | "dark";

const key = "skiff.theme";

/** The user's choice; "system" follows prefers-color-scheme. Kept across sessions. */
export function readTheme(): ThemeChoice {
  const stored = localStorage.getItem(key);
  return stored === "light" || stored === "dark" ? stored : "system";
}

export function applyTheme(choice: ThemeChoice): void {
  if (choice === "system") {
    localStorage.removeItem(key);
    delete document.documentElement.dataset.theme;
  } else {
    localStorage.setItem(key, choice);
    document.documentElement.dataset.theme = choice;
  }
}

/** Whether the page is dark right now (for colours a stylesheet cannot reach, like a canvas). */
export function isDark(): boolean {
  const forced = document.documentElement.dataset.theme;
  if (forced) return forced === "dark";
  return window.matchMedia("(prefers-color-scheme: dark)").matches;
}
