import { ResponseSerializationError, serializerCompiler as encodingSerializerCompiler } from 'fastify-type-provider-zod';
import { $ZodType, safeParse } from 'zod/v4/core';

/** Schema kinds whose parse and encode are the same checks over the same value. */
const PLAIN_KINDS = new Set([
  'string', 'number', 'int', 'boolean', 'bigint', 'symbol', 'null', 'undefined', 'void', 'never', 'any',
  'unknown', 'date', 'nan', 'enum', 'literal', 'template_literal', 'custom', 'file',
  'object', 'array', 'tuple', 'record', 'map', 'set', 'union', 'intersection',
  'optional', 'nullable', 'nonoptional', 'readonly', 'lazy',
]);

interface Def {
  type: string;
  checks?: Array<{ _zod: { def: { check: string } } }>;
  [key: string]: unknown;
}

/**
 * Whether parsing and encoding `schema` could give different results: it, or any part of it, is a
 * transform, pipe or codec, fills defaults, catches, or rewrites a value in a check (trim and
 * friends). Unknown kinds count as transforming, so a new zod feature errs on the safe side.
 */
export function isDirectional(schema: $ZodType, seen = new Set<$ZodType>()): boolean {
  if (seen.has(schema)) return false;
  seen.add(schema);
  const def = schema._zod.def as unknown as Def;
  if (!PLAIN_KINDS.has(def.type)) return true;
  if (def.checks?.some((check) => check._zod.def.check === 'overwrite')) return true;
  const children: unknown[] = [];
  const push = (value: unknown) => {
    if (value instanceof $ZodType) children.push(value);
  };
  switch (def.type) {
    case 'object':
      Object.values(def.shape as Record<string, unknown>).forEach(push);
      push(def.catchall);
      break;
    case 'array':
      push(def.element);
      break;
    case 'tuple':
      (def.items as unknown[]).forEach(push);
      push(def.rest);
      break;
    case 'record':
    case 'map':
      push(def.keyType);
      push(def.valueType);
      break;
    case 'set':
      push(def.valueType);
      break;
    case 'union':
      (def.options as unknown[]).forEach(push);
      break;
    case 'intersection':
      push(def.left);
      push(def.right);
      break;
    case 'optional':
    case 'nullable':
    case 'nonoptional':
    case 'readonly':
      push(def.innerType);
      break;
    case 'lazy':
      push((def.getter as () => unknown)());
      break;
  }
  return children.some((child) => isDirectional(child as $ZodType, seen));
}

/**
 * Response serialization through the route's zod schema, as fastify-type-provider-zod does it,
 * but with zod's parse instead of encode wherever the two cannot differ. Parse runs zod's compiled
 * fast path; encode walks the schema generically and made the response schema the largest single
 * cost of GET /v1/campaigns/:id (about a fifth of the request). Schemas with codecs, transforms or
 * defaults keep the provider's encode, so their output is exactly what it was.
 */
export const serializerCompiler: typeof encodingSerializerCompiler = (routeSchema) => {
  const { schema, method, url } = routeSchema;
  if (!(schema instanceof $ZodType) || isDirectional(schema)) return encodingSerializerCompiler(routeSchema);
  return (data) => {
    const result = safeParse(schema, data);
    if (!result.success) throw new ResponseSerializationError(method, url, { cause: result.error });
    return JSON.stringify(result.data);
  };
};

