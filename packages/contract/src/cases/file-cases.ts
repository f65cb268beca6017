/** Cases about readFile / writeFile. */
import { expect } from "vitest";
import { decodeUtf8, randomBytes, sha256Hex } from "../bytes.ts";
import { allOf, needsFilesystem, needsShell } from "../case-conditions.ts";
import { scopedCase } from "../case-scope.ts";
import type { ContractCase } from "../contract-case.ts";
import { createContractSandbox } from "../create-contract-sandbox.ts";
import { expectSandportError } from "../expect-sandport-error.ts";

const group = "files";

/** File cases, in run order. */
export const fileCases: readonly ContractCase[] = [
  {
    id: "file-all-bytes",
    group,
    title: "round-trips all 256 byte values exactly",
    timeoutMs: 10_000,
    skipReason: needsFilesystem,
    async run(contract) {
      await using sandbox = await createContractSandbox(contract);
      const bytes = Uint8Array.from({ length: 256 }, (_, index) => index);
      await sandbox.writeFile("bytes.bin", bytes);
      const read = await sandbox.readFile("bytes.bin");
      expect(read).toBeInstanceOf(Uint8Array);
      expect(Array.from(read)).toEqual(Array.from(bytes));
    },
  },
  {
    id: "file-utf8-string",
    group,
    title: "writes a string as UTF-8",
    timeoutMs: 10_000,
    skipReason: needsFilesystem,
    async run(contract) {
      await using sandbox = await createContractSandbox(contract);
      const text = "héllo wörld ✓ 𝄞\nzweite Zeile\n";
      await sandbox.writeFile("text.txt", text);
      const read = await sandbox.readFile("text.txt");
      expect(Array.from(read)).toEqual(Array.from(new TextEncoder().encode(text)));
      expect(decodeUtf8(read)).toBe(text);
    },
  },
  {
    id: "file-large",
    group,
    title: "round-trips a 5 MiB random file",
    timeoutMs: 30_000,
    skipReason: needsFilesystem,
    async run(contract) {
      await using sandbox = await createContractSandbox(contract);
      const bytes = randomBytes(5 * 1024 * 1024);
      await sandbox.writeFile("large.bin", bytes);
      const read = await sandbox.readFile("large.bin");
      expect(read.byteLength).toBe(bytes.byteLength);
      expect(await sha256Hex(read)).toBe(await sha256Hex(bytes));
      if (contract.capabilities.runtimes.includes("shell")) {
        const size = await sandbox.exec(["sh", "-c", "wc -c < large.bin"]);
        expect(size.stdout.trim()).toBe(String(bytes.byteLength));
      }
    },
  },
  {
    id: "file-nested-directories",
    group,
    title: "creates parent directories on write, visible to commands",
    timeoutMs: 10_000,
    skipReason: needsFilesystem,
    async run(contract) {
      await using sandbox = await createContractSandbox(contract);
      await sandbox.writeFile("a/b/c/file.txt", "nested\n");
      expect(decodeUtf8(await sandbox.readFile("a/b/c/file.txt"))).toBe("nested\n");
      if (contract.capabilities.runtimes.includes("shell")) {
        const result = await sandbox.exec(["cat", "a/b/c/file.txt"]);
        expect(result).toMatchObject({ exitCode: 0, stdout: "nested\n" });
      }
    },
  },
  {
    id: "file-written-by-exec",
    group,
    title: "reads a file that a command wrote",
    timeoutMs: 10_000,
    skipReason: allOf(needsFilesystem, needsShell),
    async run(contract) {
      await using sandbox = await createContractSandbox(contract);
      expect((await sandbox.exec(["sh", "-c", "echo hi > out.txt"])).exitCode).toBe(0);
      expect(decodeUtf8(await sandbox.readFile("out.txt"))).toBe("hi\n");
    },
  },
  {
    id: "file-missing-not-found",
    group,
    title: "rejects reading a missing file with not_found",
    timeoutMs: 10_000,
    skipReason: needsFilesystem,
    async run(contract) {
      await using sandbox = await createContractSandbox(contract);
      await expectSandportError(() => sandbox.readFile("does-not-exist.txt"), "not_found");
      await expectSandportError(() => sandbox.readFile("missing-directory/file.txt"), "not_found");
    },
  },
  {
    id: "file-escape-invalid",
    group,
    title:
      "refuses writes outside the sandbox's writable area with invalid_request, and `..` never reaches the host",
    timeoutMs: 10_000,
    skipReason: needsFilesystem,
    async run(contract) {
      await using sandbox = await createContractSandbox(contract);
      // A provider confined to its workspace refuses these; one whose file area is the sandbox's
      // whole filesystem resolves them there, where nothing of that name exists.
      const outsideCodes = ["invalid_request", "not_found"] as const;
      await expectSandportError(() => sandbox.readFile("../outside"), outsideCodes);
      await expectSandportError(() => sandbox.readFile("inside/../../outside"), outsideCodes);
      await expectSandportError(() => sandbox.writeFile("../outside.txt", "escaped"), "invalid_request");
      await expectSandportError(
        () => sandbox.writeFile("/etc/sandport-contract-escape", "escaped"),
        "invalid_request",
      );
      // `..` that stays inside is an ordinary path, not an escape.
      await sandbox.writeFile("inside/../inside.txt", "inside");
      expect(decodeUtf8(await sandbox.readFile("inside.txt"))).toBe("inside");
    },
  },
  scopedCase({
    id: "file-overwrite-truncates",
    group,
    title: "overwriting a 100-byte file with 10 bytes leaves exactly those 10 bytes",
    timeoutMs: 15_000,
    skipReason: needsFilesystem,
    async run(scope) {
      const sandbox = await scope.createSandbox();
      await scope.within(
        sandbox.writeFile("overwrite.txt", "x".repeat(100)),
        "writeFile of 100 bytes",
        10_000,
      );
      await scope.within(sandbox.writeFile("overwrite.txt", "0123456789"), "writeFile of 10 bytes", 10_000);
      const read = await scope.within(sandbox.readFile("overwrite.txt"), 'readFile("overwrite.txt")', 10_000);
      expect(decodeUtf8(read)).toBe("0123456789");
      if (scope.contract.capabilities.runtimes.includes("shell")) {
        const size = await scope.within(sandbox.exec(["sh", "-c", "wc -c < overwrite.txt"]), "wc -c", 10_000);
        expect(size.stdout.trim(), "size seen by a command").toBe("10");
      }
    },
  }),
];
