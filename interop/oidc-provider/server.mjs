// A third-party OpenID provider (panva/oidc-provider) playing a bank for Honnin's
// interop test: authorization code + PKCE (S256, required for every client), RFC 9207
// `iss` in authorization responses, and OpenID Connect for Identity Assurance
// `verified_claims` released for the `kyc` scope or through the `claims` parameter.
//
// usage: node server.mjs [--host 127.0.0.1] [--port 0] [--accounts FILE] [--clients FILE]
// Prints one JSON line {"issuer": "..."} on stdout once it listens.

import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    accounts: { type: 'string' },
    clients: { type: 'string' },
  },
});

// A built-in account so the server is useful on its own; the Python helper passes the
// sandbox banks' seeded customers instead (same people everywhere).
const DEFAULT_ACCOUNTS = {
  sato: {
    password: 'sandbox',
    sub: 'interop-0001',
    verified_claims: {
      verification: { trust_framework: 'jp_aml', time: '2012-04-02T10:00:00+09:00' },
      claims: {
        family_name: '佐藤',
        given_name: '花子',
        'family_name#ja-Kana-JP': 'サトウ',
        'given_name#ja-Kana-JP': 'ハナコ',
        birthdate: '1990-04-01',
      },
    },
  },
};
const DEFAULT_CLIENTS = [
  {
    client_id: 'honnin-interop',
    client_secret: 'interop-secret-0123456789',
    redirect_uris: ['http://127.0.0.1:9/callback'],
  },
];

const readJson = (path, fallback) => (path ? JSON.parse(readFileSync(path, 'utf8')) : fallback);
const accounts = readJson(args.accounts, DEFAULT_ACCOUNTS);
const accountsBySub = new Map(Object.values(accounts).map((a) => [a.sub, a]));
const clients = readJson(args.clients, DEFAULT_CLIENTS).map((client) => ({
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  ...client,
}));

function signingKeys() {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  return [
    { ...rsa, kid: `rsa-${randomBytes(4).toString('hex')}`, use: 'sig', alg: 'RS256' },
    { ...ec, kid: `ec-${randomBytes(4).toString('hex')}`, use: 'sig', alg: 'ES256' },
  ];
}

const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>`
    + `<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

function loginPage(uid, failed) {
  const error = failed ? '<p id="login-error">Wrong user name or password.</p>' : '';
  return page('Interop bank: sign in', `${error}
<form method="post" action="/interaction/${uid}/login">
  <label>User name <input type="text" id="username" name="username" required></label>
  <label>Password <input type="password" id="password" name="password" required></label>
  <button type="submit" id="login">Sign in</button>
</form>`);
}

function consentPage(uid, clientId, details) {
  const scopes = (details.missingOIDCScope || []).join(' ');
  const claims = (details.missingOIDCClaims || []).join(', ');
  return page('Interop bank: consent', `
<p>${escapeHtml(clientId)} asks for: ${escapeHtml(scopes)} ${escapeHtml(claims)}</p>
<form method="post" action="/interaction/${uid}/confirm">
  <button type="submit" id="allow" name="decision" value="allow">Allow</button>
  <button type="submit" id="deny" name="decision" value="deny">Deny</button>
</form>`);
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 16384) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function passwordMatches(expected, given) {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

function send(res, status, html) {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'x-frame-options': 'DENY',
  });
  res.end(html);
}

async function interaction(provider, req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session } = details;
  if (req.method === 'GET' && !action) {
    if (prompt.name === 'login') return send(res, 200, loginPage(uid, false));
    return send(res, 200, consentPage(uid, params.client_id, prompt.details));
  }
  if (req.method !== 'POST') return send(res, 405, page('Method not allowed', ''));
  const form = await readForm(req);
  if (action === 'login') {
    const account = accounts[form.get('username') || ''];
    if (!account || !passwordMatches(account.password, form.get('password') || '')) {
      return send(res, 401, loginPage(uid, true));
    }
    return provider.interactionFinished(req, res, { login: { accountId: account.sub } }, {
      mergeWithLastSubmission: false,
    });
  }
  if (action === 'confirm') {
    if (form.get('decision') !== 'allow') {
      return provider.interactionFinished(req, res, {
        error: 'access_denied',
        error_description: 'End-User denied the request',
      }, { mergeWithLastSubmission: false });
    }
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } }, {
      mergeWithLastSubmission: true,
    });
  }
  return send(res, 404, page('Not found', ''));
}

let provider;
let callback;
const server = createServer(async (req, res) => {
  const match = /^\/interaction\/([\w-]+)(?:\/(login|confirm))?$/.exec(req.url.split('?')[0]);
  if (!match) return callback(req, res);
  try {
    return await interaction(provider, req, res, match[1], match[2]);
  } catch (error) {
    return send(res, 400, page('Error', `<p id="error-code">${escapeHtml(error.name || 'error')}</p>`));
  }
});

server.listen(Number(args.port), args.host, () => {
  const { port } = server.address();
  const host = args.host.includes(':') ? `[${args.host}]` : args.host;
  const issuer = `http://${host}:${port}`;
  provider = new Provider(issuer, {
    clients,
    jwks: { keys: signingKeys() },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    scopes: ['openid', 'kyc'],
    claims: { openid: ['sub'], kyc: ['verified_claims'] },
    features: {
      devInteractions: { enabled: false },
      claimsParameter: { enabled: true },
    },
    pkce: { required: () => true },
    interactions: { url: (ctx, interactionObject) => `/interaction/${interactionObject.uid}` },
    async findAccount(ctx, sub) {
      const account = accountsBySub.get(sub);
      if (!account) return undefined;
      return {
        accountId: sub,
        async claims() {
          return { sub, verified_claims: account.verified_claims };
        },
      };
    },
  });
  callback = provider.callback();
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
