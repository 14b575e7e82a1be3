// The bundle budget (issue 11): the first page loads at most 250 kB of JS
// and CSS gzipped, and all assets together are at most 1 MB gzipped.
// Reads the build in dist/ (`npm run build` makes it; `cargo xtask test`
// builds before it tests).
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";

const dist = join(__dirname, "..", "dist");
const built = existsSync(join(dist, "index.html"));

function gzipped(path: string): number {
  return gzipSync(readFileSync(path), { level: 9 }).length;
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

describe.skipIf(!built)("the bundle budget", () => {
  it("keeps the first page's JS and CSS under 250 kB gzipped", () => {
    const html = readFileSync(join(dist, "index.html"), "utf8");
    const named = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(0);
    const total = named.reduce((sum, path) => sum + gzipped(join(dist, path)), 0);
    expect(total).toBeLessThanOrEqual(250 * 1024);
  });
  it("keeps every asset together under 1 MB gzipped", () => {
    const total = files(dist)
      .filter((f) => !f.endsWith(".gz") && !f.endsWith(".br"))
      .reduce((sum, f) => sum + gzipped(f), 0);
    expect(total).toBeLessThanOrEqual(1024 * 1024);
  });
});
