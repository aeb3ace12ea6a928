import { type EventType, webhookPayloadSchemas } from '@callhook/contract';
import fc from 'fast-check';
import * as z from 'zod';

/**
 * fast-check arbitraries read off the contract's zod schemas, so the property tests cover whatever
 * the spec says, field by field, with no list of our own. Strings are never empty: the delivery
 * engine sends only fields that have a value.
 */
function arbitraryOf(schema: z.ZodType): fc.Arbitrary<unknown> {
  if (schema instanceof z.ZodOptional) return arbitraryOf(schema.unwrap() as z.ZodType);
  if (schema instanceof z.ZodEnum) return fc.constantFrom(...schema.options);
  if (schema instanceof z.ZodLiteral) return fc.constantFrom(...schema.values);
  if (schema instanceof z.ZodString) {
    return fc.string({ unit: 'grapheme', minLength: 1, maxLength: Math.min(schema.maxLength ?? 40, 40) });
  }
  if (schema instanceof z.ZodNumber) {
    return fc.integer({
      min: Math.max(schema.minValue ?? Number.MIN_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
      max: Math.min(schema.maxValue ?? Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    });
  }
  throw new Error(`no arbitrary for a ${schema.def.type} schema`);
}

/** The object shape, through allOf: the narrower (right) side of an intersection wins a shared field. */
function fieldsOf(schema: z.ZodType): Map<string, z.ZodType> {
  if (schema instanceof z.ZodObject)
    return new Map(Object.entries(schema.shape as Record<string, z.ZodType>));
  if (schema instanceof z.ZodIntersection) {
    const right = fieldsOf(schema.def.right as z.ZodType);
    const merged = fieldsOf(schema.def.left as z.ZodType);
    for (const [name, field] of right) {
      const optional = field instanceof z.ZodOptional && (merged.get(name) ?? field) instanceof z.ZodOptional;
      merged.set(
        name,
        optional ? field : field instanceof z.ZodOptional ? (field.unwrap() as z.ZodType) : field,
      );
    }
    return merged;
  }
  throw new Error(`no fields in a ${schema.def.type} schema`);
}

export function payloadOf<E extends EventType>(type: E): fc.Arbitrary<Record<string, unknown>> {
  const schema = webhookPayloadSchemas[type] as z.ZodType;
  const fields = fieldsOf(schema);
  const arbs: Record<string, fc.Arbitrary<unknown>> = {};
  const required: string[] = [];
  for (const [name, field] of fields) {
    arbs[name] = arbitraryOf(field);
    if (!(field instanceof z.ZodOptional)) required.push(name);
  }
  return fc.record(arbs, { requiredKeys: required }).filter((value) => schema.safeParse(value).success);
}

export const anyEventType = fc.constantFrom(...(Object.keys(webhookPayloadSchemas) as EventType[]));
