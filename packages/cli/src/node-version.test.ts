import { describe, expect, it } from "vitest";
import { unsupportedNodeVersionMessage } from "./node-version.ts";

describe("unsupportedNodeVersionMessage", () => {
  it("accepts Node 22.12 and newer", () => {
    for (const version of ["22.12.0", "22.20.1", "23.0.0", "24.21.0", "30.1.2"]) {
      expect(unsupportedNodeVersionMessage(version), version).toBeUndefined();
    }
  });

  it("explains what is needed on an older Node, naming the running version and executable", () => {
    for (const version of ["22.11.0", "20.20.2", "18.0.0"]) {
      const message = unsupportedNodeVersionMessage(version, "/usr/bin/node");
      expect(message).toContain("needs Node >= 22.12");
      expect(message).toContain(`running ${version} at /usr/bin/node`);
    }
  });
});
