import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // type-graphql loads graphql's CommonJS build; without this alias Vite would hand
    // our own code the ESM build, and every schema call would fail with "Cannot use
    // GraphQLObjectType … from another module or realm". Apollo Server's CommonJS
    // build too, for the same reason and because it is the build `npm start` runs:
    // src/graphql/gateway-request-context.ts replaces a function in it.
    alias: [
      { find: /^graphql$/, replacement: require.resolve('graphql') },
      { find: /^@apollo\/server$/, replacement: require.resolve('@apollo/server') },
    ],
  },
  test: {
    // The API tests run twice: with compiled execution (the default) and with
    // graphql-js's, so both executors answer every operation, error and auth case.
    projects: [
      { extends: true, test: { name: 'jit', include: ['test/**/*.test.ts'], env: { GRAPHQL_EXECUTOR: 'jit' } } },
      { extends: true, test: { name: 'standard', include: ['test/integration/api.*.test.ts'], env: { GRAPHQL_EXECUTOR: 'standard' } } },
    ],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['reflect-metadata'],
    // Integration files each make their own database and key prefix, so they can run
    // side by side; two workers match the two cores this runs on.
    pool: 'forks',
    maxWorkers: 2,
    // CI reads its pass/fail counts from the JSON report (.ci/run).
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: 'test-results/vitest.json' },
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
