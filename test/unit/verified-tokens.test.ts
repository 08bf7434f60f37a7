import { describe, expect, it } from 'vitest';
import type { TokenVerifier } from '../../src/auth/token-verifier';
import { createTokenVerifier } from '../../src/auth/token-verifier';
import { issueToken, makeUpSecret } from '../../src/auth/tokens';
import { MAX_REUSE_MS, reusingVerifications } from '../../src/auth/verified-tokens';

const secret = makeUpSecret();
/** jose itself (no reuse), counting the tokens it is asked to check. */
function joseCounting(): { verify: TokenVerifier; calls: () => number } {
  const jose = createTokenVerifier({ secret, requireAuthForReads: false, verifiedTokenCacheSize: 0 });
  let calls = 0;
  return { verify: (authorization) => (calls++, jose(authorization)), calls: () => calls };
}
const bearer = (token: string) => `Bearer ${token}`;

describe('reusingVerifications', () => {
  it('checks a valid token once and reuses the verification while it is valid', async () => {
    const jose = joseCounting();
    const verify = reusingVerifications(jose.verify, { size: 10 });
    const token = bearer(await issueToken(secret, ['read', 'write']));
    const first = await verify(token);
    expect(first).toMatchObject({ kind: 'verified', principal: { scopes: new Set(['read', 'write']) } });
    expect(await verify(token)).toBe(first);
    expect(jose.calls()).toBe(1);
  });

  it('stops reusing a verification at the token’s exp, and then asks jose again', async () => {
    const jose = joseCounting();
    let clock = Date.now();
    const verify = reusingVerifications(jose.verify, { size: 10, now: () => clock });
    const exp = Math.floor(clock / 1000) + 30;
    const token = bearer(await issueToken(secret, ['read'], { expiresIn: exp }));
    await verify(token);
    clock = exp * 1000 - 1;
    await verify(token);
    expect(jose.calls()).toBe(1);
    clock = exp * 1000;
    await verify(token);
    expect(jose.calls()).toBe(2);
  });

  it('reuses a verification for at most a minute, however far off the token’s exp', async () => {
    const jose = joseCounting();
    let clock = Date.now();
    const verify = reusingVerifications(jose.verify, { size: 10, now: () => clock });
    const token = bearer(await issueToken(secret, ['read'], { expiresIn: '30d' }));
    await verify(token);
    clock += MAX_REUSE_MS - 1;
    await verify(token);
    clock += 1;
    await verify(token);
    expect(jose.calls()).toBe(2);
  });

  it('refuses a tampered or foreign token right after the valid one it was made from', async () => {
    const verify = reusingVerifications(joseCounting().verify, { size: 10 });
    const valid = await issueToken(secret, ['read', 'write', 'admin']);
    expect((await verify(bearer(valid))).kind).toBe('verified');
    // The same claims with one byte of the signature changed, and signed with another secret.
    const [header, payload, signature] = valid.split('.');
    const tampered = `${header}.${payload}.${signature!.startsWith('A') ? 'B' : 'A'}${signature!.slice(1)}`;
    const foreign = await issueToken(makeUpSecret(), ['read', 'write', 'admin']);
    // A payload that grants more, with the valid token's signature.
    const escalated = `${header}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), scope: 'read write admin root' })).toString('base64url')}.${signature}`;
    for (const token of [tampered, foreign, escalated]) expect(await verify(bearer(token))).toMatchObject({ kind: 'refused' });
    expect((await verify(bearer(valid))).kind).toBe('verified');
  });

  it('never keeps a refused token: each time it is sent, it is checked, and refused', async () => {
    const jose = joseCounting();
    const verify = reusingVerifications(jose.verify, { size: 10 });
    const expired = bearer(await issueToken(secret, ['read'], { expiresIn: Math.floor(Date.now() / 1000) - 60 }));
    expect(await verify(expired)).toMatchObject({ kind: 'refused', reason: 'the token has expired' });
    expect(await verify(expired)).toMatchObject({ kind: 'refused' });
    expect(jose.calls()).toBe(2);
  });

  it('keeps at most `size` tokens, dropping the least recently used', async () => {
    const jose = joseCounting();
    const verify = reusingVerifications(jose.verify, { size: 2 });
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((subject) => issueToken(secret, ['read'], { subject }).then(bearer)));
    for (const token of [a!, b!, c!, a!]) await verify(token);
    expect(jose.calls()).toBe(4);
  });

  it('with size 0, checks every token anew', async () => {
    const jose = joseCounting();
    const verify = reusingVerifications(jose.verify, { size: 0 });
    const token = bearer(await issueToken(secret, ['read']));
    await verify(token);
    await verify(token);
    expect(jose.calls()).toBe(2);
  });
});
