import { describe, expect, it } from "vitest";
import { agentStartCommands, loadBalancerUrl, registryCommands } from "./commands.js";

describe("commands", () => {
  it("names the gateway URL of a service after the dashboard's host", () => {
    expect(loadBalancerUrl("web", "skiff.example.com")).toBe("http://web.skiff.example.com:8000/");
    expect(loadBalancerUrl("web", "localhost")).toBe("http://web.localhost:8000/");
    expect(loadBalancerUrl("web", "127.0.0.1")).toBe("http://web.localhost:8000/");
    expect(loadBalancerUrl("web", "[::1]")).toBe("http://web.localhost:8000/");
  });

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
