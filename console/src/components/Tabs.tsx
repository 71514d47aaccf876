import { useId, useRef, type KeyboardEvent, type ReactNode } from "react";

/**
 * A row of tabs and the panel of the selected one, as the WAI-ARIA tabs pattern has it: the
 * selected tab alone is in the Tab order, the arrow keys (and Home, End) move between tabs and
 * select them, and the panel is labelled by its tab.
 */
export function Tabs<K extends string>({
  label,
  tabs,
  selected,
  onSelect,
  title,
  flagged,
  children,
  numbered = false,
}: {
  label: string;
  tabs: readonly K[];
  selected: K;
  onSelect: (tab: K) => void;
  title: (tab: K) => string;
  /** Tabs drawn as holding an error (the editor's steps a failed save points into). */
  flagged?: (tab: K) => boolean;
  children: ReactNode;
  /** Steps rather than tabs: numbered, in an ordered list. */
  numbered?: boolean;
}) {
  const base = useId();
  const buttons = useRef<Partial<Record<K, HTMLButtonElement | null>>>({});
  const tabId = (k: K) => `${base}-tab-${k}`;
  const panelId = `${base}-panel`;
  const onKeyDown = (e: KeyboardEvent) => {
    const at = tabs.indexOf(selected);
    const next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 }[e.key];
    if (next === undefined) return;
    e.preventDefault();
    const tab = tabs[(next + tabs.length) % tabs.length];
    onSelect(tab);
    buttons.current[tab]?.focus();
  };
  const List = numbered ? "ol" : "div";
  const Item = numbered ? "li" : "span";
  return (
    <>
      <List className={numbered ? "stepper" : "tabs"} role="tablist" aria-label={label} onKeyDown={onKeyDown}>
        {tabs.map((k, i) => (
          <Item key={k} role="presentation">
            <button
              ref={(b) => {
                buttons.current[k] = b;
              }}
              id={tabId(k)}
              type="button"
              role="tab"
              aria-selected={k === selected}
              aria-controls={panelId}
              tabIndex={k === selected ? 0 : -1}
              className={`tab${k === selected ? " selected" : ""}${flagged?.(k) ? " has-error" : ""}`}
              onClick={() => onSelect(k)}
            >
              {numbered ? `${i + 1}. ` : ""}
              {title(k)}
            </button>
          </Item>
        ))}
      </List>
      <div role="tabpanel" id={panelId} aria-labelledby={tabId(selected)}>
        {children}
      </div>
    </>
  );
}
