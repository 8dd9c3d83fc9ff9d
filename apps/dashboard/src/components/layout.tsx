import { type ReactNode, useState } from "react";
import { Link, useLocation } from "../lib/router.js";
import { applyTheme, readTheme, type ThemeChoice } from "../lib/theme.js";

const sections = [
  { to: "/", label: "Overview" },
  { to: "/pools", label: "Pools & nodes" },
  { to: "/task-definitions", label: "Task definitions" },
  { to: "/services", label: "Services" },
  { to: "/tasks", label: "Tasks" },
  { to: "/functions", label: "Functions" },
  { to: "/apis", label: "APIs" },
  { to: "/api-keys", label: "API keys" },
  { to: "/usage-plans", label: "Usage plans" },
  { to: "/registry", label: "Registry" },
  { to: "/secrets", label: "Secrets" },
];

const nextTheme: Record<ThemeChoice, ThemeChoice> = {
  system: "light",
  light: "dark",
  dark: "system",
};

function isCurrent(to: string, path: string): boolean {
  if (to === "/") return path === "/";
  return (
    path === to || path.startsWith(`${to}/`) || (to === "/pools" && path.startsWith("/nodes/"))
  );
}

/** The frame of every signed-in page: sections, who is signed in, theme and sign-out. */
export function Layout({
  who,
  onSignOut,
  children,
}: {
  who: string;
  onSignOut: () => void;
  children: ReactNode;
}) {
  const { path } = useLocation();
  const [theme, setTheme] = useState(readTheme);
  const cycleTheme = () => {
    const next = nextTheme[theme];
    applyTheme(next);
    setTheme(next);
  };
  return (
    <div className="frame">
      <header className="topbar">
        <Link to="/" className="brand">
          Skiff
        </Link>
        <nav aria-label="Sections">
          {sections.map((section) => (
            <Link
              key={section.to}
              to={section.to}
              aria-current={isCurrent(section.to, path) ? "page" : undefined}
            >
              {section.label}
            </Link>
          ))}
        </nav>
        <div className="session">
          <span className="who" title="The token's name">
            {who}
          </span>
          <button type="button" className="secondary" onClick={cycleTheme} title="Theme">
            Theme: {theme}
          </button>
          <button type="button" className="secondary" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main>{children}</main>
    </div>
  );
}

/** A page's heading with its actions. */
export function PageHeader({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="page-header">
      <h1>{title}</h1>
      {children ? <div className="actions">{children}</div> : null}
    </div>
  );
}
