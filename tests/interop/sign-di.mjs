// Signs credentials with Digital Bazaar's libraries: eddsa-rdfc-2022
// DataIntegrityProof through @digitalbazaar/vc `issue`.
//
// stdin:  {contexts, documents?, seedHex, controller, credentials: [vc...],
//          created?: ISO date-time}
// stdout: {credentials: [signed vc...], publicKeyMultibase, verificationMethod}
//
// The key is an Ed25519 Multikey generated from the 32-byte seed; its id is
// `<controller>#<publicKeyMultibase>` (controller: a did:key, did:web or https
// URL). Each credential is signed as given (the library adds the proof as a
// single object; it is returned exactly as emitted). A credential the library
// refuses is answered with {"error": message} in its place, not a crash.
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as vc from '@digitalbazaar/vc';
import {
  describeError, HarnessError, isPlainObject, makeDocumentLoader,
  requireArray, requireObject, runScript
} from './common.mjs';
import {cryptosuite as eddsaRdfc2022} from
  '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';

function seedBytes(seedHex) {
  if(typeof seedHex !== 'string' || !/^[0-9a-fA-F]{64}$/.test(seedHex)) {
    throw new HarnessError('"seedHex" must be 64 hexadecimal digits');
  }
  return new Uint8Array(Buffer.from(seedHex, 'hex'));
}

runScript(async payload => {
  const contexts = requireObject(payload, 'contexts');
  const documents = requireObject(payload, 'documents', {optional: true});
  const credentials = requireArray(payload, 'credentials');
  const {controller, created} = payload;
  if(typeof controller !== 'string' || !controller.includes(':') ||
    controller.includes('#')) {
    throw new HarnessError('"controller" must be a URL without a fragment');
  }
  if(created !== undefined &&
    (typeof created !== 'string' || isNaN(new Date(created)))) {
    throw new HarnessError('"created" must be an ISO 8601 date-time string');
  }
  const keyPair = await Ed25519Multikey.generate({
    seed: seedBytes(payload.seedHex), controller
  });
  const documentLoader = makeDocumentLoader({contexts, documents});

  const signed = [];
  for(const credential of credentials) {
    if(!isPlainObject(credential)) {
      signed.push({error: 'credential is not a JSON object'});
      continue;
    }
    const suite = new DataIntegrityProof({
      signer: keyPair.signer(),
      cryptosuite: eddsaRdfc2022,
      ...(created === undefined ? {} : {date: created})
    });
    try {
      signed.push(await vc.issue({
        credential: structuredClone(credential), suite, documentLoader
      }));
    } catch(e) {
      signed.push({error: describeError(e)});
    }
  }
  return {
    credentials: signed,
    publicKeyMultibase: keyPair.publicKeyMultibase,
    verificationMethod: keyPair.id
  };
});
