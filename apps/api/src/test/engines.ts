import { GenericContainer, type StartedTestContainer, Wait } from "testcontainers";

export interface TestEngines {
  postgresUrl: string;
  redisUrl: string;
  stop(): Promise<void>;
}

/**
 * The PostgreSQL and Redis the integration tests use: DATABASE_URL and REDIS_URL when set (the
 * test script starts Debian's servers), else containers on the local Docker engine. The images
 * are the ones compose uses; scripts/build-base-images.sh makes them where none can be pulled.
 */
export async function startTestEngines(): Promise<TestEngines> {
  // Ryuk, testcontainers' reaper, comes from a public registry; the stop() below cleans up instead.
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";
  const started: StartedTestContainer[] = [];
  let postgresUrl = process.env.DATABASE_URL;
  if (!postgresUrl) {
    const container = await new GenericContainer("postgres:15-bookworm")
      .withEnvironment({ POSTGRES_USER: "skiff", POSTGRES_PASSWORD: "skiff", POSTGRES_DB: "skiff" })
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/))
      .start();
    started.push(container);
    postgresUrl = `postgres://skiff:skiff@${container.getHost()}:${container.getMappedPort(5432)}/skiff`;
  }
  let redisUrl = process.env.REDIS_URL;
  if (!redisUrl) {
    const container = await new GenericContainer("redis:7-bookworm")
      .withExposedPorts(6379)
      .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
      .start();
    started.push(container);
    redisUrl = `redis://${container.getHost()}:${container.getMappedPort(6379)}`;
  }
  return {
    postgresUrl,
    redisUrl,
    stop: async () => {
      await Promise.all(started.map((container) => container.stop()));
    },
  };
}
