import { describe, expect, it } from "vitest";
import {
  addressListed,
  addressRefusal,
  hostAllowed,
  parseIpAddress,
  specialAddressKind,
  urlRefusal,
  validAllowEntry,
} from "./egress-policy.ts";

describe("egress policy", () => {
  it("parses IPv4 and IPv6 addresses, brackets, zones and embedded quads, and nothing else", () => {
    expect(parseIpAddress("127.0.0.1")).toEqual([127, 0, 0, 1]);
    expect(parseIpAddress("[::1]")).toEqual([...new Array(15).fill(0), 1]);
    expect(parseIpAddress("fe80::1%eth0")?.slice(0, 2)).toEqual([0xfe, 0x80]);
    expect(parseIpAddress("::ffff:127.0.0.1")?.slice(10)).toEqual([0xff, 0xff, 127, 0, 0, 1]);
    expect(parseIpAddress("1:2:3:4:5:6:7:8")?.[15]).toBe(8);
    for (const text of [
      "localhost",
      "1.2.3",
      "1.2.3.256",
      "01.2.3.4",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "::g",
    ]) {
      expect(parseIpAddress(text), text).toBeUndefined();
    }
  });

  it("names every special range, in IPv4, IPv6 and IPv4-mapped IPv6 forms", () => {
    const special: Record<string, string> = {
      "127.0.0.1": "loopback",
      "127.255.0.9": "loopback",
      "::1": "loopback",
      "::ffff:127.0.0.1": "loopback",
      "::ffff:7f00:1": "loopback",
      "10.1.2.3": "private",
      "172.16.0.1": "private",
      "172.31.255.255": "private",
      "192.168.1.1": "private",
      "::ffff:192.168.1.1": "private",
      "169.254.1.1": "link-local",
      "fe80::1": "link-local",
      "100.64.0.1": "shared (CGNAT)",
      "fd12::1": "private (unique local)",
      "fc00::1": "private (unique local)",
      "0.0.0.0": "unspecified",
      "::": "unspecified",
      "224.0.0.1": "multicast",
      "ff02::1": "multicast",
      "255.255.255.255": "reserved or broadcast",
      "169.254.169.254": "cloud metadata",
      "::ffff:169.254.169.254": "cloud metadata",
      "fd00:ec2::254": "cloud metadata",
      "64:ff9b::10.0.0.1": "private",
      "2002:7f00:1::": "loopback",
    };
    for (const [address, kind] of Object.entries(special))
      expect(specialAddressKind(address), address).toBe(kind);
    for (const address of ["8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"]) {
      expect(specialAddressKind(address), address).toBeUndefined();
    }
  });

  it("opens a special address only through an address or range entry that holds it", () => {
    expect(addressRefusal("localhost", "127.0.0.1", ["localhost"])).toBe(
      'sandport: network access to localhost is not allowed: it resolves to 127.0.0.1, a loopback address, which only an address or range in the allowlist (e.g. "127.0.0.1") opens',
    );
    expect(addressRefusal("localhost", "127.0.0.1", ["localhost", "127.0.0.1"])).toBeUndefined();
    expect(addressRefusal("db.internal", "10.2.3.4", ["db.internal", "10.0.0.0/8"])).toBeUndefined();
    expect(addressRefusal("db.internal", "10.2.3.4", ["db.internal", "10.3.0.0/16"])).toContain("private");
    // An IPv4 entry also holds the IPv4-mapped IPv6 form of its address.
    expect(addressListed("::ffff:127.0.0.1", ["127.0.0.1"])).toBe(true);
    expect(addressRefusal("example.com", "93.184.215.14", ["example.com"])).toBeUndefined();
  });

  it("lets code ask for names, wildcards and listed addresses only", () => {
    expect(hostAllowed("api.example.com", ["api.example.com"])).toBe(true);
    expect(hostAllowed("API.Example.com.", ["api.example.com"])).toBe(true);
    expect(hostAllowed("a.example.org", ["*.example.org"])).toBe(true);
    expect(hostAllowed("example.org", ["*.example.org"])).toBe(false);
    expect(hostAllowed("allowed.example.evil.example", ["allowed.example"])).toBe(false);
    expect(hostAllowed("127.0.0.1", ["localhost"])).toBe(false);
    expect(hostAllowed("127.0.0.1", ["127.0.0.0/8"])).toBe(true);
    expect(hostAllowed("[::1]", ["::1"])).toBe(true);
    expect(hostAllowed("[::ffff:7f00:1]", ["127.0.0.1"])).toBe(true);
  });

  it("opens an entry's own port, and only 80 and 443 for an entry without one", () => {
    expect(urlRefusal(new URL("https://api.example.com/"), ["api.example.com"])).toBeUndefined();
    expect(urlRefusal(new URL("http://api.example.com/"), ["api.example.com"])).toBeUndefined();
    expect(urlRefusal(new URL("http://api.example.com:8080/"), ["api.example.com"])).toContain(
      'port 8080 is not allowed; an entry without a port opens ports 80 and 443 only (add "api.example.com:8080"',
    );
    expect(urlRefusal(new URL("http://api.example.com:8080/"), ["api.example.com:8080"])).toBeUndefined();
    expect(urlRefusal(new URL("https://api.example.com/"), ["api.example.com:8080"])).toContain("port 443");
    expect(urlRefusal(new URL("http://a.example.org:9000/"), ["*.example.org:9000"])).toBeUndefined();
    expect(urlRefusal(new URL("http://127.0.0.1:5432/"), ["127.0.0.1"])).toContain("port 5432");
    expect(urlRefusal(new URL("http://127.0.0.1:5432/"), ["127.0.0.0/8:5432"])).toBeUndefined();
    expect(urlRefusal(new URL("http://[::1]:8080/"), ["[::1]:8080"])).toBeUndefined();
    expect(urlRefusal(new URL("http://[::1]:8081/"), ["[::1]:8080"])).toContain("port 8081");
    expect(urlRefusal(new URL("http://[fd00::5]:8080/"), ["[fd00::]/8:8080"])).toBeUndefined();
    expect(urlRefusal(new URL("ftp://api.example.com/"), ["api.example.com:21"])).toContain("not allowed");
    // The resolved address is checked for the port too.
    expect(addressRefusal("db.test", "127.0.0.1", ["db.test:5432", "127.0.0.1:5432"], 5432)).toBeUndefined();
    expect(addressRefusal("db.test", "127.0.0.1", ["db.test:5432", "127.0.0.1:5432"], 6379)).toContain(
      "loopback",
    );
    expect(addressRefusal("db.test", "127.0.0.1", ["db.test", "127.0.0.1"], 22)).toContain("loopback");
  });

  it("accepts entries with a port and refuses malformed ones", () => {
    for (const entry of [
      "example.com:8080",
      "*.example.com:1",
      "127.0.0.1:65535",
      "10.0.0.0/8:443",
      "[::1]",
      "[::1]:8080",
      "[fd00::]/8:80",
    ]) {
      expect(validAllowEntry(entry), entry).toBe(true);
    }
    for (const entry of [
      "example.com:0",
      "example.com:65536",
      "example.com:",
      "[::1]:x",
      "[example.com]:80",
      "::1:80:",
      "a:b:c",
      "[::1",
    ]) {
      expect(validAllowEntry(entry), entry).toBe(false);
    }
  });

  it("accepts names, wildcards, addresses and ranges as entries", () => {
    for (const entry of ["example.com", "*.example.com", "127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8"]) {
      expect(validAllowEntry(entry), entry).toBe(true);
    }
    for (const entry of ["exa mple.com", "10.0.0.0/33", "::1/129", "http://example.com", "*", "a..b"]) {
      expect(validAllowEntry(entry), entry).toBe(false);
    }
  });
});
