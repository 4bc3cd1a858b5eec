// Shared plumbing for the interoperability scripts: one JSON object in on
// stdin, one JSON object out on stdout, and an offline document loader.
//
// The loader serves exactly three kinds of URL and throws for everything
// else, so no script ever reaches the network:
//   1. the pinned JSON-LD contexts passed in `contexts` ({url: document});
//   2. documents passed in `documents` ({url: document}): did:web DID
//      documents, https controller documents, status list credentials; a URL
//      with a fragment whose base is one of them resolves to the verification
//      method with that id, carrying the document's `@context`;
//   3. did:key DIDs and DID URLs, resolved by Digital Bazaar's did:key driver
//      with the Ed25519 Multikey handler (never from the payload);
//   4. URLs under an origin mapped in `origins` ({"https://issuer.example":
//      "http://127.0.0.1:PORT"}): fetched over HTTP from that loopback server
//      (a live issuer app, or a static copy), the only network access, and
//      only to 127.0.0.1.
// jsonld-signatures wraps every loader it is given with its own bundled copies
// of https://w3id.org/security/v1 and /v2 (no network either); they are used
// to frame a controller document whose first context is not the DID v1
// context.
import {CachedResolver} from '@digitalbazaar/did-io';
import * as didKey from '@digitalbazaar/did-method-key';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';

export async function readPayload() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let payload;
  try {
    payload = JSON.parse(text);
  } catch(e) {
    throw new HarnessError(`stdin is not one JSON object: ${e.message}`);
  }
  if(!isPlainObject(payload)) {
    throw new HarnessError('stdin must hold one JSON object');
  }
  return payload;
}

export class HarnessError extends Error {}

// Runs `main(payload)` and writes its result; exit code 0 when the script ran,
// 2 (with a message on stderr) for a malformed payload or a harness bug.
export async function runScript(main) {
  try {
    const payload = await readPayload();
    const result = await main(payload);
    await new Promise((resolve, reject) => process.stdout.write(
      JSON.stringify(result) + '\n', err => err ? reject(err) : resolve()));
    process.exitCode = 0;
  } catch(e) {
    process.stderr.write(
      `${e instanceof HarnessError ? 'bad payload' : 'harness error'}: ` +
      `${e && e.stack || e}\n`);
    process.exitCode = 2;
  }
}

export function isPlainObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function requireObject(payload, name, {optional = false} = {}) {
  const value = payload[name];
  if(value === undefined && optional) {
    return {};
  }
  if(!isPlainObject(value)) {
    throw new HarnessError(`"${name}" must be an object`);
  }
  return value;
}

export function requireArray(payload, name) {
  const value = payload[name];
  if(!Array.isArray(value)) {
    throw new HarnessError(`"${name}" must be an array`);
  }
  return value;
}

// jsonld.js safe-mode errors carry the event that stopped processing
// (e.g. "invalid property" with the dropped property name).
function jsonldEventDetail(e) {
  const event = e.details && e.details.event;
  if(!isPlainObject(event)) {
    return '';
  }
  const what = isPlainObject(event.details) ?
    ' ' + JSON.stringify(event.details) : '';
  return ` [${event.code || 'event'}: ${event.message || ''}${what}]`;
}

// A readable one-line account of an error, including the nested errors that
// jsonld-signatures collects in `errors` and the `cause` chain.
export function describeError(error) {
  if(error === null || error === undefined) {
    return null;
  }
  const parts = [];
  const seen = new Set();
  const visit = (e, root = false) => {
    if(e === null || e === undefined || seen.has(e)) {
      return;
    }
    seen.add(e);
    if(typeof e !== 'object') {
      parts.push(String(e));
      return;
    }
    // a `cause` may be plain data (jose puts the claims there): skip it
    if(!root && !(e instanceof Error) && typeof e.message !== 'string') {
      return;
    }
    const nested = Array.isArray(e.errors) ? e.errors : [];
    const message = e.message || e.name || String(e);
    if(!(nested.length && /^Verification error\(s\)\.?$/.test(message))) {
      parts.push(message + jsonldEventDetail(e));
    }
    nested.forEach(visit);
    visit(e.cause);
    // jsonld.js wraps document loader failures in `details.cause`
    if(e.details && typeof e.details === 'object') {
      visit(e.details.cause);
    }
  };
  visit(error, true);
  return parts.join('; ') || String(error);
}

function didKeyResolver() {
  const driver = didKey.driver();
  driver.use({
    multibaseMultikeyHeader: 'z6Mk',
    fromMultibase: Ed25519Multikey.from
  });
  const resolver = new CachedResolver();
  resolver.use(driver);
  return resolver;
}

function findVerificationMethod(document, url) {
  // ids must be absolute (relative DID URLs are not resolved)
  const matches = candidate => candidate === url;
  const relations = [
    'verificationMethod', 'assertionMethod', 'authentication',
    'capabilityInvocation', 'capabilityDelegation', 'keyAgreement'
  ];
  for(const relation of relations) {
    const values = document[relation];
    for(const value of Array.isArray(values) ? values : [values]) {
      if(isPlainObject(value) && matches(value.id)) {
        return value;
      }
    }
  }
  return null;
}

// The loopback URL a mapped origin serves `url` from, or null.
export function loopbackFor(origins, url) {
  for(const [origin, base] of Object.entries(origins || {})) {
    if(typeof url === 'string' && url.startsWith(origin + '/') &&
      /^http:\/\/127\.0\.0\.1:\d+$/.test(base)) {
      return base + url.slice(origin.length);
    }
  }
  return null;
}

export function makeDocumentLoader(
  {contexts = {}, documents = {}, origins = {}} = {}) {
  const resolver = didKeyResolver();
  const loaded = url => ({contextUrl: null, documentUrl: url, document: null});
  return async function documentLoader(url) {
    if(typeof url !== 'string') {
      throw new Error(`document loader: URL must be a string, got ${url}`);
    }
    if(Object.hasOwn(contexts, url)) {
      return {...loaded(url), document: structuredClone(contexts[url])};
    }
    if(url.startsWith('did:key:')) {
      const document = await resolver.get({url});
      return {...loaded(url), document: structuredClone(document)};
    }
    if(Object.hasOwn(documents, url)) {
      return {...loaded(url), document: structuredClone(documents[url])};
    }
    const loopback = loopbackFor(origins, url);
    if(loopback !== null) {
      const response = await fetch(loopback, {
        headers: {accept: 'application/vc+ld+json, application/json'},
        redirect: 'error'
      });
      if(!response.ok) {
        throw new Error(
          `document loader: ${loopback} answered HTTP ${response.status}`);
      }
      return {...loaded(url), document: await response.json()};
    }
    const hash = url.indexOf('#');
    if(hash > 0) {
      const baseUrl = url.slice(0, hash);
      if(Object.hasOwn(documents, baseUrl)) {
        const document = documents[baseUrl];
        const method = findVerificationMethod(document, url);
        if(!method) {
          throw new Error(
            `document loader: "${url}" is not a verification method of the ` +
            `document given for "${baseUrl}"`);
        }
        const resolved = structuredClone(method);
        if(resolved['@context'] === undefined &&
          document['@context'] !== undefined) {
          resolved['@context'] = structuredClone(document['@context']);
        }
        return {...loaded(url), document: resolved};
      }
    }
    throw new Error(
      `document loader refuses "${url}": not a pinned context, not a ` +
      'document given in the payload and not a did:key');
  };
}
