import { api, ok, type R, type W } from "./client";
import { allPages } from "./modules";

export type SettingKind = W["SettingKind"];
export type SettingSlug = W["SettingKindSlug"];
export type Setting = W["Setting"];

/** `sms_provider` → `sms-providers`: the kind as the settings URLs write it. */
export function slugOf(kind: SettingKind): SettingSlug {
  const special: Partial<Record<SettingKind, SettingSlug>> = { library_action: "actions", mailbox: "mailboxes" };
  return special[kind] ?? (`${kind.replace(/_/g, "-")}s` as SettingSlug);
}

export function settingsOf(slug: SettingSlug): Promise<Setting[]> {
  return allPages<Setting>((cursor) =>
    ok(
      api().workflows.GET("/settings/{kind}", {
        params: { path: { kind: slug }, query: { limit: 100, cursor } },
      }),
    ),
  );
}

export function users(): Promise<R["User"][]> {
  return allPages<R["User"]>((cursor) =>
    ok(api().records.GET("/users", { params: { query: { limit: 100, cursor } } })),
  );
}

/** A setting's display name: its `name`, else its id. */
export function settingName(setting: Setting): string {
  return "name" in setting && typeof setting.name === "string" ? setting.name : setting.id;
}
