/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The API the page calls when the URL has no ?api=… (default http://localhost:4000/graphql). */
  readonly VITE_API_URL?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
