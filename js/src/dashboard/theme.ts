// Light and dark: the system's preference (prefers-color-scheme) unless the person chose one
// with the toggle; the choice is kept in localStorage. The stylesheet keys on data-theme.
import { button } from "./dom";

export type ThemeChoice = "auto" | "light" | "dark";
const KEY = "hitl-dashboard-theme";
const ORDER: ThemeChoice[] = ["auto", "light", "dark"];

export function storedTheme(storage: Pick<Storage, "getItem"> | null): ThemeChoice {
  try {
    const value = storage?.getItem(KEY);
    return value === "light" || value === "dark" ? value : "auto";
  } catch {
    return "auto";
  }
}

/** The next choice of the toggle: auto → light → dark → auto. */
export function nextTheme(choice: ThemeChoice): ThemeChoice {
  return ORDER[(ORDER.indexOf(choice) + 1) % ORDER.length]!;
}

export function applyTheme(root: HTMLElement, choice: ThemeChoice): void {
  if (choice === "auto") delete root.dataset.theme;
  else root.dataset.theme = choice;
}

function storage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

/** The theme toggle button (also applies the stored choice at once). */
export function themeToggle(root: HTMLElement = document.documentElement): HTMLButtonElement {
  let choice = storedTheme(storage());
  applyTheme(root, choice);
  const toggle = button("", "dash-theme");
  const label = () => {
    toggle.textContent = `Theme: ${choice}`;
    toggle.title = "Switch between the system's theme, light and dark";
  };
  label();
  toggle.addEventListener("click", () => {
    choice = nextTheme(choice);
    applyTheme(root, choice);
    try {
      if (choice === "auto") storage()?.removeItem(KEY);
      else storage()?.setItem(KEY, choice);
    } catch {
      // private mode: the choice lasts for this page only
    }
    label();
  });
  return toggle;
}
