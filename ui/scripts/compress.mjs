// Writes a .gz and a .br beside every text asset of the build, so the
// server sends them compressed without compressing at each request.
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const COMPRESSIBLE = /\.(html|js|mjs|css|svg|json|txt|map|wasm)$/;

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      walk(path);
    } else if (COMPRESSIBLE.test(name)) {
      const raw = readFileSync(path);
      writeFileSync(`${path}.gz`, gzipSync(raw, { level: 9 }));
      writeFileSync(
        `${path}.br`,
        brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
      );
    }
  }
}

walk(process.argv[2] ?? "dist");
