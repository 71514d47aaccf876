import { useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { asProblem, api, ApiProblem, ok, type W } from "../../api/client";
import { settingName, settingsOf, slugOf, users } from "../../api/settings";
import { Field, FormProblem, ProblemBanner } from "../../components/Problem";
import { useLoad } from "../../components/useLoad";
import { useT, type Key } from "../../i18n";

type Sample = W["Sample"];

/** A sample's definition is typed loosely (it holds ${binding} placeholders). */
function sampleModule(sample: Sample): string | undefined {
  const module = (sample.definition as { module?: unknown }).module;
  return typeof module === "string" ? module : undefined;
}

/** The catalogue of samples; choosing one asks for its bindings and a name. */
export function SampleGallery() {
  const t = useT();
  const [params] = useSearchParams();
  const module = params.get("module");
  const kind = params.get("kind");
  const catalogue = useLoad(async () => (await ok(api().workflows.GET("/samples"))).items, []);
  const [chosen, setChosen] = useState<Sample | null>(null);
  const shown = (catalogue.data ?? []).filter(
    (s) => (!module || sampleModule(s) === module) && (!kind || s.kind === kind),
  );
  return (
    <section>
      <h1>{t("samples.title")}</h1>
      <ProblemBanner problem={catalogue.problem} onReload={catalogue.reload} />
      {!catalogue.loading && shown.length === 0 && <p>{t("samples.none")}</p>}
      <ul className="cards">
        {shown.map((s) => (
          <li key={s.id} className={chosen?.id === s.id ? "card selected" : "card"}>
            <h2>{t.lang === "vi" ? s.name_vi : s.name_en}</h2>
            <p>{s.description}</p>
            <p className="muted">
              {t(`kind.${s.kind}` as Key)} · {sampleModule(s)}
            </p>
            <button type="button" onClick={() => setChosen(s)}>
              {t("samples.use")}
            </button>
          </li>
        ))}
      </ul>
      {chosen && <FromSample key={chosen.id} sample={chosen} />}
    </section>
  );
}

function FromSample({ sample }: { sample: Sample }) {
  const t = useT();
  const navigate = useNavigate();
  const [name, setName] = useState(t.lang === "vi" ? sample.name_vi : sample.name_en);
  const [bindings, setBindings] = useState<Record<string, string>>({});
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [saving, setSaving] = useState(false);
  const choices = useLoad(async () => {
    const options: Record<string, { id: string; label: string }[]> = {};
    for (const binding of sample.bindings) {
      if (binding.kind === "user") {
        options[binding.name] = (await users()).map((u) => ({ id: u.id, label: u.name || u.id }));
      } else {
        const settings = await settingsOf(slugOf(binding.kind.setting));
        options[binding.name] = settings.map((s) => ({ id: s.id, label: settingName(s) }));
      }
    }
    return options;
  }, [sample.id]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setSaving(true);
    try {
      const created = await ok(
        api().workflows.POST("/samples/{id}/workflows", {
          params: { path: { id: sample.id } },
          body: { name, bindings },
        }),
      );
      navigate(`/workflows/${encodeURIComponent(created.id)}`);
    } catch (err) {
      setProblem(asProblem(err));
    } finally {
      setSaving(false);
    }
  };

  return (
    <FormProblem.Provider value={problem}>
      <form className="panel" onSubmit={submit} aria-labelledby="sample-form-title">
        <h2 id="sample-form-title">{t("samples.fill")}</h2>
        <Field label={t("workflows.name")} pointer="/name">
          {(id, describedBy) => (
            <input id={id} aria-describedby={describedBy} value={name} onChange={(e) => setName(e.target.value)} />
          )}
        </Field>
        <ProblemBanner problem={choices.problem} />
        {sample.bindings.map((binding) => {
          const options = choices.data?.[binding.name] ?? [];
          const kind = binding.kind;
          return (
            <Field
              key={binding.name}
              label={binding.description}
              pointer={`/bindings/${binding.name}`}
              hint={options.length === 0 && !choices.loading ? t("samples.noneOfKind") : undefined}
            >
              {(id, describedBy) => (
                <>
                  <select
                    id={id}
                    aria-describedby={describedBy}
                    value={bindings[binding.name] ?? ""}
                    onChange={(e) => setBindings({ ...bindings, [binding.name]: e.target.value })}
                  >
                    <option value="">{t("choose")}</option>
                    {options.map((o) => (
                      <option key={o.id} value={o.id}>
                        {o.label}
                      </option>
                    ))}
                  </select>
                  {kind !== "user" && (
                    <Link to={`/settings/${slugOf(kind.setting)}`}>{t("samples.manage")}</Link>
                  )}
                </>
              )}
            </Field>
          );
        })}
        <ProblemBanner
          problem={problem}
          shownPointers={["/name", ...sample.bindings.map((b) => `/bindings/${b.name}`)]}
        />
        <button className="primary" type="submit" disabled={saving}>
          {t("samples.create")}
        </button>
      </form>
    </FormProblem.Provider>
  );
}
