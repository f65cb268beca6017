/** `@sandport/router/node`: the parts of the router that need Node (the SQLite ledger, reading files). */
export { readSandboxManifest } from "./manifest-file.ts";
export {
  defaultLedgerPath,
  openSqliteLedger,
  ownerIsAlive,
  processStartIdentity,
  SandboxLedger,
} from "./sqlite-ledger.ts";
