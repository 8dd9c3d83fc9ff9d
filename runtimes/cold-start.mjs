// Measures a runtime image's cold start two ways, side by side (see runtimes2's report):
//   run:   `docker run --rm` of the image running the handler once (node -e), the benchmark's bar;
//   start: a container created beforehand with the code put in, from `docker start` to the
//          runtime client's first /next (ready) and to its first answer (invoke).
// Usage (from the repo, after npm run build and scripts/build-runtime-images.sh):
//   node runtimes/cold-start.mjs [image] [rounds] [warm invokes]
// It also times sequential invokes of one warm instance through the Runtime API (the client's
// share of the hot path: the agent's event out on /next, the answer back).
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import { RuntimeApi } from "../apps/agent/dist/functions/runtime-api.js";

const run = promisify(execFile);
const image = process.argv[2] ?? "skiff/lambda:nodejs24.x";
const rounds = Number(process.argv[3] ?? 10);
const suffix = randomBytes(4).toString("hex");
const docker = new Docker();
const handler = "exports.handler = async () => ({ ok: true });\n";

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

// The `docker run --rm` side needs the code in the image: a derived one, built once.
const context = await mkdtemp(join(tmpdir(), "skiff-cold-"));
await writeFile(join(context, "index.js"), handler);
await writeFile(join(context, "Dockerfile"), `FROM ${image}\nCOPY index.js /var/task/index.js\n`);
const baked = `skiff-test/cold-start:${suffix}`;
await run("docker", ["build", "-q", "-t", baked, "--label", `skiff.test=${suffix}`, context]);
const { stdout: tar } = await run(
  "tar",
  ["-C", context, "--owner=0", "--group=0", "-cf", "-", "index.js"],
  {
    encoding: "buffer",
  },
);
await rm(context, { recursive: true, force: true });

const probe = await docker.createNetwork({ Name: `skiff-cold-${suffix}` });
const config = (await probe.inspect()).IPAM.Config[0];
await probe.remove();
const network = await docker.createNetwork({
  Name: `skiff-cold-${suffix}`,
  Labels: { "skiff.test": suffix },
  IPAM: { Config: [{ Subnet: config.Subnet, Gateway: config.Gateway }] },
});
const base = config.Subnet.split("/")[0].split(".").map(Number);
const byAddress = new Map();
const api = new RuntimeApi({ identify: (address) => byAddress.get(address), port: 0 });
const port = await api.listen();

const runs = [];
const readies = [];
const answers = [];
const warm = [];
const warmInvokes = Number(process.argv[4] ?? 2000);
try {
  for (let round = 0; round < rounds; round++) {
    let began = performance.now();
    await run("docker", [
      "run",
      "--rm",
      "--label",
      `skiff.test=${suffix}`,
      "--memory",
      "256m",
      "--entrypoint",
      "node",
      baked,
      "-e",
      "require('/var/task/index.js').handler({}).then((r) => console.log(JSON.stringify(r)))",
    ]);
    runs.push(performance.now() - began);

    const id = `fni_cold${round}`;
    const address = [base[0], base[1], base[2], base[3] + 10 + round].join(".");
    byAddress.set(address, id);
    const container = await docker.createContainer({
      name: `skiff-cold-${suffix}-${round}`,
      Image: image,
      Labels: { "skiff.test": suffix },
      Env: [
        `AWS_LAMBDA_RUNTIME_API=${config.Gateway}:${port}`,
        "_HANDLER=index.handler",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
        "AWS_LAMBDA_FUNCTION_NAME=cold",
      ],
      HostConfig: { NetworkMode: network.id, Memory: 256 * 1024 * 1024 },
      NetworkingConfig: {
        EndpointsConfig: { [`skiff-cold-${suffix}`]: { IPAMConfig: { IPv4Address: address } } },
      },
    });
    await container.putArchive(tar, { path: "/var/task" });
    began = performance.now();
    await container.start();
    await api.ready(id);
    readies.push(performance.now() - began);
    await api.invoke(id, {
      requestId: `r${round}`,
      payload: Buffer.from("{}"),
      deadlineMs: Date.now() + 10_000,
      functionArn: "arn",
    });
    answers.push(performance.now() - began);
    if (round === rounds - 1) {
      // The hot path through the client: sequential invokes of the now warm instance.
      for (let i = 0; i < warmInvokes; i++) {
        const at = performance.now();
        await api.invoke(id, {
          requestId: `w${i}`,
          payload: Buffer.from("{}"),
          deadlineMs: Date.now() + 10_000,
          functionArn: "arn",
        });
        warm.push(performance.now() - at);
      }
    }
    await container.remove({ force: true });
  }
} finally {
  await api.close();
  const left = await docker.listContainers({
    all: true,
    filters: { label: [`skiff.test=${suffix}`] },
  });
  await Promise.all(
    left.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {}),
    ),
  );
  await network.remove().catch(() => {});
  await docker
    .getImage(baked)
    .remove()
    .catch(() => {});
}
const ms = (value) => `${value.toFixed(0)} ms`;
console.log(`${image}, ${rounds} rounds, medians:`);
console.log(`  docker run --rm, handler once:      ${ms(median(runs))}`);
console.log(`  docker start -> first /next:        ${ms(median(readies))}`);
console.log(`  docker start -> first answer:       ${ms(median(answers))}`);
console.log(`  ratio (start->answer / docker run): ${(median(answers) / median(runs)).toFixed(2)}`);
const sorted = [...warm].sort((a, b) => a - b);
const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
if (sorted.length)
  console.log(
    `  warm invoke through the Runtime API, ${sorted.length} sequential: p50 ${at(0.5).toFixed(2)} ms, p99 ${at(0.99).toFixed(2)} ms`,
  );
