import { useState } from "react";

/**
 * A list typed on one line, separated by commas (or by `separator`): what is typed stays as
 * typed, separators included, while the list it makes goes to `onChange`.
 */
export function ListInput({
  value,
  onChange,
  separator = /[,;]+/,
  normalise = (s) => s,
  ...input
}: {
  id: string;
  "aria-describedby": string | undefined;
  value: string[];
  onChange: (v: string[]) => void;
  separator?: RegExp;
  normalise?: (item: string) => string;
  inputMode?: "email" | "text";
}) {
  const [text, setText] = useState(value.join(", "));
  return (
    <input
      {...input}
      type="text"
      value={text}
      onChange={(e) => {
        setText(e.target.value);
        onChange(
          e.target.value
            .split(separator)
            .map((item) => normalise(item.trim()))
            .filter(Boolean),
        );
      }}
    />
  );
}
