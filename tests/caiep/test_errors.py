"""The exception tree is public API: its shape and codes are pinned here."""

from __future__ import annotations

import inspect
import re

import caiep.errors as errors

TREE = {
    "CaiepError": "Exception",
    "ConfigurationError": "CaiepError",
    "InputError": "CaiepError",
    "KeyMaterialError": "CaiepError",
    "PassphraseError": "KeyMaterialError",
    "EncodingError": "CaiepError",
    "DocumentLoaderError": "CaiepError",
    "SchemaValidationError": "CaiepError",
    "CanonicalizationError": "CaiepError",
    "DataLossError": "CanonicalizationError",
    "InvalidIRIError": "CanonicalizationError",
    "ResolutionError": "CaiepError",
    "TimeBudgetExceeded": "CaiepError",
    "CredentialInvalid": "CaiepError",
    "ProofInvalid": "CredentialInvalid",
    "VerificationMethodInvalid": "CredentialInvalid",
}


def test_the_public_exceptions_form_the_documented_tree():
    classes = {
        name: cls
        for name, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, Exception) and cls.__module__ == errors.__name__
    }
    assert {name: cls.__bases__[0].__name__ for name, cls in classes.items()} == TREE
    for name in TREE:
        assert re.search(rf"(^\s*|── ){name}\b", errors.__doc__, re.M), name


def test_every_exception_has_its_own_stable_code():
    codes = [getattr(errors, name).code for name in TREE]
    assert len(codes) == len(set(codes))
    assert errors.DataLossError.code == "DATA_LOSS_DETECTION_ERROR"  # VC Data Integrity §2.4.3


def test_errors_carry_their_data_as_fields():
    error = errors.InputError("not a date", source="results.csv", location="line 7")
    assert (error.source, error.location, error.message) == ("results.csv", "line 7", "not a date")
    assert str(error) == "results.csv:line 7: not a date"
    loss = errors.DataLossError("undefined", terms=["colour"], json_pointer="/credentialSubject/colour")
    assert (loss.terms, loss.json_pointer) == (("colour",), "/credentialSubject/colour")
