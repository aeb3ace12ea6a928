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
}

interface Def {
  type: string;
  left?: z.ZodType;
  right?: z.ZodType;
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

// Seen through a mapped type, indexing by a generic event type keeps the payload type exact.
const payloadSchemas: { readonly [E in EventType]: z.ZodType<WebhookPayload<E>> } = webhookPayloadSchemas;

function shapeOf<E extends EventType>(type: E): EventShape<E> {
  const generated = payloadSchemas[type];
  const byLength: FieldSpec[][] = [];
  let index = 0;
  for (const [name, kind] of formFields(generated)) {
    const field = { name, kind, index: index++ };
    const same = byLength[name.length];
    if (same) same.push(field);
    else byLength[name.length] = [field];
  }
  return { byLength, schema: flatten(generated) };
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
