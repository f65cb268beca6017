/**
 * What both Cloudflare providers require of the URL and bearer token of the service they call (the
 * isolate Worker, the sandbox bridge), so the token stays confidential: it travels only over https
 * (or plain http to this machine), and only as a header.
 */

const loopbackHosts = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** https, or http to this machine only. */
export function isSafeEndpointUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return url.protocol === "https:" || (url.protocol === "http:" && loopbackHosts.has(url.hostname));
}

/**
 * Visible ASCII only: anything else would make `Headers` throw a TypeError that quotes the value,
 * putting the token into an error message.
 */
export function isHeaderSafeToken(token: string): boolean {
  return /^[\x21-\x7e]+$/.test(token);
}
