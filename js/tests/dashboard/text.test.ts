import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { age, countdown, duration, hasHidden, visible, when } from "../../src/dashboard/text";
import { isPlainText } from "../../src/inputs";

interface Fixture {
  default_ignorable: [number, number][];
  other_hidden: [number, number][];
  plain: number[];
}
const fixture = JSON.parse(readFileSync(resolve(process.cwd(), "../tests/fixtures/hidden_characters.json"), "utf8")) as Fixture;
const expand = (ranges: [number, number][]): number[] =>
  ranges.flatMap(([first, last]) => Array.from({ length: last - first + 1 }, (_, i) => first + i));

describe("visible", () => {
  it("escapes every hidden character of the shared fixture and leaves plain ones", () => {
    for (const code of [...expand(fixture.default_ignorable), ...expand(fixture.other_hidden)]) {
      const ch = String.fromCodePoint(code);
      expect(hasHidden(ch), `U+${code.toString(16)}`).toBe(true);
      expect(visible(`a${ch}b`)).not.toContain(ch);
    }
    for (const code of fixture.plain) {
      const ch = String.fromCodePoint(code);
      expect(visible(ch)).toBe(ch);
    }
  });

  it("agrees with the card's own test of plain text", () => {
    for (const s of ["ok", "tab\there", "rtl \u202e override", "zero\u200bwidth", "bell\u0007", "\u00a0"]) {
      expect(hasHidden(s.replace(/[\t\n]/g, ""))).toBe(!isPlainText(s.replace(/[\t\n]/g, "")));
    }
  });

  it("writes controls and bidi overrides as escapes; keeps layout only when asked", () => {
    expect(visible("rm\u202e -rf\u001b[2J")).toBe("rm\\u202e -rf\\x1b[2J");
    expect(visible("two\nlines\tand tab")).toBe("two\\nlines\\tand tab");
    expect(visible("two\nlines", true)).toBe("two\nlines");
    expect(visible("<img src=x onerror=alert(1)>")).toBe("<img src=x onerror=alert(1)>");
    expect(visible(null)).toBe("");
  });
});

describe("times", () => {
  const now = Date.parse("2026-12-01T21:10:00Z");
  it("ages and durations", () => {
    expect(duration(42_000)).toBe("42 s");
    expect(duration(5 * 60_000)).toBe("5 min");
    expect(duration(200 * 60_000)).toBe("3 h 20 min");
    expect(duration(52 * 3600_000)).toBe("2 d 4 h");
    expect(age("2026-12-01T21:05:00Z", now)).toBe("5 min ago");
    expect(age(null, now)).toBe("");
  });

  it("countdowns to expiry", () => {
    expect(countdown("2026-12-01T21:10:30Z", now)).toBe("times out in 30 s");
    expect(countdown("2026-12-01T21:14:00Z", now)).toBe("times out in 4 min");
    expect(countdown("2026-12-01T21:00:00Z", now)).toBe("expired");
    expect(countdown(null, now)).toBe("no timeout");
  });

  it("shows times in UTC", () => {
    expect(when("2026-12-01T21:03:04.5Z")).toBe("2026-12-01 21:03:04 UTC");
    expect(when("nonsense")).toBe("");
  });
});
