import { useState } from "react";

/** A command to copy, shown whole (a user should see what they run). */
export function CopyBlock({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      // Clipboard is refused on plain http from another host: the text stays selectable.
    }
  };
  return (
    <section className="copy-block" aria-label={label}>
      <pre>{text}</pre>
      <button type="button" className="secondary" onClick={copy}>
        {copied ? "Copied" : "Copy"}
      </button>
    </section>
  );
}
