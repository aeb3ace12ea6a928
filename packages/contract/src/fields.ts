import type * as z from 'zod';

/** How a field travels in form encoding and comes back: every value is a string on the wire. */
export type FieldKind = 'integer' | 'number' | 'boolean' | 'string';

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  left?: z.ZodType;
  right?: z.ZodType;
  innerType?: z.ZodType;
  getter?: () => z.ZodType;
  checks?: Array<{ _zod: { def: { check?: string; format?: string } } }>;
  format?: string;
}

const def = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

function kindOf(schema: z.ZodType): FieldKind {
  const d = def(schema);
  switch (d.type) {
    case 'optional':
    case 'nullable':
    case 'default':
      return d.innerType ? kindOf(d.innerType) : 'string';
    case 'lazy':
      return d.getter ? kindOf(d.getter()) : 'string';
    case 'number': {
      const formats = [d.format, ...(d.checks ?? []).map((c) => c._zod.def.format)];
      return formats.some((f) => f === 'safeint' || f === 'int32' || f === 'int64') ? 'integer' : 'number';
    }
    case 'boolean':
      return 'boolean';
    default:
      return 'string';
  }
}

function collect(schema: z.ZodType, into: Map<string, FieldKind>): void {
  const d = def(schema);
  if (d.type === 'object' && d.shape) {
    for (const [name, field] of Object.entries(d.shape)) {
      // The narrower side of an intersection (a literal, a sub-enum) keeps the wider side's kind.
      if (!into.has(name)) into.set(name, kindOf(field));
    }
  } else if (d.type === 'intersection' && d.left && d.right) {
    collect(d.left, into);
    collect(d.right, into);
  } else if (d.type === 'lazy' && d.getter) {
    collect(d.getter(), into);
  }
}

const cache = new WeakMap<z.ZodType, ReadonlyMap<string, FieldKind>>();

/**
 * The fields of an object schema (through intersections) with how each is form-encoded, read off
 * the generated zod schema itself, so the field list always follows the spec.
 */
export function formFields(schema: z.ZodType): ReadonlyMap<string, FieldKind> {
  let fields = cache.get(schema);
  if (!fields) {
    const map = new Map<string, FieldKind>();
    collect(schema, map);
    fields = map;
    cache.set(schema, fields);
  }
  return fields;
}
