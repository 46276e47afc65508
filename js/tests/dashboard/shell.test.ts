import { afterEach, describe, expect, it, vi } from "vitest";
import { loginUrl, relativeToRoot, safeNext } from "../../src/dashboard/shell";
import { applyTheme, nextTheme, storedTheme } from "../../src/dashboard/theme";

describe("where login returns to", () => {
  it("only a path inside the dashboard, never another site", () => {
    expect(safeNext("requests/abc")).toBe("requests/abc");
    expect(safeNext("?status=history&risk=high")).toBe("?status=history&risk=high");
    for (const hostile of ["//evil.example", "https://evil.example/", "/absolute", "\\\\evil", "javascript:alert(1)", "a//b", "x y", null, ""]) {
      expect(safeNext(hostile)).toBe("");
    }
  });

  it("the login URL names the page to come back to, relative to the root (so a prefix is kept)", () => {
    const root = "http://host/hitl/";
    expect(relativeToRoot(root, "http://host/hitl/requests/r1")).toBe("requests/r1");
    expect(loginUrl(root, "http://host/hitl/requests/r1")).toBe("http://host/hitl/login?next=requests%2Fr1");
    expect(loginUrl(root, "http://host/hitl/")).toBe("http://host/hitl/login");
    expect(loginUrl(root, "http://elsewhere/x")).toBe("http://host/hitl/login");
  });
});

describe("the theme", () => {
  afterEach(() => {
    delete document.documentElement.dataset.theme;
    vi.restoreAllMocks();
  });

  it("cycles auto → light → dark → auto", () => {
    expect(nextTheme("auto")).toBe("light");
    expect(nextTheme("light")).toBe("dark");
    expect(nextTheme("dark")).toBe("auto");
  });

  it("reads a stored choice, and falls back to the system's for anything else", () => {
    expect(storedTheme({ getItem: () => "dark" })).toBe("dark");
    expect(storedTheme({ getItem: () => "purple" })).toBe("auto");
    expect(storedTheme({ getItem: () => null })).toBe("auto");
    expect(
      storedTheme({
        getItem: () => {
          throw new Error("denied");
        },
      }),
    ).toBe("auto");
    expect(storedTheme(null)).toBe("auto");
  });

  it("auto leaves the choice to prefers-color-scheme (no data-theme)", () => {
    const root = document.documentElement;
    applyTheme(root, "dark");
    expect(root.dataset.theme).toBe("dark");
    applyTheme(root, "auto");
    expect(root.dataset.theme).toBeUndefined();
  });
});
