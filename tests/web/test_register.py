"""The public register through the web app: lookups by full name (any script, any case or
spacing), narrowed by number and year; every refused form of query a 400 decided by syntax;
unlisted holders indistinguishable from nobody, except a recent suspension or revocation; the
body's ``register hide|show`` and the holder's own choice from their private page."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from charter_site import NOW, Charters, change_state, open_site
from sqlalchemy import select, update

from caiep.cli import main
from caiep.issuer.charter import CharterAward
from caiep.issuer.jobs import IssuedCredential, issue_one
from caiep.issuer.records import charter_number
from caiep.issuer.tables import audit_log, charter_credentials


@dataclass
class People:
    zoe: IssuedCredential
    zoe_namesake: IssuedCredential
    zhang: IssuedCredential
    hidden: IssuedCredential
    revoked_hidden: IssuedCredential
    old_revoked_hidden: IssuedCredential
    lapsed: IssuedCredential


def num(issued: IssuedCredential) -> str:
    """The charter number of an issued charter."""
    return charter_number(issued.holder_id)


def _award(site: Charters, name: str, email: str, when: datetime) -> IssuedCredential:
    award = CharterAward(name, email, (when - timedelta(days=30)).date(), "", score="80")
    return issue_one(site.registry, site.signer, award, now=when)


def _cli(site: Charters, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    code = main(["--home", str(site.home), *args])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Charters]:
    yield from open_site(tmp_path_factory.mktemp("register") / "home")


@pytest.fixture(scope="module")
def people(site: Charters) -> People:
    made = People(
        zoe=_award(site, "Zoë Ångström", "zoe@example.org", NOW - timedelta(days=400)),
        zoe_namesake=_award(site, "Zoe Angstrom", "zoe.a@example.net", NOW - timedelta(days=30)),
        zhang=_award(site, "张伟", "zhang@example.org", NOW - timedelta(days=10)),
        hidden=_award(site, "Harriet Hidden", "harriet@example.org", NOW - timedelta(days=20)),
        revoked_hidden=_award(site, "Rupert Revoked", "rupert@example.org", NOW - timedelta(days=900)),
        old_revoked_hidden=_award(site, "Olga Oldcase", "olga@example.org", NOW - timedelta(days=2900)),
        lapsed=_award(site, "Lars Lapsed", "lars@example.org", NOW - timedelta(days=6 * 366)),
    )
    change_state(site, made.revoked_hidden, "revoked", "Misconduct found by the disciplinary panel")
    change_state(site, made.old_revoked_hidden, "revoked", "Exam result annulled")
    with site.registry.write() as connection:  # Olga's revocation was decided six years ago
        connection.execute(
            update(charter_credentials)
            .where(charter_credentials.c.id == made.old_revoked_hidden.credential_id)
            .values(state_since=NOW - timedelta(days=6 * 366))
        )
    return made


def _api(site: Charters, **query: str) -> tuple[int, dict[str, object]]:
    response = site.client.get("/api/v1/register", query_string=query)
    return response.status_code, json.loads(response.get_data(as_text=True))


def _numbers(answer: dict[str, object]) -> list[str]:
    matches = answer["matches"]
    assert isinstance(matches, list)
    return [m["charterNumber"] for m in matches]


def test_the_bare_page_is_the_search_form(site: Charters) -> None:
    response = site.client.get("/register")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert '<form class="register" method="get" action="/register" role="search">' in page
    assert 'id="name" name="name" type="text" required' in page
    assert "results" not in page


@pytest.mark.parametrize("asked", ["Zoë Ångström", "zoe  angstrom", "ZOË ÅNGSTRÖM", " Zoe\u00a0Angström "])
def test_a_full_name_is_found_whatever_its_accents_case_and_spacing(
    site: Charters, people: People, asked: str
) -> None:
    status, answer = _api(site, name=asked)
    assert status == 200
    zoe, namesake = num(people.zoe), num(people.zoe_namesake)
    assert _numbers(answer) == [zoe, namesake]  # oldest award first
    first = answer["matches"][0]  # type: ignore[index]
    assert first == {
        "name": "Zoë Ångström",
        "postNominal": "CAiEP",
        "charterNumber": zoe,
        "state": "current",
        "stateSince": None,
        "reason": None,
        "firstAwarded": (NOW - timedelta(days=400)).date().isoformat(),
        "currentUntil": first["currentUntil"],  # type: ignore[index]
        "verificationPage": f"https://credentials.caiep.example/c/{people.zoe.credential_id}",
    }
    assert answer["query"] == {"name": asked.strip(), "number": None, "year": None}
    assert "@" not in json.dumps(answer)  # never an e-mail address


def test_other_scripts_part_of_a_name_number_and_year(site: Charters, people: People) -> None:
    assert _numbers(_api(site, name="张伟")[1]) == [num(people.zhang)]
    assert _numbers(_api(site, name="张")[1]) == []
    assert _numbers(_api(site, name="Zoë")[1]) == []  # a first name alone finds no one
    assert _numbers(_api(site, name="Ångström")[1]) == []
    zoe = num(people.zoe)
    assert _numbers(_api(site, name="zoe angstrom", number=zoe.lower())[1]) == [zoe]
    assert _numbers(_api(site, name="Zhang Wei", number=zoe)[1]) == []  # a number with another name
    last_year = str((NOW - timedelta(days=400)).year)
    this_year = str((NOW - timedelta(days=30)).year)
    if last_year != this_year:
        assert _numbers(_api(site, name="Zoe Angstrom", year=last_year)[1]) == [zoe]
    assert _numbers(_api(site, name="Zoe Angstrom", year="1999")[1]) == []
    assert _numbers(_api(site, name="Zoe Angstrom", number="CAIEP-" + "9" * 30)[1]) == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"number": "CAIEP-000001"}, "name: the full name is required"),
        ({}, "name: give the holder's full name"),
        ({"name": "   "}, "name: give the holder's full name"),
        ({"name": "Zo*"}, "name: wildcard characters (*)"),
        ({"name": "Zoe%"}, "name: wildcard characters (%)"),
        ({"name": "Zo? Angstrom"}, "name: wildcard characters (?)"),
        ({"name": "Zoe_Angstrom"}, "name: wildcard characters (_)"),
        ({"name": "x" * 201}, "name: at most 200 characters"),
        ({"name": "Zoe\x00Angstrom"}, "name: control characters"),
        ({"name": "Zoe\tAngstrom"}, "name: control characters"),
        ({"name": "Zoe Angstrom", "number": "000001"}, "number: a charter number looks like CAIEP-000042"),
        ({"name": "Zoe Angstrom", "number": "CAIEP-1"}, "number: a charter number looks like CAIEP-000042"),
        ({"name": "Zoe Angstrom", "number": "CAIEP-000001%"}, "number: a charter number"),
        ({"name": "Zoe Angstrom", "year": "26"}, "year: the year of award, four digits from 1900"),
        ({"name": "Zoe Angstrom", "year": "0999"}, "year: the year of award, four digits from 1900"),
        ({"name": "Zoe Angstrom", "nmae": "x"}, "nmae: not a register parameter"),
    ],
)
def test_refused_queries_are_400_naming_the_field(
    site: Charters, people: People, query: dict[str, str], field: str
) -> None:
    status, answer = _api(site, **query)
    assert status == 400
    assert answer["error"]["code"] == "invalid_query"  # type: ignore[index]
    assert str(answer["error"]["message"]).startswith(field)  # type: ignore[index]
    if query:
        page = site.client.get("/register", query_string=query)
        assert page.status_code == 400
        text = page.get_data(as_text=True)
        assert 'role="alert"' in text
        assert field.replace("'", "&#39;").split(" (")[0] in text


def test_a_repeated_parameter_is_refused(site: Charters) -> None:
    response = site.client.get("/api/v1/register?name=Zoe+Angstrom&name=Lars+Lapsed")
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == "name: give it once"


def test_an_unlisted_current_holder_answers_as_nobody_does(
    site: Charters, people: People, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _numbers(_api(site, name="Harriet Hidden")[1]) == [num(people.hidden)]
    printed = _cli(site, capsys, "register", "hide", num(people.hidden), "--actor", "registrar")
    assert printed == f"{num(people.hidden)}: unlisted in the public register (was listed (the default))\n"

    hidden = site.client.get("/api/v1/register", query_string={"name": "Harriet Hidden"})
    nobody = site.client.get("/api/v1/register", query_string={"name": "Henrietta Nobody"})
    assert hidden.status_code == nobody.status_code == 200
    assert hidden.headers == nobody.headers or _same_headers(hidden.headers, nobody.headers)
    assert _without(hidden.get_json()) == _without(nobody.get_json())
    with_number = site.client.get(
        "/api/v1/register", query_string={"name": "Harriet Hidden", "number": num(people.hidden)}
    )
    assert with_number.get_json()["matches"] == []
    page_hidden = site.client.get("/register", query_string={"name": "Harriet Hidden"}).get_data(as_text=True)
    page_nobody = site.client.get("/register", query_string={"name": "Henrietta Nobody"}).get_data(
        as_text=True
    )
    hidden_text = page_hidden.replace("Harriet Hidden", "NAME").replace("Harriet+Hidden", "NAME")
    assert hidden_text == page_nobody.replace("Henrietta Nobody", "NAME").replace("Henrietta+Nobody", "NAME")

    _cli(site, capsys, "register", "show", people.hidden.credential_id)
    assert _numbers(_api(site, name="Harriet Hidden")[1]) == [num(people.hidden)]
    with site.registry.read() as connection:
        actions = connection.execute(
            select(audit_log.c.action, audit_log.c.actor, audit_log.c.subject).where(
                audit_log.c.action.like("register.%")
            )
        ).all()
    assert (("register.unlisted", "registrar", num(people.hidden))) in actions
    assert any(a == "register.listed" and s == num(people.hidden) for a, _, s in actions)


def _same_headers(one: object, other: object) -> bool:
    def strip(headers: object) -> list[tuple[str, str]]:
        return sorted((k, v) for k, v in headers.items() if k not in ("Content-Length",))  # type: ignore[attr-defined]

    return strip(one) == strip(other)


def _without(answer: dict[str, object]) -> dict[str, object]:
    """The answer without the echo of the name asked and the time of the check."""
    return {k: v for k, v in answer.items() if k not in ("query", "checkedAt")}


def test_a_recent_revocation_stays_findable_whatever_the_holder_chose(
    site: Charters, people: People, capsys: pytest.CaptureFixture[str]
) -> None:
    for person in (people.revoked_hidden, people.old_revoked_hidden):
        _cli(site, capsys, "register", "hide", num(person))
    status, answer = _api(site, name="rupert revoked")
    assert status == 200
    [match] = answer["matches"]  # type: ignore[misc]
    assert match["state"] == "revoked"
    assert match["reason"] == "Misconduct found by the disciplinary panel"
    assert match["postNominal"] is None
    assert match["currentUntil"] is None
    assert match["stateSince"] == NOW.date().isoformat()
    page = site.client.get("/register", query_string={"name": "Rupert Revoked"}).get_data(as_text=True)
    assert "<strong>Revoked</strong> on" in page
    assert "Reason: <bdi>Misconduct found by the disciplinary panel</bdi>" in page
    assert "Rupert Revoked</bdi>, CAiEP" not in page
    # decided more than register_decision_years (5) ago, and unlisted: no longer found
    assert _api(site, name="Olga Oldcase")[1]["matches"] == []
    _cli(site, capsys, "register", "show", num(people.old_revoked_hidden))
    assert [m["state"] for m in _api(site, name="Olga Oldcase")[1]["matches"]] == ["revoked"]  # type: ignore[union-attr]


def test_a_lapsed_charter_is_shown_without_the_post_nominal(site: Charters, people: People) -> None:
    [match] = _api(site, name="Lars Lapsed")[1]["matches"]  # type: ignore[misc]
    assert match["state"] == "lapsed"
    assert match["postNominal"] is None
    assert date.fromisoformat(match["currentUntil"]) < NOW.date()
    page = site.client.get("/register", query_string={"name": "Lars Lapsed"}).get_data(as_text=True)
    assert "<strong>Lapsed</strong> on" in page
    assert "Was current until" in page


def test_the_holder_chooses_from_their_private_page(
    site: Charters, people: People, capsys: pytest.CaptureFixture[str]
) -> None:
    link = _cli(site, capsys, "holder", "link", num(people.zhang)).strip()
    token = link.rsplit("/", 1)[1]
    page = site.client.get(f"/h/{token}").get_data(as_text=True)
    assert "You are <strong>listed</strong> (the default)" in page
    assert f'action="/h/{token}/register"' in page

    moved = site.client.post(f"/h/{token}/register", data={"listing": "unlisted"})
    assert moved.status_code == 303
    assert moved.headers["Location"] == f"/h/{token}#register"
    assert _api(site, name="张伟")[1]["matches"] == []
    page = site.client.get(f"/h/{token}").get_data(as_text=True)
    assert "You are <strong>not listed</strong>:" in page

    assert site.client.post(f"/h/{token}/register", data={"listing": "everyone"}).status_code == 400
    assert site.client.post("/h/" + "A" * 43 + "/register", data={"listing": "listed"}).status_code == 404
    assert site.client.post(f"/h/{token}/register", data={"listing": "listed"}).status_code == 303
    assert _numbers(_api(site, name="张伟")[1]) == [num(people.zhang)]
    with site.registry.read() as connection:
        by_holder = connection.execute(
            select(audit_log.c.action, audit_log.c.details).where(
                audit_log.c.actor == "holder", audit_log.c.subject == num(people.zhang)
            )
        ).all()
    assert [a for a, _ in by_holder] == ["register.unlisted", "register.listed"]


def test_a_long_answer_stops_at_the_configured_number(tmp_path: Path) -> None:
    from caiep.app import AppConfig, create_app
    from caiep.issuer.register import RegisterPolicy
    from caiep.settings import database_url
    from support import unlimited_rates

    sites = open_site(tmp_path / "home")
    site = next(sites)
    try:
        for n in range(4):
            _award(site, "Jane Doe", f"jane{n}@example.org", NOW - timedelta(days=10 - n))
        app = create_app(
            AppConfig(
                home=site.home,
                database_url=database_url(site.home),
                rate_limits=unlimited_rates(),
                register_policy=RegisterPolicy(max_matches=3),
            )
        )
        try:
            answer = app.test_client().get("/api/v1/register?name=jane+doe").get_json()
            page = app.test_client().get("/register?name=jane+doe").get_data(as_text=True)
        finally:
            app.extensions["caiep.registry"].dispose()
        assert len(answer["matches"]) == 3
        assert answer["more"] is True
        assert "More charters match than are shown here" in page
        assert len(re.findall(r'<article class="match"', page)) == 3
    finally:
        next(sites, None)


def test_lookups_have_their_own_stricter_limit(tmp_path: Path) -> None:
    from caiep.app import AppConfig, create_app
    from caiep.ratelimit import RateLimitSettings, Window
    from caiep.settings import database_url

    sites = open_site(tmp_path / "home")
    site = next(sites)
    try:
        limits = RateLimitSettings(read=(Window(100, 10),), register=(Window(3, 10),))
        app = create_app(AppConfig(home=site.home, database_url=database_url(site.home), rate_limits=limits))
        try:
            client = app.test_client()
            statuses = [client.get("/api/v1/register?name=Jane+Doe").status_code for _ in range(3)]
            statuses.append(client.get("/register?name=Jane+Doe").status_code)
            refused = client.get("/api/v1/register?name=Jane+Doe")
            reads = [client.get("/verify").status_code for _ in range(3)]
        finally:
            app.extensions["caiep.registry"].dispose()
        assert statuses == [200, 200, 200, 429]
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 1
        assert "Too many register lookups" in refused.get_data(as_text=True)
        assert reads == [200, 200, 200]  # other pages are counted apart
    finally:
        next(sites, None)


def test_the_name_key_is_stored_for_every_holder(site: Charters, people: People) -> None:
    from caiep.issuer.register import name_key
    from caiep.issuer.tables import holders

    with site.registry.read() as connection:
        rows = connection.execute(select(holders.c.name, holders.c.name_key)).all()
    assert rows
    assert all(key == name_key(name) for name, key in rows)
    assert name_key("Zoë  Ångström") == name_key("ZOE ANGSTROM") == "zoe angstrom"
    assert name_key("Ǆemal Ǉubić") == "dzemal ljubic"  # compatibility forms decomposed
    assert name_key("ＡＮＮＡ") == "anna"  # full-width letters
    assert datetime.now(UTC) >= NOW


def test_the_openapi_document_states_the_rules_the_service_applies() -> None:
    from importlib import resources

    from caiep.issuer.register import MAX_NAME, PATTERNS

    document = json.loads((resources.files("caiep.verifier") / "openapi.json").read_text(encoding="utf-8"))
    name, number, year, receipt = document["paths"]["/api/v1/register"]["get"]["parameters"]
    assert receipt["schema"]["enum"] == ["true", "false"]
    assert name["schema"]["maxLength"] == MAX_NAME
    assert [p["pattern"] for p in name["schema"]["allOf"]] == [PATTERNS["name"], PATTERNS["name_nonblank"]]
    assert number["schema"]["pattern"] == PATTERNS["number"]
    assert year["schema"]["pattern"] == PATTERNS["year"]


def test_every_answer_waits_for_the_floor(site: Charters, people: People) -> None:
    """A listed name, an unlisted one and a name nobody bears all take at least the floor."""
    import time

    from caiep.registerview import ANSWER_FLOOR

    for name in ("Zoe Angstrom", "Harriet Hidden", "Henrietta Nobody"):
        started = time.monotonic()
        assert site.client.get("/api/v1/register", query_string={"name": name}).status_code == 200
        assert time.monotonic() - started >= ANSWER_FLOOR
