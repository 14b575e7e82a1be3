// Light or dark: the system's choice (`prefers-color-scheme`, followed as
// it changes) until the user picks one, which is remembered in this
// browser. The theme in force is `data-theme` on <html>, which style.css
// reads.
import { useEffect, useState } from "react";

type Theme = "system" | "light" | "dark";
const KEY = "phobos.theme";
const dark = typeof window === "undefined" ? null : window.matchMedia("(prefers-color-scheme: dark)");

function stored(): Theme {
  const t = localStorage.getItem(KEY);
  return t === "light" || t === "dark" ? t : "system";
}

function apply(theme: Theme) {
  const shown = theme === "system" ? (dark?.matches ? "dark" : "light") : theme;
  document.documentElement.dataset.theme = shown;
}

// Before the first render, so no page is drawn in the wrong theme.
if (typeof window !== "undefined") apply(stored());

export function ThemeToggle() {
  const [theme, setTheme] = useState<Theme>(stored);
  useEffect(() => {
    if (theme === "system") localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, theme);
    apply(theme);
    if (theme !== "system" || !dark) return;
    const follow = () => apply("system");
    dark.addEventListener("change", follow);
    return () => dark.removeEventListener("change", follow);
  }, [theme]);
  const next: Theme = theme === "system" ? "dark" : theme === "dark" ? "light" : "system";
  return (
    <button type="button" onClick={() => setTheme(next)} title={`Theme: ${theme} (click for ${next})`}>
      {theme === "dark" ? "☾ Dark" : theme === "light" ? "☀ Light" : "◐ System"}
    </button>
  );
}

/** The theme in force ("light" or "dark"), following the toggle and the system. */
export function useShownTheme(): "light" | "dark" {
  const read = (): "light" | "dark" => (document.documentElement.dataset.theme === "dark" ? "dark" : "light");
  const [shown, setShown] = useState(read);
  useEffect(() => {
    const watch = new MutationObserver(() => setShown(read()));
    watch.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    return () => watch.disconnect();
  }, []);
  return shown;
}
