import { defineConfig } from "vitest/config";

// Five projects: fast unit tests of pure logic; integration tests against a real PostgreSQL,
// Redis and Docker engine; the start-up timings among them, run alone; the embedded default
// (`npm start` with no DATABASE_URL or REDIS_URL: PGlite and a supervised redis-server) driven
// end to end as its own process; the compose test, which builds the images and runs the stack.
const startupTests = "apps/api/src/main.int.test.ts";

export default defineConfig({
  test: {
    globals: false,
    projects: [
      {
        test: {
          name: "unit",
          include: ["{apps,packages}/*/src/**/*.test.ts"],
          exclude: [
            "**/*.int.test.ts",
            "**/*.embedded.test.ts",
            "**/*.compose.test.ts",
            "**/node_modules/**",
            "**/dist/**",
          ],
        },
      },
      {
        test: {
          name: "integration",
          // apps/dashboard/browser: the dashboard in chromium against the real server.
          include: [
            "{apps,packages}/*/src/**/*.int.test.ts",
            "apps/dashboard/browser/**/*.int.test.ts",
          ],
          exclude: ["**/node_modules/**", startupTests],
          globalSetup: ["apps/api/src/test/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Two files at a time: they wait on the Docker engine and on timers more than they
          // use the two cores, and each has its own database, Redis prefix and Docker names.
          fileParallelism: true,
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: "startup",
          // The promises a user times (npm start healthy within 10 s), kept alone on the machine.
          include: [startupTests],
          globalSetup: ["apps/api/src/test/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: "embedded",
          // No PostgreSQL or Redis of the suite's: each file starts the built api as a user does.
          include: ["apps/*/src/**/*.embedded.test.ts"],
          exclude: ["**/node_modules/**"],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: "compose",
          include: ["**/*.compose.test.ts"],
          exclude: ["**/node_modules/**"],
          testTimeout: 900_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});
