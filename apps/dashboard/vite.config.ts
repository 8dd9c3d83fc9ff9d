import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Static files the api serves at `/`. `npm run dev -w @skiff/dashboard` proxies /v1 to a local
// api on :3000, so the dev server and a built dashboard speak to the API the same way.
export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1024 },
  server: { proxy: { "/v1": "http://127.0.0.1:3000" } },
});
