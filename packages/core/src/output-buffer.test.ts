import { describe, expect, it } from "vitest";
import { defaultMaxOutputBytes, OutputBuffer } from "./output-buffer.ts";

const encoder = new TextEncoder();
const bytes = (text: string) => encoder.encode(text);
const decode = (data: Uint8Array) => new TextDecoder().decode(data);

describe("OutputBuffer", () => {
  it("defaults to 16 MiB", () => {
    expect(defaultMaxOutputBytes).toBe(16 * 1024 * 1024);
    expect(new OutputBuffer().maxBytes).toBe(defaultMaxOutputBytes);
  });

  it("keeps everything below the limit, in order, without setting truncated", () => {
    const buffer = new OutputBuffer(100);
    buffer.append(bytes("hello "));
    buffer.append(bytes("world"));
    expect(buffer.text()).toBe("hello world");
    expect(buffer.size).toBe(11);
    expect(buffer.truncated).toBe(false);
  });

  it("keeps exactly maxBytes when the output fits exactly, without setting truncated", () => {
    const buffer = new OutputBuffer(5);
    buffer.append(bytes("abcde"));
    expect(buffer.text()).toBe("abcde");
    expect(buffer.truncated).toBe(false);
  });

  it("keeps at most maxBytes across chunks and sets truncated", () => {
    const buffer = new OutputBuffer(8);
    buffer.append(bytes("12345"));
    buffer.append(bytes("67890"));
    buffer.append(bytes("abc"));
    expect(buffer.size).toBe(8);
    expect(decode(buffer.bytes())).toBe("12345678");
    expect(buffer.text()).toBe("12345678");
    expect(buffer.truncated).toBe(true);
  });

  it("returns from append the part that was kept, for streaming callbacks", () => {
    const buffer = new OutputBuffer(8);
    expect(decode(buffer.append(bytes("12345")))).toBe("12345");
    expect(decode(buffer.append(bytes("67890")))).toBe("678");
    expect(buffer.append(bytes("more")).byteLength).toBe(0);
  });

  it("does not mark an empty chunk at the limit as truncation", () => {
    const buffer = new OutputBuffer(3);
    buffer.append(bytes("abc"));
    buffer.append(new Uint8Array(0));
    expect(buffer.truncated).toBe(false);
  });

  it("with maxBytes 0 keeps nothing and reports truncation once output arrives", () => {
    const buffer = new OutputBuffer(0);
    expect(buffer.truncated).toBe(false);
    expect(buffer.append(bytes("x")).byteLength).toBe(0);
    expect(buffer.size).toBe(0);
    expect(buffer.bytes().byteLength).toBe(0);
    expect(buffer.text()).toBe("");
    expect(buffer.truncated).toBe(true);
  });

  it("returns empty text when nothing was appended", () => {
    const buffer = new OutputBuffer(10);
    expect(buffer.text()).toBe("");
    expect(buffer.bytes().byteLength).toBe(0);
  });

  describe("text() after truncation inside a multi-byte character", () => {
    // "é" is 2 bytes, "€" is 3, "😀" is 4. Cut each after every possible partial length.
    const cases = [
      ["é", 2],
      ["€", 3],
      ["😀", 4],
    ] as const;
    for (const [character, width] of cases) {
      for (let partial = 1; partial < width; partial++) {
        it(`drops a ${width}-byte character cut after ${partial} byte(s) instead of mangling it`, () => {
          const buffer = new OutputBuffer(2 + partial);
          buffer.append(bytes(`ab${character}z`));
          expect(buffer.truncated).toBe(true);
          expect(buffer.size).toBe(2 + partial);
          const text = buffer.text();
          expect(text).toBe("ab");
          expect(text).not.toContain("\uFFFD");
        });
      }

      it(`keeps a ${width}-byte character that fits exactly before the cut`, () => {
        const buffer = new OutputBuffer(2 + width);
        buffer.append(bytes(`ab${character}z`));
        expect(buffer.truncated).toBe(true);
        expect(buffer.text()).toBe(`ab${character}`);
      });
    }

    it("drops a character whose bytes were split across chunks and then cut", () => {
      const encoded = bytes("x😀y");
      const buffer = new OutputBuffer(4);
      buffer.append(encoded.subarray(0, 2));
      buffer.append(encoded.subarray(2));
      expect(buffer.truncated).toBe(true);
      expect(buffer.text()).toBe("x");
    });

    it("keeps a character split across chunks when nothing was cut", () => {
      const encoded = bytes("x😀y");
      const buffer = new OutputBuffer(100);
      buffer.append(encoded.subarray(0, 3));
      buffer.append(encoded.subarray(3));
      expect(buffer.text()).toBe("x😀y");
    });

    it("keeps text made only of multi-byte characters up to the last complete one", () => {
      const buffer = new OutputBuffer(10);
      buffer.append(bytes("€€€€"));
      expect(buffer.text()).toBe("€€€");
    });
  });

  it("passes the kept text on as it arrives, whole characters only, and the rest at finish", () => {
    const seen: string[] = [];
    const buffer = new OutputBuffer(100, (text) => seen.push(text));
    const euro = new TextEncoder().encode("a€"); // "€" is three bytes
    buffer.append(euro.subarray(0, 2));
    buffer.append(euro.subarray(2));
    expect(seen).toEqual(["a", "€"]);
    buffer.append(new Uint8Array([0xe2]));
    buffer.finish();
    expect(seen).toEqual(["a", "€", "\ufffd"]);
  });

  it("passes on only what fits under the cap and nothing at finish once truncated", () => {
    const seen: string[] = [];
    const buffer = new OutputBuffer(3, (text) => seen.push(text));
    buffer.append(new TextEncoder().encode("abcdef"));
    buffer.finish();
    expect(seen).toEqual(["abc"]);
    expect(buffer.truncated).toBe(true);
  });
});
