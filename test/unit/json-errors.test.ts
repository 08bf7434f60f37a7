import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerError } from '../../src/http/json-errors';

/** The handler on a real Node server, behind a route that fails the way a bug of ours would. */
describe('answerError', () => {
  const logged: unknown[] = [];
  const servers: Server[] = [];
  const serve = async (production: boolean) => {
    const answer = answerError({ production, maxBodyBytes: 10, logger: { debug: () => {}, error: (obj) => void logged.push(obj) } });
    const server = createServer((_req, res) => answer(new Error('ECONNREFUSED mysql://root:secret@db:3306'), res));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  let production: string;
  let development: string;
  beforeAll(async () => {
    production = await serve(true);
    development = await serve(false);
  });
  afterAll(() => servers.forEach((s) => s.close()));

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
