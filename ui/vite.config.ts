// The UI is served by `phobos` itself: assets under /assets/ with content
// hashes in their names (cached for a year), index.html at every other
// path. `npm run dev` proxies the API to a running server.
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

const server = process.env.PHOBOS_URL ?? "http://127.0.0.1:9000";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    assetsDir: "assets",
    emptyOutDir: true,
    // No inline scripts or styles: the Content-Security-Policy allows only
    // files from the server's origin.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: {
    proxy: {
      "/graphql": { target: server, ws: true },
      "/jobs": server,
      "/healthz": server,
      "/.well-known": server,
    },
  },
});
