/** `loopd memory`: read, replace or clear a routine's memory. */
import type { z } from "zod";
import { capMemory, DEFAULT_MEMORY_MAX_BYTES } from "../domain/memory.js";
import type { ConfigSettings } from "../domain/settings.js";
import { clearMemory, getMemory, putMemory } from "../store/memory.js";
import { CONFIG_SETTING, getSetting } from "../store/settings.js";
import type { Store } from "../store/store.js";
import { requireRoutine } from "./routines.js";
import type { MemoryViewSchema } from "./view-schemas.js";

export type MemoryView = z.infer<typeof MemoryViewSchema>;

export async function showMemory(store: Store, name: string): Promise<MemoryView> {
  const routine = await requireRoutine(store, name);
  const memory = await getMemory(store.db, routine.id);
  const content = memory?.content ?? "";
  return {
    routine: routine.name,
    content,
    bytes: Buffer.byteLength(content),
    maxBytes: await memoryCap(store),
    updatedAt: memory ? new Date(memory.updatedAt).toISOString() : null,
  };
}

/** Replaces the memory (capped like a run's update). */
export async function setMemory(
  store: Store,
  name: string,
  content: string,
  now: number,
): Promise<MemoryView> {
  const routine = await requireRoutine(store, name);
  const { memory } = capMemory(content, await memoryCap(store));
  await putMemory(store.db, routine.id, memory, now);
  return showMemory(store, name);
}

export async function forgetMemory(
  store: Store,
  name: string,
): Promise<{ routine: string; cleared: boolean }> {
  const routine = await requireRoutine(store, name);
  return { routine: routine.name, cleared: await clearMemory(store.db, routine.id) };
}

async function memoryCap(store: Store): Promise<number> {
  const settings = await getSetting<ConfigSettings>(store.db, CONFIG_SETTING);
  return settings?.context?.memoryMaxBytes ?? DEFAULT_MEMORY_MAX_BYTES;
}
