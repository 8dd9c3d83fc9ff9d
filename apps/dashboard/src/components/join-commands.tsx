import type { JoinToken } from "@skiff/shared";
import { agentStartCommands } from "../lib/commands.js";
import { describeUses } from "../lib/join-token-form.js";
import { CopyBlock } from "./copy-block.js";

/** A just-created join token's agent commands: the only time its secret is shown. */
export function JoinCommands({ joinToken }: { joinToken: JoinToken }) {
  const commands = agentStartCommands(window.location.origin, joinToken.token);
  return (
    <section className="join-token" aria-label="Join token">
      <p>
        Join token for pool <strong>{joinToken.pool}</strong>, valid until{" "}
        {new Date(joinToken.expiresAt).toLocaleString()}, for {describeUses(joinToken.maxUses)}. It
        is shown only now. <code>SKIFF_API_URL</code> is this page's address: it must be one the new
        node reaches. On the new node, from a Skiff checkout (built with <code>npm run build</code>
        ):
      </p>
      <CopyBlock label="Agent start command" text={commands.node} />
      <p>
        or with the agent image (built by <code>docker compose build agent</code>):
      </p>
      <CopyBlock label="Agent container command" text={commands.docker} />
    </section>
  );
}
