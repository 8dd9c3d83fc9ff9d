import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import bcrypt from "bcryptjs";
import Docker from "dockerode";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ImagePullError } from "./container-runtime.js";
import { DockerRuntime } from "./docker-runtime.js";
import { dockerConfigAuth } from "./registry-auth.js";

// A private registry that is not Skiff's: the reference registry (Debian's docker-registry)
// behind a password. The agent pulls from it with the login in a Docker config file
// (SKIFF_REGISTRY_AUTH_FILE), and without one the pull fails with the registry's refusal.
const docker = new Docker();
const runtime = new DockerRuntime({ docker });
let work: string;
let registry: ChildProcess;
let image: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "skiff-private-registry-"));
  const port = await freePort();
  writeFileSync(join(work, "htpasswd"), `deploy:${bcrypt.hashSync("s3cret-pass", 8)}\n`);
  writeFileSync(
    join(work, "config.yml"),
    [
      "version: 0.1",
      "log: { level: error, accesslog: { disabled: true } }",
      `storage: { filesystem: { rootdirectory: ${join(work, "data")} } }`,
      `http: { addr: "127.0.0.1:${port}" }`,
      `auth: { htpasswd: { realm: private, path: ${join(work, "htpasswd")} } }`,
    ].join("\n"),
  );
  registry = spawn("docker-registry", ["serve", join(work, "config.yml")], { stdio: "ignore" });
  image = `127.0.0.1:${port}/team/private-busybox:1`;
  await waitForRegistry(port);
  execFileSync("skopeo", [
    "copy",
    "--quiet",
    "--dest-tls-verify=false",
    "--dest-creds=deploy:s3cret-pass",
    "docker-daemon:skiff-test/busybox:latest",
    `docker://${image}`,
  ]);
});

afterAll(async () => {
  await docker
    .getImage(image)
    .remove({ force: true })
    .catch(() => {});
  registry?.kill();
  rmSync(work, { recursive: true, force: true });
});

it("pulls from another private registry with the node's Docker login, and not without", async () => {
  await expect(runtime.ensureImage(image)).rejects.toBeInstanceOf(ImagePullError);

  const configFile = join(work, "docker-config.json");
  const login = Buffer.from("deploy:s3cret-pass").toString("base64");
  writeFileSync(
    configFile,
    JSON.stringify({ auths: { [image.split("/")[0] as string]: { auth: login } } }),
  );
  const auth = dockerConfigAuth(() => readFileSync(configFile, "utf8"));
  await runtime.ensureImage(image, auth(image));
  const pulled = await docker.getImage(image).inspect();
  expect(pulled.RepoTags).toContain(image);
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

async function waitForRegistry(port: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const answered = await fetch(`http://127.0.0.1:${port}/v2/`).then(
      (response) => response.status === 401,
      () => false,
    );
    if (answered) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("the private registry did not start");
}
