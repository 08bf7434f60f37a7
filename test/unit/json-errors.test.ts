import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonErrorHandler, jsonNotFound } from '../../src/http/json-errors';

/** The handler on a real Express app, behind a route that fails the way a bug of ours would. */
describe('jsonErrorHandler', () => {
  const logged: unknown[] = [];
  const apps: Array<{ url: string; close(): void }> = [];
  const serve = async (production: boolean) => {
    const app = express();
    app.get('/boom', () => {
      throw new Error('ECONNREFUSED mysql://root:secret@db:3306');
    });
    app.use(jsonNotFound());
    app.use(jsonErrorHandler({ production, maxBodyBytes: 10, logger: { debug: () => {}, error: (obj) => void logged.push(obj) } }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    apps.push({ url, close: () => server.close() });
    return url;
  };
  let production: string;
  let development: string;
  beforeAll(async () => {
    production = await serve(true);
    development = await serve(false);
  });
  afterAll(() => apps.forEach((a) => a.close()));

  it('answers a fault of ours 500 INTERNAL_SERVER_ERROR as JSON, with no detail in production, and logs it in full', async () => {
    const res = await fetch(`${production}/boom`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
    expect(logged).toContainEqual(expect.objectContaining({ err: expect.objectContaining({ message: expect.stringContaining('ECONNREFUSED') }) }));
  });

  it('shows the message in development, still as JSON and without a stack', async () => {
    const res = await fetch(`${development}/boom`);
    const text = await res.text();
    expect(res.status).toBe(500);
    expect(JSON.parse(text)).toMatchObject({ errors: [{ extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
    expect(text).not.toMatch(/<html|at .*\(/);
  });
});
