// A wallet receiving a credential over OpenID4VCI 1.0 (pre-authorized code
// flow) with the OpenWallet Foundation's @openid4vc/openid4vci client
// (Openid4vciVersion.V1), against our app served on loopback.
//
// stdin:  {offer_uri, tx_code?: string|null, configuration_id,
//          key: "ed25519-did-key" | "ed25519-jwk" | "p256-did-key" | "p256-jwk",
//          origins: {"https://issuer.example": "http://127.0.0.1:PORT"}}
//         `origins` maps the credential issuer identifier (https, as the
//         metadata names it) to the loopback server: the client's fetch is
//         sent there, the only network access; every URL the client sees
//         and checks stays the https one.
// stdout: {ok: true, version, did, offer, metadata, token, credentials}
//      or {ok: false, stage, error, status, description}
//         `did` is the wallet's DID the key proof binds: did:key for a
//         did:key kid (Ed25519 or P-256), did:jwk for a jwk header.
import * as jose from 'jose';
import {clientAuthenticationAnonymous} from '@openid4vc/oauth2';
import {Openid4vciClient, Openid4vciVersion} from '@openid4vc/openid4vci';
import {HarnessError, loopbackFor, requireObject, runScript} from './common.mjs';
import {createHash, randomBytes} from 'node:crypto';

function rewritingFetch(origins) {
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input.url;
    const target = loopbackFor(origins, url);
    if(target === null) {
      throw new Error(`the wallet may only reach the issuer, not ${url}`);
    }
    return fetch(target, init);
  };
}

async function walletKey(kind) {
  if(kind === 'p256-jwk') {
    const {publicKey, privateKey} = await jose.generateKeyPair(
      'ES256', {extractable: true});
    const jwk = await jose.exportJWK(publicKey);
    return {alg: 'ES256', privateKey, header: {jwk}, did: didJwk(jwk)};
  }
  if(kind === 'p256-did-key') {
    // did:key of a P-256 key: multicodec p256-pub (0x1200) and the SEC 1
    // compressed point (02 or 03 by the parity of y, then x).
    const {publicKey, privateKey} = await jose.generateKeyPair(
      'ES256', {extractable: true});
    const jwk = await jose.exportJWK(publicKey);
    const y = Buffer.from(jwk.y, 'base64url');
    const point = Buffer.concat([
      Buffer.from([0x02 + (y[y.length - 1] & 1)]), Buffer.from(jwk.x, 'base64url')]);
    const multibase = 'z' + base58btc(Buffer.concat([Buffer.from([0x80, 0x24]), point]));
    const did = `did:key:${multibase}`;
    return {alg: 'ES256', privateKey, header: {kid: `${did}#${multibase}`}, did};
  }
  const {publicKey, privateKey} = await jose.generateKeyPair(
    'EdDSA', {crv: 'Ed25519', extractable: true});
  const jwk = await jose.exportJWK(publicKey);
  if(kind === 'ed25519-jwk') {
    return {alg: 'EdDSA', privateKey, header: {jwk}, did: didJwk(jwk)};
  }
  if(kind !== 'ed25519-did-key') {
    throw new HarnessError(`unknown key kind ${kind}`);
  }
  const raw = Buffer.from(jwk.x, 'base64url');
  const multibase = 'z' + base58btc(Buffer.concat([Buffer.from([0xed, 0x01]), raw]));
  const did = `did:key:${multibase}`;
  return {alg: 'EdDSA', privateKey, header: {kid: `${did}#${multibase}`}, did};
}

// did:jwk as our issuer derives it: the public members, sorted, no spaces.
function didJwk(jwk) {
  const members = Object.fromEntries(
    ['crv', 'kty', 'x', 'y'].filter(k => jwk[k] !== undefined).map(k => [k, jwk[k]]));
  return 'did:jwk:' + Buffer.from(JSON.stringify(members)).toString('base64url');
}

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
function base58btc(bytes) {
  let n = BigInt('0x' + (bytes.length ? bytes.toString('hex') : '0'));
  let out = '';
  while(n > 0n) {
    out = ALPHABET[Number(n % 58n)] + out;
    n /= 58n;
  }
  for(const b of bytes) {
    if(b !== 0) {
      break;
    }
    out = '1' + out;
  }
  return out;
}

function callbacks(origins, key) {
  return {
    fetch: rewritingFetch(origins),
    hash: (data, alg) => createHash(alg.replace('-', '').toLowerCase())
      .update(data).digest(),
    generateRandom: bytes => randomBytes(bytes),
    clientAuthentication: clientAuthenticationAnonymous(),
    signJwt: async (signer, {header, payload}) => {
      const jwt = await new jose.SignJWT(payload)
        .setProtectedHeader({...header, alg: key.alg}).sign(key.privateKey);
      return {jwt, signerJwk: key.header.jwk};
    }
  };
}

// The error the client raised, as the server answered it: the error code
// and description of the JSON body, the HTTP status and any Retry-After.
function failure(stage, e) {
  const data = e?.errorResponse ??
    e?.response?.credentialErrorResponseResult?.data ??
    safeJson(e?.textResponse) ?? null;
  const response = e?.response instanceof Response ?
    e.response : e?.response?.response;
  return {
    ok: false,
    stage,
    status: response?.status ?? null,
    retry_after: response?.headers?.get('retry-after') ?? null,
    error: data?.error ?? null,
    description: data?.error_description ?? String(e?.message ?? e)
  };
}

function safeJson(text) {
  if(typeof text !== 'string') {
    return null;
  }
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

async function main(payload) {
  const origins = requireObject(payload, 'origins');
  const key = await walletKey(payload.key);
  const client = new Openid4vciClient({callbacks: callbacks(origins, key)});
  let offer;
  let metadata;
  try {
    offer = await client.resolveCredentialOffer(payload.offer_uri);
    metadata = await client.resolveIssuerMetadata(offer.credential_issuer);
  } catch(e) {
    return failure('offer', e);
  }
  let token;
  try {
    token = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
      credentialOffer: offer,
      issuerMetadata: metadata,
      txCode: payload.tx_code ?? undefined
    });
  } catch(e) {
    return failure('token', e);
  }
  let credentials;
  try {
    const {c_nonce: nonce} = await client.requestNonce({issuerMetadata: metadata});
    const signer = key.header.jwk ?
      {method: 'jwk', alg: key.alg, publicJwk: key.header.jwk} :
      {method: 'did', alg: key.alg, didUrl: key.header.kid};
    const {jwt} = await client.createCredentialRequestJwtProof({
      issuerMetadata: metadata,
      credentialConfigurationId: payload.configuration_id,
      signer,
      nonce
    });
    const response = await client.retrieveCredentials({
      issuerMetadata: metadata,
      accessToken: token.accessTokenResponse.access_token,
      credentialConfigurationId: payload.configuration_id,
      proofs: {jwt: [jwt]}
    });
    credentials = response.credentialResponse.credentials;
  } catch(e) {
    return failure('credential', e);
  }
  return {
    ok: true,
    version: metadata.originalDraftVersion,
    v1: metadata.originalDraftVersion === Openid4vciVersion.V1,
    did: key.did,
    offer,
    metadata: metadata.credentialIssuer,
    token: {token_type: token.accessTokenResponse.token_type},
    credentials
  };
}

runScript(main);
