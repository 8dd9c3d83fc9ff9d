import { describe, expect, it } from "vitest";
import { agentStartCommands, registryCommands } from "./commands.js";

describe("commands", () => {
  it("writes agent and registry commands with the values given", () => {
    const commands = agentStartCommands("http://10.0.0.5:3000", "skj_abc");
    expect(commands.node).toBe(
      "SKIFF_API_URL=http://10.0.0.5:3000 SKIFF_JOIN_TOKEN=skj_abc node apps/agent/dist/main.js",
    );
    expect(commands.docker).toContain(
      "-e SKIFF_API_URL=http://10.0.0.5:3000 -e SKIFF_JOIN_TOKEN=skj_abc",
    );
    expect(registryCommands("reg.example:5000", "web")).toContain(
      "docker push reg.example:5000/web:latest",
    );
  });
});
