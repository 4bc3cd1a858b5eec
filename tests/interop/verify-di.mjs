// Verifies Data Integrity credentials with Digital Bazaar's libraries.
//
// stdin:  {contexts, documents?, origins?, credentials: [vc...],
//          now?: ISO date-time}
//         `origins` maps an https origin to a loopback http://127.0.0.1:PORT
//         that serves its documents (a status list served by our app).
// stdout: {results: [{verified, error, proofVerified, proofError, statuses}]}
//
// verified       full verification by @digitalbazaar/vc `verifyCredential`:
//                credential shape, validFrom/validUntil at `now`, every
//                proof (eddsa-rdfc-2022 DataIntegrityProof or
//                Ed25519Signature2020) with the credential-issuance purpose
//                (verification method listed under `assertionMethod` of its
//                controller, and controller == issuer id), then status.
//                Status counts only when checked: a `credentialStatus` whose
//                list credential is neither in `documents` nor under a
//                mapped origin (or that is not a
//                BitstringStatusListEntry) makes `verified` false with
//                "status not checkable: ..."; a set revocation or suspension
//                bit makes it false with "status: ... bit set ...".
// proofVerified  the proofs alone (jsonld-signatures `verify` with the plain
//                assertion-method purpose): signature, verification method
//                retrieval, assertionMethod relationship; no shape, date,
//                issuer or status checks.
//                The status list credential is itself verified (same
//                suites, same loader, issuer must equal the credential's
//                issuer) at the current time: the library does not pass
//                `now` on to it.
// statuses       null without `credentialStatus`; else one entry per status
//                entry: {type, statusPurpose, statusListIndex,
//                statusListCredential, checked, set, error}.
import * as bsl from '@digitalbazaar/vc-bitstring-status-list';
import * as vc from '@digitalbazaar/vc';
import {
  describeError, HarnessError, isPlainObject, loopbackFor, makeDocumentLoader,
  requireArray, requireObject, runScript
} from './common.mjs';
import {cryptosuite as eddsaRdfc2022} from
  '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {Ed25519Signature2020} from '@digitalbazaar/ed25519-signature-2020';
import jsigs from 'jsonld-signatures';

const {purposes: {AssertionProofPurpose}} = jsigs;
const BLOCKING_PURPOSES = new Set(['revocation', 'suspension']);

function suites() {
  return [
    new DataIntegrityProof({cryptosuite: eddsaRdfc2022}),
    new Ed25519Signature2020()
  ];
}

function statusEntries(credential) {
  const value = credential.credentialStatus;
  if(value === undefined) {
    return [];
  }
  return Array.isArray(value) ? value : [value];
}

function describeEntry(entry) {
  const e = isPlainObject(entry) ? entry : {};
  return {
    type: e.type ?? null,
    statusPurpose: e.statusPurpose ?? null,
    statusListIndex: e.statusListIndex ?? null,
    statusListCredential: e.statusListCredential ?? null,
    checked: false,
    set: null
  };
}

// Returns a `checkStatus` function for `verifyCredential` that records what it
// found in `statuses` and never passes an unchecked or blocking status.
function statusChecker(
  {credential, documents, origins, documentLoader, statuses}) {
  return async () => {
    statuses.forEach(s => {
      s.error = null;
    });
    const uncheckable = statuses.filter(s =>
      s.type !== 'BitstringStatusListEntry' ||
      typeof s.statusListCredential !== 'string' ||
      !(Object.hasOwn(documents, s.statusListCredential) ||
        loopbackFor(origins, s.statusListCredential) !== null));
    if(uncheckable.length > 0) {
      const reasons = uncheckable.map(s =>
        s.type !== 'BitstringStatusListEntry' ?
          `entry type ${JSON.stringify(s.type)} is not supported` :
          `status list credential ${JSON.stringify(s.statusListCredential)} ` +
          'not given in documents');
      uncheckable.forEach((s, i) => {
        s.error = `status not checkable: ${reasons[i]}`;
      });
      return {
        verified: false,
        error: new Error(`status not checkable: ${reasons.join('; ')}`)
      };
    }
    const result = await bsl.checkStatus({
      credential, documentLoader, suite: suites(),
      verifyBitstringStatusListCredential: true,
      verifyMatchingIssuers: true
    });
    if(!result.verified) {
      const message = describeError(result.error) || 'status check failed';
      statuses.forEach(s => {
        s.error = message;
      });
      return {verified: false, error: new Error(`status: ${message}`)};
    }
    // results come back in the order of the entries
    result.results.forEach((r, i) => {
      statuses[i].checked = true;
      statuses[i].set = r.status === true;
    });
    const blocking = statuses.filter(s =>
      s.set && BLOCKING_PURPOSES.has(s.statusPurpose));
    if(blocking.length > 0) {
      const what = blocking.map(s =>
        `${s.statusPurpose} bit set at index ${s.statusListIndex} of ` +
        s.statusListCredential).join('; ');
      return {verified: false, error: new Error(`status: ${what}`), result};
    }
    return result;
  };
}

async function verifyOne({credential, contexts, documents, origins, now}) {
  if(!isPlainObject(credential)) {
    return {
      verified: false, error: 'credential is not a JSON object',
      proofVerified: false, proofError: 'credential is not a JSON object',
      statuses: null
    };
  }
  const documentLoader = makeDocumentLoader({contexts, documents, origins});
  // filled in by the status checker; left unchecked when verification
  // stops before the status step
  const statuses = statusEntries(credential).map(entry => ({
    ...describeEntry(entry),
    error: 'not checked: verification failed before the status step'
  }));

  const full = await vc.verifyCredential({
    credential: structuredClone(credential),
    suite: suites(),
    documentLoader,
    checkStatus: statusChecker({
      credential, documents, origins, documentLoader, statuses
    }),
    ...(now === undefined ? {} : {now})
  });
  let error = null;
  if(!full.verified) {
    error = describeError(full.error) ||
      describeError(full.statusResult && full.statusResult.error) ||
      describeError((full.results || []).find(r => !r.verified)?.error) ||
      'not verified';
  }

  const proofOnly = await jsigs.verify(structuredClone(credential), {
    suite: suites(),
    purpose: new AssertionProofPurpose(),
    documentLoader
  });

  return {
    verified: full.verified === true,
    error,
    proofVerified: proofOnly.verified === true,
    proofError: proofOnly.verified ? null :
      describeError(proofOnly.error) ||
      describeError((proofOnly.results || []).find(r => !r.verified)?.error) ||
      'not verified',
    statuses: credential.credentialStatus === undefined ? null : statuses
  };
}

runScript(async payload => {
  const contexts = requireObject(payload, 'contexts');
  const documents = requireObject(payload, 'documents', {optional: true});
  const origins = requireObject(payload, 'origins', {optional: true});
  const credentials = requireArray(payload, 'credentials');
  const {now} = payload;
  if(now !== undefined && (typeof now !== 'string' || isNaN(new Date(now)))) {
    throw new HarnessError('"now" must be an ISO 8601 date-time string');
  }
  const results = [];
  for(const credential of credentials) {
    results.push(
      await verifyOne({credential, contexts, documents, origins, now}));
  }
  return {results};
});
