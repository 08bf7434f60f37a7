import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// `npm run example:dev` serves this page with reload; `npm run example:build` writes
// dist/ (git-ignored), plain static files that work from any path.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  server: { host: '127.0.0.1', port: 5173 },
  preview: { host: '127.0.0.1', port: 4173 },
});
