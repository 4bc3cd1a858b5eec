// Signs and verifies compact JWS / VC-JWT tokens with `jose`.
//
// verify
//   stdin:  {op: "verify", tokens: [compact...], jwks: [public JWK...],
//            algorithms?: ["EdDSA"], now?: ISO date-time, typ?: string}
//   stdout: {results: [{verified, payload, protectedHeader, error}]}
//   Uses `jwtVerify` once per candidate key until one succeeds. Candidates:
//   when the token header has a `kid`, the JWKs with that `kid` and the JWKs
//   without one; otherwise every JWK. jwtVerify checks the signature, the
//   `alg` allow-list (default ["EdDSA"]), that the payload is a JSON object,
//   and the `exp`/`nbf` claims when present (at `now` if given, else the
//   current time; no clock tolerance); `typ` is checked only when the
//   request names one. A header `alg` outside the allow-list is refused
//   before any key is tried. `payload` and `protectedHeader` are reported
//   when they decode, even if the token fails verification (null
//   otherwise); `error` is "<jose error code>: <message>" of the last
//   candidate tried.
//
// sign
//   stdin:  {op: "sign", payloads: [object...], privateJwk, kid, typ?}
//   stdout: {tokens: [compact...]}
//   Header {alg: "EdDSA", kid, typ} (typ omitted when not given); the
//   payload is the JSON object as given, no claims added.
import * as jose from 'jose';
import {
  describeError, HarnessError, isPlainObject, requireArray, requireObject,
  runScript
} from './common.mjs';

function decodePart(decode, token) {
  try {
    return decode(token);
  } catch {
    return null;
  }
}

function joseError(e) {
  return `${e && e.code ? e.code + ': ' : ''}${describeError(e)}`;
}

async function verifyToken({token, jwks, importKey, algorithms, options}) {
  const payload = decodePart(jose.decodeJwt, token);
  const protectedHeader = decodePart(jose.decodeProtectedHeader, token);
  const failed = error => ({verified: false, payload, protectedHeader, error});
  if(protectedHeader === null || payload === null) {
    // let jose say what is wrong with the token itself
    try {
      await jose.jwtVerify(token, () => {
        throw new Error('token did not decode');
      }, options);
    } catch(e) {
      return failed(joseError(e));
    }
    return failed('token did not decode');
  }
  const {alg, kid} = protectedHeader;
  if(!algorithms.includes(alg)) {
    return failed('ERR_JOSE_ALG_NOT_ALLOWED: "alg" (Algorithm) Header ' +
      `Parameter value ${JSON.stringify(alg)} not allowed`);
  }
  const candidates = jwks.map((jwk, index) => ({jwk, index})).filter(
    ({jwk}) => !(typeof kid === 'string' && typeof jwk.kid === 'string' &&
      jwk.kid !== kid));
  if(candidates.length === 0) {
    return failed(`no key in jwks matches kid ${JSON.stringify(kid)}`);
  }
  let error = null;
  for(const {index} of candidates) {
    try {
      const key = await importKey(index, alg);
      const result = await jose.jwtVerify(token, key, options);
      return {
        verified: true,
        payload: result.payload,
        protectedHeader: result.protectedHeader,
        error: null
      };
    } catch(e) {
      error = joseError(e);
    }
  }
  return failed(error);
}

async function verify(payload) {
  const tokens = requireArray(payload, 'tokens');
  const jwks = requireArray(payload, 'jwks');
  const algorithms = payload.algorithms ?? ['EdDSA'];
  if(!Array.isArray(algorithms) ||
    !algorithms.every(a => typeof a === 'string')) {
    throw new HarnessError('"algorithms" must be an array of strings');
  }
  if(jwks.some(k => !isPlainObject(k) || 'd' in k)) {
    throw new HarnessError('"jwks" must hold public JWK objects only');
  }
  const {now, typ} = payload;
  if(now !== undefined && (typeof now !== 'string' || isNaN(new Date(now)))) {
    throw new HarnessError('"now" must be an ISO 8601 date-time string');
  }
  if(typ !== undefined && typeof typ !== 'string') {
    throw new HarnessError('"typ" must be a string');
  }
  const imported = new Map();
  const importKey = async (index, alg) => {
    const cacheKey = `${index} ${alg}`;
    if(!imported.has(cacheKey)) {
      imported.set(cacheKey, await jose.importJWK(jwks[index], alg));
    }
    return imported.get(cacheKey);
  };
  const options = {
    algorithms,
    ...(now === undefined ? {} : {currentDate: new Date(now)}),
    ...(typ === undefined ? {} : {typ})
  };
  const results = [];
  for(const token of tokens) {
    if(typeof token !== 'string') {
      results.push({
        verified: false, payload: null, protectedHeader: null,
        error: 'token is not a string'
      });
      continue;
    }
    results.push(
      await verifyToken({token, jwks, importKey, algorithms, options}));
  }
  return {results};
}

async function sign(payload) {
  const payloads = requireArray(payload, 'payloads');
  const privateJwk = requireObject(payload, 'privateJwk');
  const {kid, typ} = payload;
  if(typeof kid !== 'string') {
    throw new HarnessError('"kid" must be a string');
  }
  if(typ !== undefined && typeof typ !== 'string') {
    throw new HarnessError('"typ" must be a string');
  }
  const key = await jose.importJWK(privateJwk, 'EdDSA');
  const header = {alg: 'EdDSA', kid, ...(typ === undefined ? {} : {typ})};
  const tokens = [];
  for(const claims of payloads) {
    if(!isPlainObject(claims)) {
      throw new HarnessError('every entry of "payloads" must be an object');
    }
    tokens.push(await new jose.SignJWT(claims)
      .setProtectedHeader(header)
      .sign(key));
  }
  return {tokens};
}

runScript(async payload => {
  if(payload.op === 'verify') {
    return verify(payload);
  }
  if(payload.op === 'sign') {
    return sign(payload);
  }
  throw new HarnessError('"op" must be "verify" or "sign"');
});
