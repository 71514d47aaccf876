import { api, ok, type W } from "./client";

export type FieldDef = W["FieldDef"];

/** The modules, in the order the screens list them. */
export const MODULES = ["Customer", "Contact", "Lead", "Opportunity", "Quote", "Order", "Invoice", "Task", "CareCard", "Call", "Meeting", "Note"] as const satisfies readonly W["Module"][];
/** The roles a user has. */
export const ROLES = ["administrator", "salesperson"] as const;
export type ModuleSchema = W["ModuleSchema"];

const schemas = new Map<string, Promise<ModuleSchema>>();

/** A module's fields for the caller's tenant, read once per page load. */
export function moduleSchema(module: string): Promise<ModuleSchema> {
  let cached = schemas.get(module);
  if (!cached) {
    cached = ok(api().workflows.GET("/modules/{module}", { params: { path: { module: module as W["Module"] } } }));
    cached.catch(() => schemas.delete(module));
    schemas.set(module, cached);
  }
  return cached;
}

export function forgetSchemas(): void {
  schemas.clear();
}

export async function modules() {
  return (await ok(api().workflows.GET("/modules"))).items;
}

/** Every item of a paged listing (the console's lists are small: a module's workflows). */
export async function allPages<T>(
  page: (cursor: string | undefined) => Promise<{ items: T[]; next_cursor?: string | null }>,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 50; i++) {
    const next = await page(cursor);
    items.push(...next.items);
    if (!next.next_cursor) break;
    cursor = next.next_cursor;
  }
  return items;
}

export function fieldLabel(field: FieldDef, lang: string): string {
  return (lang === "en" ? field.label_en : field.label_vi) || field.name;
}
