import {
  type EventType,
  eventTypes,
  type FieldKind,
  formFields,
  type WebhookPayload,
  webhookPayloadSchemas,
} from '@callhook/contract';
import * as z from 'zod';

export interface FieldSpec {
  /** The name as the schema has it: an interned string, quick to use as a property key. */
  readonly name: string;
  /** How the field comes off the wire. */
  readonly kind: FieldKind;
  /** Its position, so a request can mark the fields it has seen in a flat array. */
  readonly index: number;
  /** Whether the event must have it. */
  readonly required: boolean;
  /**
   * Whether the schema accepts this value for the field, read off the generated zod schema's
   * definition (see `predicateOf`); undefined where the definition holds something not read here.
   */
  readonly accepts: ((value: unknown) => boolean) | undefined;
}

/** What the parser needs to know about one event type, computed once from the contract. */
export interface EventShape<E extends EventType = EventType> {
  /**
   * Every field of the event data (the contract's `formFields`), by the length of its name. A name
   * off the wire is a fresh string whose hash `Map.get` must compute first; comparing it with the
   * one or two names of its length is cheaper.
   */
  readonly byLength: readonly (readonly FieldSpec[] | undefined)[];
  /** The spec's schema for the event data, in a form that validates about three times faster. */
  readonly schema: z.ZodType<WebhookPayload<E>>;
  /**
   * How many fields are required, when every field has `accepts`: the parser then checks each
   * value as it reads it and counts the required ones, and only runs `schema` when something is
   * wrong (for its messages). Undefined: `schema` checks every event.
   */
  readonly requiredCount: number | undefined;
}

interface CheckDef {
  check?: string;
  value?: unknown;
  inclusive?: boolean;
  maximum?: unknown;
  minimum?: unknown;
}

interface Def {
  type: string;
  left?: z.ZodType;
  right?: z.ZodType;
  innerType?: z.ZodType;
  format?: string;
  checks?: { _zod: { def: CheckDef } }[];
}

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

interface Choice {
  values: ReadonlySet<unknown>;
  optional: boolean;
  required: z.ZodType;
}

/** An enum or literal (optional or not) as the set of values it accepts. */
function choiceOf(schema: z.ZodType): Choice | undefined {
  const def = defOf(schema);
  if (def.type === 'optional') {
    const inner = choiceOf((schema as z.ZodOptional).unwrap() as z.ZodType);
    return inner && { ...inner, optional: true };
  }
  if (def.type === 'enum')
    return { values: new Set((schema as z.ZodEnum).options), optional: false, required: schema };
  if (def.type === 'literal')
    return { values: (schema as z.ZodLiteral).values, optional: false, required: schema };
  return undefined;
}

/**
 * The usual allOf refinement narrows an enum to a sub-enum or a literal (`EventType: hangup`,
 * `CallStatus` of a hangup). When one side's values are a subset of the other's, that side alone
 * accepts exactly what the intersection does, without checking twice.
 */
function narrower(wider: z.ZodType, field: z.ZodType): z.ZodType | undefined {
  const a = choiceOf(wider);
  const b = choiceOf(field);
  if (!a || !b || ![...b.values].every((v) => a.values.has(v))) return undefined;
  return a.optional && b.optional ? field : b.required;
}

function objectShape(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  const def = defOf(schema);
  if (def.type === 'object') return (schema as z.ZodObject).shape;
  if (def.type === 'intersection' && def.left && def.right) {
    const left = objectShape(def.left);
    const right = objectShape(def.right);
    if (!left || !right) return undefined;
    const merged: Record<string, z.ZodType> = { ...left };
    for (const [name, field] of Object.entries(right)) {
      const wider = merged[name];
      merged[name] = wider ? (narrower(wider, field) ?? z.intersection(wider, field)) : field;
    }
    return merged;
  }
  return undefined;
}

/**
 * The spec's `allOf` comes out of the generator as an intersection of objects, which zod checks by
 * parsing both sides and deep-merging the results. One object whose shared fields are intersections
 * accepts and refuses exactly the same values (a property test holds it to that) at a third of the
 * cost, which is most of what keeps validation off the benchmark's profile.
 */
export function flatten<T>(schema: z.ZodType<T>): z.ZodType<T> {
  const shape = objectShape(schema);
  return shape ? (z.object(shape) as unknown as z.ZodType<T>) : schema;
}

type Predicate = (value: unknown) => boolean;

/** Bounds and lengths, the checks the spec's fields carry; undefined for any other kind of check. */
function checkOf(def: Def): Predicate[] | undefined {
  const out: Predicate[] = [];
  for (const { _zod } of def.checks ?? []) {
    const { check, value, inclusive, maximum, minimum } = _zod.def;
    if (check === 'greater_than' && typeof value === 'number')
      out.push(inclusive ? (v) => (v as number) >= value : (v) => (v as number) > value);
    else if (check === 'less_than' && typeof value === 'number')
      out.push(inclusive ? (v) => (v as number) <= value : (v) => (v as number) < value);
    else if (check === 'max_length' && typeof maximum === 'number')
      out.push((v) => (v as string).length <= maximum);
    else if (check === 'min_length' && typeof minimum === 'number')
      out.push((v) => (v as string).length >= minimum);
    else return undefined;
  }
  return out;
}

function allOf(type: Predicate, checks: readonly Predicate[]): Predicate {
  if (checks.length === 0) return type;
  return (v) => {
    if (!type(v)) return false;
    for (const check of checks) if (!check(v)) return false;
    return true;
  };
}

/**
 * A plain function that accepts exactly the values `schema` accepts for a field that is present,
 * read off the zod definition the generator wrote: strings, numbers (whole or safe integers), booleans,
 * enums and literals, with their bounds and lengths, through optional and intersection. Anything
 * else (a format, a pattern, a refinement, a newer zod construct) gives undefined, and zod itself
 * then checks every event of that type. A property test holds each to zod's verdict.
 */
export function predicateOf(schema: z.ZodType): Predicate | undefined {
  const def = defOf(schema);
  const checks = checkOf(def);
  if (checks === undefined) return undefined;
  switch (def.type) {
    case 'optional':
      return checks.length === 0 && def.innerType ? predicateOf(def.innerType) : undefined;
    case 'string':
      return def.format === undefined ? allOf((v) => typeof v === 'string', checks) : undefined;
    case 'number':
      if (def.format === 'safeint') return allOf((v) => Number.isSafeInteger(v), checks);
      return def.format === undefined
        ? allOf((v) => typeof v === 'number' && Number.isFinite(v), checks)
        : undefined;
    case 'boolean':
      return allOf((v) => typeof v === 'boolean', checks);
    case 'enum':
    case 'literal': {
      const choice = choiceOf(schema);
      if (!choice || checks.length > 0) return undefined;
      const { values } = choice;
      return (v) => values.has(v);
    }
    case 'intersection': {
      const left = def.left && predicateOf(def.left);
      const right = def.right && predicateOf(def.right);
      return left && right && checks.length === 0 ? (v) => left(v) && right(v) : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * Whether `data` (holding only the event type's fields) is an event the schema accepts, by the
 * fields' own predicates: every required field present and every present value accepted. What the
 * parser does field by field, in one call (for tests); undefined where the type has no predicates.
 */
export function acceptsAll(shape: EventShape, data: Readonly<Record<string, unknown>>): boolean | undefined {
  if (shape.requiredCount === undefined) return undefined;
  for (const fields of shape.byLength) {
    for (const field of fields ?? []) {
      const value = data[field.name];
      if (value === undefined ? field.required : !field.accepts!(value)) return false;
    }
  }
  return true;
}

// Seen through a mapped type, indexing by a generic event type keeps the payload type exact.
const payloadSchemas: { readonly [E in EventType]: z.ZodType<WebhookPayload<E>> } = webhookPayloadSchemas;

function shapeOf<E extends EventType>(type: E): EventShape<E> {
  const generated = payloadSchemas[type];
  const schema = flatten(generated);
  const merged = objectShape(generated as z.ZodType);
  const byLength: FieldSpec[][] = [];
  let index = 0;
  let requiredCount: number | undefined = 0;
  for (const [name, kind] of formFields(generated)) {
    const fieldSchema = merged?.[name];
    const required = fieldSchema !== undefined && defOf(fieldSchema).type !== 'optional';
    const accepts = fieldSchema && predicateOf(fieldSchema);
    if (accepts === undefined) requiredCount = undefined;
    else if (required && requiredCount !== undefined) requiredCount++;
    const field = { name, kind, index: index++, required, accepts };
    const same = byLength[name.length];
    if (same) same.push(field);
    else byLength[name.length] = [field];
  }
  return { byLength, schema, requiredCount };
}

/** The field of this event type called `name`, if it has one. */
export function fieldOf(shape: EventShape, name: string): FieldSpec | undefined {
  const candidates = shape.byLength[name.length];
  if (candidates === undefined) return undefined;
  for (let i = 0; i < candidates.length; i++) if (candidates[i]!.name === name) return candidates[i];
  return undefined;
}

/** One shape per event type, built when the module loads so no request pays for it. */
export const eventShapes: { readonly [E in EventType]: EventShape<E> } = Object.fromEntries(
  eventTypes.map((type) => [type, shapeOf(type)]),
) as { [E in EventType]: EventShape<E> };
