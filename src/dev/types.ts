/** Shared by the orchestration in `services.ts` and the modules it calls; kept apart so neither imports the other. */

export interface ServiceLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export type ServiceState = 'running' | 'started-docker' | 'started-private';
export type ServiceName = 'mysql' | 'redis';

export interface Context {
  dataDir: string;
  projectDir: string;
  logger: ServiceLogger;
  timeoutMs: number;
  searchDirs: string[];
  /** AUTO_START_SERVICES=true: start a server at any local URL, not only at the default one. */
  startAtAnyLocalUrl: boolean;
  /** Asked at most once per call, and only if some local server is missing. */
  dockerUsable: () => Promise<boolean>;
}

export interface Endpoint {
  host: string;
  port: number;
  user: string;
  password: string;
}

export interface ServiceSpec {
  name: ServiceName;
  label: string;
  envVar: string;
  /** As configured; it may hold a password, so print it only through `maskUrl`. */
  url: string;
  /** The port a URL without one means, and the only one a server is started on unasked. */
  defaultPort: number;
  endpoint: Endpoint;
  /** Answers like the application needs it to: a login for MySQL, PING for Redis. */
  isReady(ep: Endpoint): Promise<boolean>;
  /** Starts a private server; undefined when its binaries are not installed. */
  startPrivate(ep: Endpoint, ctx: Context): Promise<PrivateServer | undefined>;
}

export interface PrivateServer {
  pid: number;
  logFile: string;
  pidFile: string;
}
