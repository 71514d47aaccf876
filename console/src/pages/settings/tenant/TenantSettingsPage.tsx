import { useEffect, useState, type FormEvent } from "react";
import { asProblem, api, ApiProblem, etagOf, ok, type W } from "../../../api/client";
import { forgetSchemas, MODULES } from "../../../api/modules";
import { ListInput } from "../../../components/ListInput";
import { Field, FormProblem, PointerMessage, ProblemBanner, segment } from "../../../components/Problem";
import { useLoad } from "../../../components/useLoad";
import { useT, type Key } from "../../../i18n";
import { SettingsNav } from "../SettingsPage";
import { ModuleSelect, UserSelect } from "../../../components/Pickers";
import { AccessEditor } from "./AccessEditor";
import { CustomFields } from "./CustomFields";

/** What can make two customers duplicates, in the order the page lists them. */
const DUPLICATE_KINDS = ["phone", "email", "tax_code", "name", "name_unaccented", "code"] as const;

type Settings = W["TenantSettings"];
const RANKS = ["Member", "Silver", "Gold", "Diamond"] as const;

/** Every IANA zone the browser knows, the tenant's own first. */
function timeZones(current: string): string[] {
  const known = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return [current, ...known.filter((z) => z !== current)];
}

/** The tenant's own settings: time zone, custom fields, loyalty, access, owners and managers. */
export function TenantSettingsPage() {
  const t = useT();
  const [settings, setSettings] = useState<Settings | null>(null);
  // The settings as last read: what this user changed is what differs from them.
  const [base, setBase] = useState<Settings | null>(null);
  const [etag, setEtag] = useState("");
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const teams = useLoad(async () => (await ok(api().records.GET("/teams"))).items.flatMap((x) => (x.team ? [x.team] : [])), []);
  const load = async () => {
    try {
      const { data, error, response } = await api().workflows.GET("/tenant-settings");
      if (!data) throw new ApiProblem(response.status, error);
      const { revision, ...rest } = data;
      setSettings(rest as Settings);
      setBase(rest as Settings);
      setEtag(etagOf(response) ?? `"${revision}"`);
      setProblem(null);
    } catch (e) {
      setProblem(asProblem(e));
    }
  };
  useEffect(() => {
    void load();
  }, []);
  if (!settings) return <ProblemBanner problem={problem} onReload={load} />;
  const set = (patch: Partial<Settings>) => {
    setSaved(false);
    setSettings({ ...settings, ...patch });
  };
  const save = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      const { response, error } = await api().workflows.PUT("/tenant-settings", { params: { header: { "If-Match": etag } }, body: settings });
      if (!response.ok) throw new ApiProblem(response.status, error);
      setEtag(etagOf(response) ?? etag);
      setBase(settings);
      setProblem(null);
      setSaved(true);
      forgetSchemas();
    } catch (err) {
      setProblem(asProblem(err));
    } finally {
      setBusy(false);
    }
  };
  // After a 412: the other person's changes come into the sections this user left alone, and
  // what this user changed stays as typed, to be saved over the new revision.
  const reloadMerging = async () => {
    try {
      const { data, error, response } = await api().workflows.GET("/tenant-settings");
      if (!data) throw new ApiProblem(response.status, error);
      const { revision, ...theirs } = data;
      setSettings(merged(settings, base ?? settings, theirs as Settings));
      setBase(theirs as Settings);
      setEtag(etagOf(response) ?? `"${revision}"`);
      setProblem(null);
    } catch (e) {
      setProblem(asProblem(e));
    }
  };
  const loyalty = settings.loyalty;
  const owners = settings.default_owners ?? {};
  const managers = settings.team_managers ?? {};
  return (
    <section>
      <h1>{t("settings.title")}</h1>
      <SettingsNav />
      <FormProblem.Provider value={problem}>
        <form noValidate onSubmit={save} aria-labelledby="tenant-title">
          <h2 id="tenant-title">{t("tenant.title")}</h2>
          <fieldset>
            <legend>{t("tenant.general")}</legend>
            <Field label={t("tenant.timeZone")} pointer="/time_zone" hint={t("tenant.timeZoneHint")}>
              {(id, d) => (
                <select id={id} aria-describedby={d} value={settings.time_zone ?? ""} onChange={(e) => set({ time_zone: e.target.value })}>
                  {timeZones(settings.time_zone ?? "Asia/Ho_Chi_Minh").map((z) => (
                    <option key={z}>{z}</option>
                  ))}
                </select>
              )}
            </Field>
            <Field label={t("tenant.feb29")} pointer="/feb29_default">
              {(id, d) => (
                <select id={id} aria-describedby={d} value={settings.feb29_default ?? "feb28"} onChange={(e) => set({ feb29_default: e.target.value as W["Feb29Policy"] })}>
                  {(["feb28", "mar1", "skip"] as const).map((p) => (
                    <option key={p} value={p}>
                      {t(`when.feb29.${p}` as Key)}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label={t("tenant.countries")} pointer="/message_countries" hint={t("tenant.countriesHint")}>
              {(id, d) => <ListInput id={id} aria-describedby={d} value={settings.message_countries ?? []} separator={/[\s,;]+/} normalise={(c) => c.toUpperCase()} onChange={(message_countries) => set({ message_countries })} />}
            </Field>
          </fieldset>
          <fieldset>
            <legend>{t("tenant.duplicates")}</legend>
            <p className="hint">{t("tenant.duplicatesHint")}</p>
            {DUPLICATE_KINDS.map((kind) => {
              const chosen = settings.duplicate_keys ?? ["phone", "email", "tax_code"];
              return (
                <label key={kind} className="checkbox">
                  <input
                    type="checkbox"
                    checked={chosen.includes(kind)}
                    onChange={(e) => set({ duplicate_keys: e.target.checked ? DUPLICATE_KINDS.filter((k) => k === kind || chosen.includes(k)) : chosen.filter((k) => k !== kind) })}
                  />{" "}
                  {t(`tenant.duplicate.${kind}` as Key)}
                </label>
              );
            })}
            <PointerMessage pointer="/duplicate_keys" />
          </fieldset>
          <CustomFields value={settings.custom_fields ?? []} onChange={(custom_fields) => set({ custom_fields })} />
          <fieldset>
            <legend>{t("tenant.loyalty")}</legend>
            <label className="checkbox">
              <input type="checkbox" checked={!!loyalty} onChange={(e) => set({ loyalty: e.target.checked ? { amount_per_point: 100000, tiers: RANKS.map((rank, i) => ({ rank, min_points: [0, 10, 50, 200][i] })) } : undefined })} />
              {t("tenant.loyaltyOn")}
            </label>
            {loyalty && (
              <>
                <Field label={t("tenant.amountPerPoint")} pointer="/loyalty/amount_per_point">
                  {(id, d) => <input id={id} aria-describedby={d} type="number" min={1} value={loyalty.amount_per_point} onChange={(e) => set({ loyalty: { ...loyalty, amount_per_point: Number(e.target.value) } })} />}
                </Field>
                <div className="row">
                  {RANKS.map((rank) => {
                    const i = (loyalty.tiers ?? []).findIndex((tier) => tier.rank === rank);
                    const tiers = loyalty.tiers ?? [];
                    return (
                      <Field key={rank} label={t("tenant.tierFrom").replace("{rank}", rank)} pointer={`/loyalty/tiers/${i < 0 ? tiers.length : i}/min_points`}>
                        {(id, d) => (
                          <input
                            id={id}
                            aria-describedby={d}
                            type="number"
                            min={0}
                            placeholder={t("tenant.tierUnused")}
                            value={i < 0 ? "" : tiers[i].min_points}
                            onChange={(e) => {
                              const rest = tiers.filter((tier) => tier.rank !== rank);
                              const next = e.target.value === "" ? rest : [...rest, { rank, min_points: Number(e.target.value) }];
                              set({ loyalty: { ...loyalty, tiers: RANKS.flatMap((r) => next.filter((x) => x.rank === r)) } });
                            }}
                          />
                        )}
                      </Field>
                    );
                  })}
                </div>
              </>
            )}
          </fieldset>
          <fieldset>
            <legend>{t("tenant.defaultOwners")}</legend>
            <p className="hint">{t("tenant.defaultOwnersHint")}</p>
            {Object.entries(owners).map(([module, user]) => (
              <div className="row" key={module}>
                <Field label={t("workflows.module")}>{(id, d) => <ModuleSelect id={id} aria-describedby={d} value={module} onChange={(m) => set({ default_owners: rename(owners, module, m) })} />}</Field>
                <Field label={t("tenant.owner")} pointer={`/default_owners/${module}`}>
                  {(id, d) => <UserSelect id={id} aria-describedby={d} multiple={false} value={user} onChange={(u) => set({ default_owners: { ...owners, [module]: String(u) } })} />}
                </Field>
                <button type="button" onClick={() => set({ default_owners: without(owners, module) })}>
                  {t("action.remove")}
                </button>
              </div>
            ))}
            {firstFree(owners) && (
              <button type="button" onClick={() => set({ default_owners: { ...owners, [firstFree(owners) ?? "Lead"]: "" } })}>
                + {t("tenant.addDefaultOwner")}
              </button>
            )}
          </fieldset>
          <fieldset>
            <legend>{t("tenant.teamManagers")}</legend>
            <ProblemBanner problem={teams.problem} onReload={teams.reload} />
            {(teams.data ?? []).map((team) => (
              <Field key={team} label={team} pointer={`/team_managers/${segment(team)}`}>
                {(id, d) => <UserSelect id={id} aria-describedby={d} multiple={false} value={managers[team] ?? ""} onChange={(u) => set({ team_managers: u ? { ...managers, [team]: String(u) } : without(managers, team) })} />}
              </Field>
            ))}
            {!teams.loading && (teams.data ?? []).length === 0 && <p className="hint">{t("tenant.noTeams")}</p>}
          </fieldset>
          <AccessEditor value={settings.access} onChange={(access) => set({ access })} />
          <ProblemBanner problem={problem} onReload={reloadMerging} />
          {saved && <p role="status">{t("tenant.saved")}</p>}
          <div className="toolbar">
            <button type="submit" className="primary" disabled={busy}>
              {t("action.save")}
            </button>
          </div>
        </form>
      </FormProblem.Provider>
    </section>
  );
}

function without<V>(map: Record<string, V>, key: string): Record<string, V> {
  const { [key]: _gone, ...rest } = map;
  return rest;
}

function rename<V>(map: Record<string, V>, from: string, to: string): Record<string, V> {
  if (from === to || to in map) return map;
  return Object.fromEntries(Object.entries(map).map(([k, v]) => [k === from ? to : k, v]));
}

function firstFree(map: Record<string, unknown>): string | undefined {
  return MODULES.find((m) => !(m in map));
}

/** Each member as this user left it when they changed it, else as the other person saved it. */
function merged(mine: Settings, base: Settings, theirs: Settings): Settings {
  const keys = new Set([...Object.keys(mine), ...Object.keys(theirs)]) as Set<keyof Settings>;
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const changed = JSON.stringify(mine[key]) !== JSON.stringify(base[key]);
    out[key] = changed ? mine[key] : theirs[key];
  }
  return out as Settings;
}
