import { describe, expect, it } from "vitest";
import { inferLanguage, parseLanguage, resolveRuntime } from "./language.ts";
import { parseLanguageOption, parseTimeoutOption } from "./option-parsers.ts";

describe("language", () => {
  it("maps every --lang alias to its runtime, ignoring case", () => {
    expect(parseLanguage("sh")).toBe("shell");
    expect(parseLanguage("shell")).toBe("shell");
    expect(parseLanguage("py")).toBe("python");
    expect(parseLanguage("Python")).toBe("python");
    expect(parseLanguage("js")).toBe("javascript");
    expect(parseLanguage("javascript")).toBe("javascript");
    expect(parseLanguage("ts")).toBe("typescript");
    expect(parseLanguage("TypeScript")).toBe("typescript");
  });

  it("rejects an unknown language with invalid_request listing the accepted names", () => {
    expect(() => parseLanguage("cobol")).toThrow(
      expect.objectContaining({ code: "invalid_request", message: expect.stringContaining("sh, shell, py") }),
    );
  });

  it("infers the runtime from the file extension", () => {
    expect(inferLanguage("script.py")).toBe("python");
    expect(inferLanguage("dir.v2/app.js")).toBe("javascript");
    expect(inferLanguage("module.mjs")).toBe("javascript");
    expect(inferLanguage("main.ts")).toBe("typescript");
    expect(inferLanguage("build.SH")).toBe("shell");
    expect(inferLanguage("Makefile")).toBeUndefined();
    expect(inferLanguage("notes.txt")).toBeUndefined();
    expect(inferLanguage("dir.py/file")).toBeUndefined();
  });

  it("prefers --lang over the extension and falls back to shell", () => {
    expect(resolveRuntime("python", "script.js")).toBe("python");
    expect(resolveRuntime(undefined, "script.js")).toBe("javascript");
    expect(resolveRuntime(undefined, "script")).toBe("shell");
    expect(resolveRuntime(undefined, undefined)).toBe("shell");
  });
});

describe("option parsers", () => {
  it("accepts a positive whole number of milliseconds for --timeout", () => {
    expect(parseTimeoutOption("300")).toBe(300);
    expect(parseTimeoutOption("1")).toBe(1);
  });

  it.each(["0", "-5", "1.5", "abc", "", "1e3", "99999999999999999999"])("rejects --timeout %j", (value) => {
    expect(() => parseTimeoutOption(value)).toThrow(/positive whole number of milliseconds/);
  });

  it("turns an unknown --lang into a commander argument error that lists the choices", () => {
    expect(parseLanguageOption("py")).toBe("python");
    expect(() => parseLanguageOption("cobol")).toThrow(
      expect.objectContaining({
        code: "commander.invalidArgument",
        message: expect.stringContaining("typescript"),
      }),
    );
  });
});
