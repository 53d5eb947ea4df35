import type { Context } from 'koa';
import type Router from '@koa/router';
import { z, type ZodType } from 'zod';
import { readJsonBody } from './body.js';
import { badRequest } from './problem.js';
import type { Authenticator, Principal } from '../auth/authenticate.js';
import type { LimitedAction, RateLimits } from './rate-limits.js';

/**
 * A route is declared once: its validation schemas drive both the request checks and the
 * OpenAPI document, so the two cannot drift apart.
 */
export interface RouteSpec<P = unknown, Q = unknown, B = unknown, H = unknown> {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  operationId: string;
  summary: string;
  tags: string[];
  params?: ZodType<P>;
  query?: ZodType<Q>;
  body?: ZodType<B>;
  headers?: ZodType<H>;
  /** Needs a user's bearer JWT: the handler gets its principal (401 without one). */
  authenticated?: boolean;
  /** Spends the caller's budget for this action (429 once spent); needs `authenticated`. */
  rateLimit?: LimitedAction;
  /** The answers particular to this route; those of authentication, limits and bodies are added. */
  responses: Record<number, { description: string; schema?: ZodType; contentType?: string }>;
  /**
   * Answered ahead of the middleware chain (http/hot-route.ts) as well as by the router: for a public GET
   * that an onsale's herd hits, since nothing that guards the other routes runs before it (never with
   * `authenticated` or `rateLimit`).
   */
  hot?: boolean;
  handler: (
    ctx: Context,
    input: { params: P; query: Q; body: B; headers: H; principal: Principal },
  ) => Promise<void> | void;
}

/** Keeps the generic types of each route while collecting them in one list. */
export function route<P, Q, B, H>(spec: RouteSpec<P, Q, B, H>): RouteSpec {
  return spec as unknown as RouteSpec;
}

export interface MountOptions {
  bodyLimit: number;
  authenticator: Authenticator;
  limits: RateLimits;
}

/** Validates one part of a request; a failure is a 400 naming where. */
export function parseInput<T>(schema: ZodType<T> | undefined, value: unknown, where: string): T {
  if (!schema) return undefined as T;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors = result.error.issues.map((issue) => ({
    location: [where, ...issue.path].join('.'),
    message: issue.message,
  }));
  throw badRequest(`invalid ${where}: ${errors[0]!.location}: ${errors[0]!.message}`, { errors });
}

export function mountRoutes(router: Router, specs: RouteSpec[], options: MountOptions): void {
  for (const spec of specs) {
    router[spec.method](spec.operationId, spec.path, async (ctx) => {
      // Who asks comes first: an anonymous or over-budget caller learns nothing about the input's validity.
      const principal = spec.authenticated
        ? await options.authenticator.authenticate(ctx.get('authorization') || undefined)
        : (undefined as unknown as Principal);
      if (spec.rateLimit) await options.limits.consume(ctx, spec.rateLimit, principal.userId);
      const params = parseInput(spec.params, ctx.params, 'path');
      const query = parseInput(spec.query, ctx.query, 'query');
      const headers = parseInput(spec.headers, ctx.headers, 'header');
      const rawBody = spec.body ? await readJsonBody(ctx, options.bodyLimit) : undefined;
      const body = parseInput(spec.body, rawBody, 'body');
      await spec.handler(ctx, { params, query, body, headers, principal });
    });
  }
}

const problemSchema = {
  type: 'object',
  required: ['type', 'title', 'status'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
  },
} as const;

function jsonSchema(schema: ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
}

function parametersOf(schema: ZodType | undefined, location: 'path' | 'query' | 'header') {
  if (!schema) return [];
  const objectSchema = jsonSchema(schema, 'input') as {
    properties?: Record<string, unknown>;
    required?: string[];
  };
  return Object.entries(objectSchema.properties ?? {}).map(([name, propertySchema]) => ({
    name,
    in: location,
    required: location === 'path' || (objectSchema.required ?? []).includes(name),
    schema: propertySchema,
  }));
}

/** What every route of a kind can answer, whatever its handler does. */
function commonResponses(spec: RouteSpec): RouteSpec['responses'] {
  const responses: RouteSpec['responses'] = {};
  if (spec.params ?? spec.query ?? spec.body ?? spec.headers) {
    responses[400] = { description: 'Malformed input (`errors` lists each problem)' };
  }
  if (spec.authenticated) {
    responses[401] = { description: 'Bearer token missing, expired, or not from the configured issuer' };
  }
  if (spec.body) {
    responses[413] = { description: 'Body larger than the limit' };
    responses[415] = { description: 'Body not application/json' };
  }
  if (spec.rateLimit) {
    responses[429] = { description: 'Rate limit spent for this user or address (Retry-After says when)' };
  }
  responses[503] = {
    description: 'A dependency (database, Redis, identity keys) is unavailable or saturated',
  };
  return responses;
}

/** The OpenAPI 3.1 document of a set of routes. */
export function openApiDocument(specs: RouteSpec[], info: { title: string; version: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of specs) {
    const path = spec.path.replace(/:(\w+)/g, '{$1}');
    const responses: Record<string, unknown> = {};
    const all = { ...commonResponses(spec), ...spec.responses };
    for (const status of Object.keys(all).sort()) {
      const response = all[Number(status)]!;
      const contentType =
        response.contentType ?? (Number(status) >= 400 ? 'application/problem+json' : 'application/json');
      const schema = response.schema
        ? jsonSchema(response.schema, 'output')
        : Number(status) >= 400
          ? problemSchema
          : undefined;
      responses[status] = {
        description: response.description,
        ...(schema ? { content: { [contentType]: { schema } } } : {}),
      };
    }
    paths[path] ??= {};
    paths[path][spec.method] = {
      operationId: spec.operationId,
      summary: spec.summary,
      tags: spec.tags,
      ...(spec.authenticated ? { security: [{ bearer: [] }] } : {}),
      parameters: [
        ...parametersOf(spec.params, 'path'),
        ...parametersOf(spec.query, 'query'),
        ...parametersOf(spec.headers, 'header'),
      ],
      ...(spec.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: jsonSchema(spec.body, 'input') } },
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info,
    paths,
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
  };
}

/** Path ids: positive integers written in decimal, within bigint range and JS-safe. */
export const idParam = z
  .string()
  .regex(/^[1-9][0-9]{0,14}$/, 'must be a positive integer')
  .transform(Number);
