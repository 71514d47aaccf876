import { useCallback, useEffect, useRef, useState } from "react";

interface Page<T> {
  items: T[];
  next_cursor?: string | null;
}

/**
 * A paged listing shown as one growing list: "more" appends the next page to what is shown;
 * `reload` reads the first page again (after a change) and starts over.
 */
export function usePages<T>(load: (cursor: string | undefined) => Promise<Page<T>>, deps: unknown[]) {
  const [items, setItems] = useState<T[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const read = useCallback(load, deps);
  // Each first page starts a generation; an answer of an older one (a "more" still on its way
  // when the list was read again) is dropped rather than mixed in.
  const generation = useRef(0);
  const fetchPage = useCallback(
    async (cursor: string | undefined) => {
      const mine = cursor ? generation.current : ++generation.current;
      setLoading(true);
      try {
        const page = await read(cursor);
        if (mine !== generation.current) return;
        setItems((shown) => (cursor ? [...shown, ...page.items] : page.items));
        setNext(page.next_cursor ?? null);
        setProblem(null);
      } catch (e) {
        if (mine === generation.current) setProblem(e);
      } finally {
        if (mine === generation.current) setLoading(false);
      }
    },
    [read],
  );
  const reload = useCallback(() => fetchPage(undefined), [fetchPage]);
  useEffect(() => {
    void reload();
  }, [reload]);
  const more = next ? () => fetchPage(next) : undefined;
  return { items, more, loading, problem, reload };
}
