// Does what the Learner Credential Wallet does with a VC-API exchange
// (LCW exchanges.ts / composeVp.ts): POST {} to the exchange, read the
// DIDAuthentication request, build a presentation whose holder is the
// wallet's did:key, sign it with @digitalbazaar/vc (proofPurpose
// authentication, the request's challenge and domain) and POST it back.
//
// stdin:  {url, origins, contexts, seedHex, suite, tamper?, repeat?, skipFirst?}
//         url      the exchange URL (the deep link's protocols.vcapi), whose
//                  https origin `origins` maps to the loopback server;
//         suite    "Ed25519Signature2020" (LCW 2.1: a VCDM 1.1 presentation)
//                  or "eddsa-rdfc-2022" (a VCDM 2.0 presentation);
//         tamper   null, "challenge" (sign another challenge), "domain"
//                  (sign another domain) or "after" (change the presentation
//                  once signed);
//         repeat   POST the same signed presentation a second time (replay);
//         parallel POST it this many times at once (default 1).
// stdout: {did, request: {status, body}, answers: [{status, body}...]}
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as vc from '@digitalbazaar/vc';
import {
  Ed25519VerificationKey2020
} from '@digitalbazaar/ed25519-verification-key-2020';
import {HarnessError, loopbackFor, makeDocumentLoader, requireObject, runScript}
  from './common.mjs';
import {cryptosuite as eddsaRdfc2022} from
  '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {Ed25519Signature2020} from '@digitalbazaar/ed25519-signature-2020';

const TAMPERS = new Set([null, 'challenge', 'domain', 'after']);

async function post(url, body) {
  const response = await fetch(url, {
    method: 'POST',
    headers: {'content-type': 'application/json'},
    body: JSON.stringify(body),
    redirect: 'error'
  });
  const text = await response.text();
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = {notJson: text.slice(0, 300)};
  }
  return {status: response.status, body: parsed};
}

async function walletKey(seed, suiteName) {
  if(suiteName === 'Ed25519Signature2020') {
    const key = await Ed25519VerificationKey2020.generate({seed});
    const did = `did:key:${key.fingerprint()}`;
    key.controller = did;
    key.id = `${did}#${key.fingerprint()}`;
    return {did, suite: new Ed25519Signature2020({key}), version: 1.0};
  }
  if(suiteName === 'eddsa-rdfc-2022') {
    const probe = await Ed25519Multikey.generate({seed});
    const did = `did:key:${probe.publicKeyMultibase}`;
    const keyPair = await Ed25519Multikey.generate({seed, controller: did});
    keyPair.id = `${did}#${keyPair.publicKeyMultibase}`;
    const suite = new DataIntegrityProof({
      signer: keyPair.signer(), cryptosuite: eddsaRdfc2022
    });
    return {did, suite, version: 2.0};
  }
  throw new HarnessError(`unknown suite ${JSON.stringify(suiteName)}`);
}

runScript(async payload => {
  const contexts = requireObject(payload, 'contexts');
  const origins = requireObject(payload, 'origins');
  const {
    url, seedHex, suite: suiteName, tamper = null, repeat = false, parallel = 1
  } = payload;
  if(!Number.isInteger(parallel) || parallel < 1 || parallel > 8) {
    throw new HarnessError('"parallel" must be a whole number from 1 to 8');
  }
  if(!TAMPERS.has(tamper)) {
    throw new HarnessError(`unknown tamper ${JSON.stringify(tamper)}`);
  }
  if(typeof seedHex !== 'string' || !/^[0-9a-fA-F]{64}$/.test(seedHex)) {
    throw new HarnessError('"seedHex" must be 64 hexadecimal digits');
  }
  const target = loopbackFor(origins, url);
  if(target === null) {
    throw new HarnessError(`no loopback server for ${JSON.stringify(url)}`);
  }
  const seed = new Uint8Array(Buffer.from(seedHex, 'hex'));
  const {did, suite, version} = await walletKey(seed, suiteName);

  const request = await post(target, {});
  const vpr = request.body && request.body.verifiablePresentationRequest;
  if(request.status !== 200 || !vpr) {
    return {did, request, answers: []};
  }
  const queries = [].concat(vpr.query || []);
  if(!queries.some(q => q && q.type === 'DIDAuthentication')) {
    return {did, request, answers: [], error: 'no DIDAuthentication query'};
  }
  // LCW refuses a DID Auth request without both
  if(!vpr.challenge || !vpr.domain) {
    return {did, request, answers: [], error: 'challenge or domain missing'};
  }
  const challenge = tamper === 'challenge' ? vpr.challenge + 'x' :
    vpr.challenge;
  const domain = tamper === 'domain' ? 'https://elsewhere.example' :
    vpr.domain;
  const presentation = vc.createPresentation({holder: did, version});
  const signed = await vc.signPresentation({
    presentation, suite, challenge, domain,
    documentLoader: makeDocumentLoader({contexts})
  });
  if(tamper === 'after') {
    signed.id = 'urn:uuid:3f1d5a7e-8c52-4f0e-9a57-2f9d2b7c1e10';
  }
  const answers = await Promise.all(Array.from(
    {length: parallel}, () => post(target, {verifiablePresentation: signed})));
  if(repeat) {
    answers.push(await post(target, {verifiablePresentation: signed}));
  }
  return {did, request, answers, presentation: signed};
});
