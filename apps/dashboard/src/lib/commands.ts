/** The commands that start an agent joining a pool: from a checkout, and as a container. */
export function agentStartCommands(
  apiUrl: string,
  joinToken: string,
): {
  node: string;
  docker: string;
} {
  return {
    node: `SKIFF_API_URL=${apiUrl} SKIFF_JOIN_TOKEN=${joinToken} node apps/agent/dist/main.js`,
    docker: [
      "docker run -d --name skiff-agent --restart unless-stopped --network host",
      "-v /var/run/docker.sock:/var/run/docker.sock -v skiff-agent:/var/lib/skiff-agent",
      `-e SKIFF_API_URL=${apiUrl} -e SKIFF_JOIN_TOKEN=${joinToken}`,
      "skiff/agent:dev",
    ].join(" \\\n  "),
  };
}

/** How a user logs in to the built-in registry and pushes an image to `repository`. */
export function registryCommands(address: string, repository = "my-app"): string {
  return [
    `docker login ${address} -u skiff -p <your skiff token>`,
    `docker tag ${repository}:latest ${address}/${repository}:latest`,
    `docker push ${address}/${repository}:latest`,
  ].join("\n");
}
