import { describe, expectTypeOf, it } from "vitest";
import {
  type CallOptions,
  type Command,
  type CreateSandboxRequest,
  type ExecOptions,
  type ExecResult,
  type ExposedPort,
  type FileInfo,
  type ListFilesOptions,
  type ListFilter,
  type MakeDirectoryOptions,
  type ProviderCapabilities,
  type RemoveFileOptions,
  type RunCodeOptions,
  type Runtime,
  type Sandbox,
  type SandboxInfo,
  type SandboxProcess,
  type SandboxProvider,
  type SandportError,
  type SandportErrorCode,
  type SpawnOptions,
  type SpecificationVersion,
  specificationVersion,
} from "./index.ts";

describe("specification types", () => {
  it("pins the specification version to the literal sandport.v1", () => {
    expectTypeOf<typeof specificationVersion>().toEqualTypeOf<"sandport.v1">();
    expectTypeOf<SpecificationVersion>().toEqualTypeOf<"sandport.v1">();
    expectTypeOf<SandboxProvider["specificationVersion"]>().toEqualTypeOf<"sandport.v1">();
  });

  it("keeps the literal version type when the constant is copied into a provider object", () => {
    // Adapters build `{ specificationVersion, ... }` without annotations; a widening literal would become string.
    const provider = { specificationVersion };
    expectTypeOf(provider.specificationVersion).toEqualTypeOf<"sandport.v1">();
    expectTypeOf(specificationVersion).toEqualTypeOf<"sandport.v1">();
  });

  it("gives SandboxProvider its identity, capabilities, create and connect", () => {
    expectTypeOf<SandboxProvider["providerId"]>().toEqualTypeOf<string>();
    expectTypeOf<SandboxProvider["capabilities"]>().toEqualTypeOf<ProviderCapabilities>();
    expectTypeOf<SandboxProvider["create"]>().toEqualTypeOf<
      (request: CreateSandboxRequest, options?: CallOptions) => Promise<Sandbox>
    >();
    expectTypeOf<SandboxProvider["connect"]>().toEqualTypeOf<
      (sandboxId: string, options?: CallOptions) => Promise<Sandbox>
    >();
  });

  it("keeps list optional on SandboxProvider and returns an async iterable of SandboxInfo", () => {
    expectTypeOf<SandboxProvider>().toHaveProperty("list");
    expectTypeOf<undefined>().toExtend<SandboxProvider["list"]>();
    expectTypeOf<NonNullable<SandboxProvider["list"]>>().toEqualTypeOf<
      (filter?: ListFilter, options?: CallOptions) => AsyncIterable<SandboxInfo>
    >();
  });

  it("marks SandboxProvider members readonly where the spec says so", () => {
    expectTypeOf<Pick<SandboxProvider, "providerId">>().toEqualTypeOf<{ readonly providerId: string }>();
  });

  it("makes Sandbox AsyncDisposable with the required members", () => {
    expectTypeOf<Sandbox>().toExtend<AsyncDisposable>();
    expectTypeOf<Sandbox["id"]>().toEqualTypeOf<string>();
    expectTypeOf<Sandbox["exec"]>().toEqualTypeOf<
      (command: Command, options?: ExecOptions) => Promise<ExecResult>
    >();
    expectTypeOf<Sandbox["readFile"]>().toEqualTypeOf<
      (path: string, options?: CallOptions) => Promise<Uint8Array>
    >();
    expectTypeOf<Sandbox["writeFile"]>().toEqualTypeOf<
      (path: string, data: Uint8Array | string, options?: CallOptions) => Promise<void>
    >();
    expectTypeOf<Sandbox["destroy"]>().toEqualTypeOf<(options?: CallOptions) => Promise<void>>();
  });

  it("requires the file calls beyond read and write on every Sandbox", () => {
    expectTypeOf<Sandbox["listFiles"]>().toEqualTypeOf<
      (path: string, options?: ListFilesOptions) => Promise<FileInfo[]>
    >();
    expectTypeOf<Sandbox["statFile"]>().toEqualTypeOf<
      (path: string, options?: CallOptions) => Promise<FileInfo>
    >();
    expectTypeOf<Sandbox["makeDirectory"]>().toEqualTypeOf<
      (path: string, options?: MakeDirectoryOptions) => Promise<void>
    >();
    expectTypeOf<Sandbox["removeFile"]>().toEqualTypeOf<
      (path: string, options?: RemoveFileOptions) => Promise<void>
    >();
    expectTypeOf<Sandbox["renameFile"]>().toEqualTypeOf<
      (from: string, to: string, options?: CallOptions) => Promise<void>
    >();
    expectTypeOf<FileInfo["type"]>().toEqualTypeOf<"file" | "directory" | "symlink" | "other">();
  });

  it("keeps exposePort and the provider's dispose optional", () => {
    expectTypeOf<undefined>().toExtend<Sandbox["exposePort"]>();
    expectTypeOf<NonNullable<Sandbox["exposePort"]>>().toEqualTypeOf<
      (port: number, options?: CallOptions) => Promise<ExposedPort>
    >();
    expectTypeOf<undefined>().toExtend<SandboxProvider["dispose"]>();
    expectTypeOf<NonNullable<SandboxProvider["dispose"]>>().toEqualTypeOf<() => Promise<void>>();
  });

  it("keeps runCode and spawn optional on Sandbox", () => {
    expectTypeOf<undefined>().toExtend<Sandbox["runCode"]>();
    expectTypeOf<undefined>().toExtend<Sandbox["spawn"]>();
    expectTypeOf<NonNullable<Sandbox["runCode"]>>().toEqualTypeOf<
      (code: string, options: RunCodeOptions) => Promise<ExecResult>
    >();
    expectTypeOf<NonNullable<Sandbox["spawn"]>>().toEqualTypeOf<
      (command: Command, options?: SpawnOptions) => Promise<SandboxProcess>
    >();
  });

  it("accepts a readonly argv array or a shell object as a Command, and nothing else", () => {
    const argv: readonly string[] = ["ls", "-la"];
    expectTypeOf(argv).toExtend<Command>();
    expectTypeOf<string[]>().toExtend<Command>();
    expectTypeOf<{ shell: string }>().toExtend<Command>();
    expectTypeOf<string>().not.toExtend<Command>();
    expectTypeOf<number[]>().not.toExtend<Command>();
    expectTypeOf<{ argv: string[] }>().not.toExtend<Command>();
  });

  it("gives ExecResult exactly its documented fields", () => {
    expectTypeOf<ExecResult>().toEqualTypeOf<{
      exitCode: number;
      stdout: string;
      stderr: string;
      output?: string;
      stdoutBytes?: Uint8Array;
      stderrBytes?: Uint8Array;
      truncated: boolean;
      timedOut: boolean;
      durationMs: number;
      value?: unknown;
    }>();
  });

  it("keeps ExecOptions streaming callbacks out of SpawnOptions", () => {
    expectTypeOf<ExecOptions>().toHaveProperty("onStdout");
    expectTypeOf<SpawnOptions>().not.toHaveProperty("onStdout");
    expectTypeOf<SpawnOptions>().not.toHaveProperty("onStderr");
    expectTypeOf<SpawnOptions>().toHaveProperty("timeoutMs");
  });

  it("limits Runtime to shell, python, javascript and typescript", () => {
    expectTypeOf<Runtime>().toEqualTypeOf<"shell" | "python" | "javascript" | "typescript">();
    expectTypeOf<RunCodeOptions["language"]>().toEqualTypeOf<Runtime>();
  });

  it("lists every stable error code in SandportErrorCode", () => {
    expectTypeOf<SandportErrorCode>().toEqualTypeOf<
      | "invalid_request"
      | "config_invalid"
      | "unsupported_capability"
      | "authentication"
      | "permission_denied"
      | "not_found"
      | "rate_limited"
      | "quota_exceeded"
      | "timeout"
      | "provider_unavailable"
      | "sandbox_failed"
      | "output_limit"
      | "policy_denied"
      | "no_eligible_provider"
      | "aborted"
    >();
    expectTypeOf<SandportError["code"]>().toEqualTypeOf<SandportErrorCode>();
  });

  it("types the request's network egress as none, open or an allowlist", () => {
    expectTypeOf<NonNullable<CreateSandboxRequest["network"]>["egress"]>().toEqualTypeOf<
      "none" | "open" | { allow: readonly string[] }
    >();
  });
});
