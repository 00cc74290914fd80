/**
 * "Did you mean …?" for unknown keys: walks the config schema to the object a path points at
 * and suggests the closest known key.
 */
import { z } from "zod";
import { configSchema } from "../domain/config-schema.js";

export function knownKeysAt(path: ReadonlyArray<string | number>): string[] {
  let schemas: z.ZodType[] = [configSchema];
  for (const part of path) {
    schemas = schemas.flatMap((schema) => step(unwrap(schema), part));
  }
  return [...new Set(schemas.flatMap((schema) => objectKeys(unwrap(schema))))];
}

function unwrap(schema: z.ZodType): z.ZodType[] {
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault || schema instanceof z.ZodNullable) {
    return unwrap(schema.unwrap() as z.ZodType);
  }
  if (schema instanceof z.ZodUnion) return (schema.options as z.ZodType[]).flatMap(unwrap);
  return [schema];
}

function step(schemas: z.ZodType[], part: string | number): z.ZodType[] {
  return schemas.flatMap((schema): z.ZodType[] => {
    if (schema instanceof z.ZodObject && typeof part === "string") {
      const field = (schema.shape as Record<string, z.ZodType>)[part];
      return field ? [field] : [];
    }
    if (schema instanceof z.ZodArray && typeof part === "number") return [schema.element as z.ZodType];
    if (schema instanceof z.ZodRecord) return [schema.valueType as z.ZodType];
    return [];
  });
}

function objectKeys(schemas: z.ZodType[]): string[] {
  return schemas.flatMap((schema) => (schema instanceof z.ZodObject ? Object.keys(schema.shape) : []));
}

/** The candidate within edit distance 2 (or a case-insensitive match), if any. */
export function closestName(input: string, candidates: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    const distance = name.toLowerCase() === input.toLowerCase() ? 0 : editDistance(input, name);
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length]!;
}
