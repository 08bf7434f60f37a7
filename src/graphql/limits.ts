import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import {
  NoSchemaIntrospectionCustomRule,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type ParseOptions,
  type Source,
  type ValidationRule,
} from 'graphql';
import type { GraphQLSettings } from '../config';

export interface Limits {
  /** For Apollo: the armor's plugin that masks field suggestions. */
  plugins: ApolloServerPlugin[];
  /** The token limit, enforced by graphql-js's own parser. */
  parseOptions: ParseOptions;
  /** Depth, cost, aliases and directives: checked at validation, before any resolver runs. */
  validationRules: ValidationRule[];
  /** The same checks for every operation sent over graphql-ws (graphql/websocket-operations.ts), which Apollo never sees. */
  parseOverWebSocket(source: string | Source): DocumentNode;
  validateOverWebSocket(schema: GraphQLSchema, document: DocumentNode): ReturnType<typeof validate>;
}

/**
 * Query limits by graphql-armor. The defaults leave room for the contract's deepest
 * query (recentOrders { user product }, depth 3) and for Apollo Sandbox's
 * introspection query, which the depth and cost limits ignore.
 */
export function createLimits(settings: GraphQLSettings, production: boolean): Limits {
  const armor = new ApolloArmor({
    maxDepth: { n: settings.maxDepth },
    costLimit: { maxCost: settings.maxCost },
    maxAliases: { n: settings.maxAliases },
    // Not the armor's token counter: it re-parses in an Apollo hook and throws, which
    // Apollo can only answer with a 500, for any syntax error
    // (github.com/Escape-Technologies/graphql-armor/issues/751). graphql-js counts
    // tokens itself while parsing (parseOptions below), and a failure is a 400.
    maxTokens: { enabled: false },
    maxDirectives: { n: settings.maxDirectives },
    // "Did you mean …?" helps a developer and maps the schema for an attacker.
    blockFieldSuggestion: { enabled: production },
  }).protect();
  const webSocketRules = [
    ...specifiedRules,
    ...armor.validationRules,
    ...(settings.introspection ? [] : [NoSchemaIntrospectionCustomRule]),
  ];
  const parseOptions = { maxTokens: settings.maxTokens };
  return {
    plugins: armor.plugins,
    parseOptions,
    validationRules: armor.validationRules,
    parseOverWebSocket: (source) => parse(source, parseOptions),
    validateOverWebSocket: (schema, document) => validate(schema, document, webSocketRules),
  };
}
