import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Types (and the query strings the client sends) for the example client, from the
 * committed schema and src/operations.graphql. Run from the repository root:
 * `npm run example:codegen`. The output, src/gql/, is committed. The client imports
 * the `…Document` constants of src/gql/graphql.ts; gql.ts's `graphql()` is for
 * operations written inline in .ts files, which this client has none of.
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['examples/web/src/operations.graphql'],
  generates: {
    'examples/web/src/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        // Each operation is a TypedDocumentString: the exact text sent on the wire,
        // so the persisted query manifest can hash the very same string.
        documentMode: 'string',
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTimeISO: 'string' },
      },
    },
  },
};

export default config;
