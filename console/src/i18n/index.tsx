import { createContext, useContext, useMemo, useState, type ReactNode } from "react";
import { en } from "./en";
import { vi } from "./vi";

export type Key = keyof typeof vi;
export type Lang = "vi" | "en";
export interface Translate {
  (key: Key): string;
  lang: Lang;
  locale: string;
}

const LangContext = createContext<{ t: Translate; setLang: (l: Lang) => void } | null>(null);
const KEY = "crm-console.lang";

function translator(lang: Lang): Translate {
  const words: Record<Key, string> = lang === "en" ? en : vi;
  const t = ((key: Key) => words[key] ?? key) as Translate;
  t.lang = lang;
  t.locale = lang === "en" ? "en-GB" : "vi-VN";
  return t;
}

/** Vietnamese first; the English switch is remembered in this browser. */
export function LanguageProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(() => (localStorage.getItem(KEY) === "en" ? "en" : "vi"));
  const value = useMemo(() => {
    document.documentElement.lang = lang;
    return {
      t: translator(lang),
      setLang: (l: Lang) => {
        localStorage.setItem(KEY, l);
        setLangState(l);
      },
    };
  }, [lang]);
  return <LangContext.Provider value={value}>{children}</LangContext.Provider>;
}

export function useT(): Translate {
  const context = useContext(LangContext);
  return context ? context.t : translator("vi");
}

export function useLanguage() {
  const context = useContext(LangContext);
  if (!context) throw new Error("useLanguage outside LanguageProvider");
  return context;
}
