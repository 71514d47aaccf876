import { createContext, useContext, useId, type ReactNode } from "react";
import { asProblem, ApiProblem } from "../api/client";
import { useT } from "../i18n";

/** The problem of the form being edited: each Field shows the message at its pointer. */
export const FormProblem = createContext<ApiProblem | null>(null);

/** What went wrong, in the words of what the user can do about it. */
export function ProblemBanner({
  problem,
  onReload,
  shownPointers = [],
}: {
  problem: unknown;
  onReload?: () => void;
  /** Pointers some field of the form already shows: not repeated in the banner. */
  shownPointers?: string[];
}) {
  const t = useT();
  if (!problem) return null;
  const p = asProblem(problem);
  let headline: string;
  switch (p.status) {
    case 0:
      headline = t("problem.unreachable");
      break;
    case 401:
      headline = t("problem.signedOut");
      break;
    case 403:
      headline = t("problem.forbidden");
      break;
    case 404:
      headline = t("problem.notFound");
      break;
    case 409:
      headline = t("problem.conflict");
      break;
    case 412:
    case 428:
      headline = t("problem.stale");
      break;
    case 422:
    case 400:
      headline = t("problem.invalid");
      break;
    default:
      headline = p.status >= 500 ? t("problem.server") : t("problem.refused");
  }
  const unplaced = p.errors.filter(
    (e) => !shownPointers.some((s) => e.path === s || e.path.startsWith(s + "/")),
  );
  return (
    <div role="alert" className="problem" data-status={p.status}>
      <strong>{headline}</strong>
      {p.detail && p.status !== 422 && <p className="detail">{p.detail}</p>}
      {unplaced.length > 0 && (
        <ul>
          {unplaced.map((e) => (
            <li key={e.path + e.message}>
              <code>{e.path || "/"}</code> {e.message}
            </li>
          ))}
        </ul>
      )}
      {(p.status === 412 || p.status === 409) && onReload && (
        <button type="button" onClick={onReload}>
          {t("action.reload")}
        </button>
      )}
    </div>
  );
}

/** A labelled form member with the API's message for its pointer beside it. */
export function Field({
  label,
  pointer,
  hint,
  children,
}: {
  label: string;
  pointer?: string;
  hint?: string;
  children: (id: string, describedBy: string | undefined) => ReactNode;
}) {
  const id = useId();
  const problem = useContext(FormProblem);
  const message = pointer ? problem?.at(pointer) : undefined;
  const describedBy = [message ? `${id}-error` : "", hint ? `${id}-hint` : ""].filter(Boolean).join(" ");
  return (
    <div className={message ? "field invalid" : "field"}>
      <label htmlFor={id}>{label}</label>
      {children(id, describedBy || undefined)}
      {hint && (
        <small id={`${id}-hint`} className="hint">
          {hint}
        </small>
      )}
      {message && (
        <small id={`${id}-error`} className="field-error" role="alert">
          {message}
        </small>
      )}
    </div>
  );
}

/** The API's message for a pointer no single input stands for (a whole action, a list). */
export function PointerMessage({ pointer }: { pointer: string }) {
  const problem = useContext(FormProblem);
  const message = problem?.errors.find((e) => e.path === pointer)?.message;
  if (!message) return null;
  return (
    <small className="field-error" role="alert">
      {message}
    </small>
  );
}

/** A name as one segment of a JSON pointer (RFC 6901: `~` as `~0`, `/` as `~1`). */
export function segment(name: string): string {
  return name.replace(/~/g, "~0").replace(/\//g, "~1");
}
