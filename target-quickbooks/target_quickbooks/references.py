"""Resolve the mapper's symbolic references to QuickBooks Ids, with query + cache.

A reference is ``{"by": id|name|sku|external_id|email, "value", "entity"?, "fallback"?,
"on_missing": error|create|default, "create"?, "default"?, "guidance"?}``. `by: id` is taken
as is; `external_id` is looked up in the ledger (documents and entities this pipeline created);
the others are queried once per value (in bulk, `IN (...)`) and cached for the run. When nothing
is found, the fallback is tried, then the policy applies: `error` -> a data error carrying the
contract's guidance; `default` -> the default reference; `create` -> the entity is created from
`create` (its own references resolved first) with a deterministic requestid and recorded in the
ledger, under its deterministic ``(kc-xxxxxx)`` name if QuickBooks says the name is taken
(DisplayName is unique across Customer, Vendor and Employee: code 6240).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeGuard

from target_quickbooks import error_catalog, payloads, query_language
from target_quickbooks.errors import DataError
from target_quickbooks.request_ids import content_hash, write_request_id
from target_quickbooks.store.ledger import LedgerEntry, LedgerStatus

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from target_quickbooks.client import QuickBooksClient
    from target_quickbooks.lookups import RunLookups
    from target_quickbooks.store.ledger import Ledger

# Entity a reference field points to when the reference does not say.
IMPLIED_ENTITIES: Mapping[str, str] = {
    "CustomerRef": "Customer",
    "ItemRef": "Item",
    "TaxCodeRef": "TaxCode",
    "TxnTaxCodeRef": "TaxCode",
    "PaymentMethodRef": "PaymentMethod",
    "DepositToAccountRef": "Account",
    "AccountRef": "Account",
    "IncomeAccountRef": "Account",
    "ExpenseAccountRef": "Account",
    "AssetAccountRef": "Account",
    "DiscountAccountRef": "Account",
    "ARAccountRef": "Account",
    "ClassRef": "Class",
    "DepartmentRef": "Department",
    "SalesTermRef": "Term",
    "ParentRef": "Customer",
}
# The field each lookup kind filters on.
LOOKUP_FIELDS: Mapping[tuple[str, str], str] = {
    ("Customer", "name"): "DisplayName",
    ("Customer", "email"): "PrimaryEmailAddr",
    ("Item", "sku"): "Sku",
}
_IN_CHUNK = 30
# Lookup answers kept per run (by e-mail, name, SKU...): enough for every reference of a large
# flush many times over, and a bound, so a run's memory does not grow with the customers it
# meets (bench/RESULTS.md, "Peak memory"). A forgotten answer is only queried again.
LOOKUPS_REMEMBERED = 20_000


class LookupCache:
    """Lookup answers (a QuickBooks Id, or None for "no match"); the least recently used go."""

    def __init__(self, limit: int = LOOKUPS_REMEMBERED) -> None:
        """Empty, holding at most `limit` answers."""
        self._limit = limit
        self._answers: OrderedDict[tuple[str, str, str], str | None] = OrderedDict()

    def __contains__(self, key: object) -> bool:
        """Whether an answer (a match or a known miss) is held for `key`."""
        return key in self._answers

    def __len__(self) -> int:
        """Answers held."""
        return len(self._answers)

    def get(self, key: tuple[str, str, str]) -> str | None:
        """The answer for `key` (None: no match, or not held)."""
        if key not in self._answers:
            return None
        self._answers.move_to_end(key)
        return self._answers[key]

    def put(self, key: tuple[str, str, str], answer: str | None) -> None:
        """Hold `answer` for `key`."""
        self._answers[key] = answer
        self._answers.move_to_end(key)
        while len(self._answers) > self._limit:
            self._answers.popitem(last=False)

    def hold_miss(self, key: tuple[str, str, str]) -> None:
        """Hold "no match" for `key` unless an answer is already held."""
        if key not in self._answers:
            self.put(key, None)


_GUIDANCE_CODE = re.compile(r"^(MAP-[A-Z0-9-]+)\b")


@dataclass(frozen=True)
class SymbolicRef:
    """A parsed reference."""

    by: str
    value: str
    entity: str | None
    on_missing: str
    fallback: SymbolicRef | None
    default: SymbolicRef | None
    create: Mapping[str, Any] | None
    guidance: str | None

    @classmethod
    def parse(cls, raw: Mapping[str, Any], implied_entity: str | None) -> SymbolicRef:
        """Read a reference object (shape checked by `contract`)."""
        entity = raw.get("entity") or implied_entity
        fallback = raw.get("fallback")
        default = raw.get("default")
        return cls(
            by=str(raw["by"]),
            value=str(raw["value"]),
            entity=str(entity) if entity else None,
            on_missing=str(raw.get("on_missing") or "error"),
            fallback=cls.parse(fallback, entity) if isinstance(fallback, dict) else None,
            default=cls.parse(default, entity) if isinstance(default, dict) else None,
            create=raw.get("create") if isinstance(raw.get("create"), dict) else None,
            guidance=str(raw["guidance"]) if raw.get("guidance") else None,
        )

    def describe(self) -> str:
        """Human description without PII (e-mail values are not repeated)."""
        shown = "<e-mail>" if self.by == "email" else repr(self.value)
        return f"{self.entity or 'entity'} with {self.by} {shown}"


def is_symbolic(value: object) -> TypeGuard[dict[str, Any]]:
    """Whether a body value is a symbolic reference."""
    return isinstance(value, dict) and "by" in value and "value" in value


def find_refs(body: object, key: str | None = None) -> Iterable[SymbolicRef]:
    """Every top-level symbolic reference in a body (depth first), with its implied entity."""
    if is_symbolic(body):
        yield SymbolicRef.parse(body, IMPLIED_ENTITIES.get(key or ""))
        return
    if isinstance(body, dict):
        for child_key, child in body.items():
            yield from find_refs(child, child_key)
    elif isinstance(body, list):
        for child in body:
            yield from find_refs(child, key)


def external_id_dependencies(body: object) -> set[str]:
    """external_ids the body refers to (written first when they are in the same run)."""
    return {ref.value for ref in find_refs(body) if ref.by == "external_id"}


def required_external_ids(body: object) -> set[str]:
    """external_ids the body cannot do without: no fallback, no default, no create."""
    return {
        ref.value
        for ref in find_refs(body)
        if ref.by == "external_id" and ref.fallback is None and ref.on_missing == "error"
    }


def lookup_field(entity: str, by: str) -> str | None:
    """The queried field for a lookup kind, or None if the kind needs no query."""
    if by in {"id", "external_id"}:
        return None
    if (entity, by) in LOOKUP_FIELDS:
        return LOOKUP_FIELDS[(entity, by)]
    if by == "name":
        return "Name"
    return None


def _field_value(document: Mapping[str, Any], field: str) -> str | None:
    value = document.get(field)
    if isinstance(value, dict):
        value = value.get("Address", value.get("value"))
    return str(value) if value is not None else None


def _guidance_code(guidance: str | None) -> str | None:
    """A mapper code (``MAP-UNKNOWN-SKU``...) the guidance starts with (docs/mapping.md)."""
    match = _GUIDANCE_CODE.match(guidance or "")
    return match.group(1) if match else None


def _id_order(document: Mapping[str, Any]) -> tuple[int, str]:
    # Oldest first among duplicates: QuickBooks Ids are numeric strings that grow.
    text = str(document.get("Id", ""))
    return (len(text), text)


class UnresolvedReferenceError(DataError):
    """A reference that cannot be resolved under its policy."""


# A K-Connector customer's marker in its Notes: ``[kc:customer:... v<version>]``.
_PERSON_MARKER = re.compile(r"\[kc:(customer:[^\]\s]+?)(?: v[0-9a-f]+)?\]")


def _person_of(customer: Mapping[str, Any]) -> str | None:
    """The external_id of the K-Connector customer this QuickBooks customer is, if one."""
    found = _PERSON_MARKER.search(str(customer.get("Notes") or ""))
    return found.group(1) if found else None


class ReferenceResolver:
    """Resolves references for one company; the cache lives as long as the resolver."""

    def __init__(
        self,
        realm_id: str,
        client: QuickBooksClient,
        ledger: Ledger,
        *,
        on_created: Callable[[LedgerEntry, str | None], None] | None = None,
    ) -> None:
        """Bind to the client (queries, creates) and the ledger (external_id refs)."""
        self._realm = realm_id
        self._client = client
        self._ledger = ledger
        self._on_created = on_created
        self._cache = LookupCache()
        # The ledger entries the last `prefetch` found for the references it was given (one
        # query, not one per reference); a key it did not find is read from the ledger.
        self._entries: dict[str, LedgerEntry] = {}
        # K-Connector customers under a suffixed name, read once per run (`_suffixed_people`).
        self._suffixed: dict[str, dict[str, str]] | None = None
        # The run's look-ups (`lookups.RunLookups`), set by the delivery engine; without them
        # the same-name rule asks QuickBooks itself, 30 names a query.
        self.lookups: RunLookups | None = None

    @staticmethod
    def _key(entity: str, by: str, value: str) -> tuple[str, str, str]:
        return (entity, by, value.casefold())

    # ------------------------------------------------------------ lookups

    def _lookups_needed(self, refs: Iterable[SymbolicRef]) -> list[SymbolicRef]:
        """The query-able references resolution may reach.

        A fallback chain stops where an Id or the ledger already answers, so a customer known
        by external_id is not looked up by e-mail and name again.
        """
        refs = list(refs)
        known = self._ledger.get_many(self._realm, {r.value for r in refs if r.by == "external_id"})
        needed: list[SymbolicRef] = []
        for ref in refs:
            candidate: SymbolicRef | None = ref
            while candidate is not None:
                if candidate.by == "id" or (
                    candidate.by == "external_id" and candidate.value in known
                ):
                    break
                needed.append(candidate)
                candidate = candidate.fallback
            else:
                if ref.on_missing == "default" and ref.default is not None:
                    needed.extend(self._lookups_needed([ref.default]))
        return needed

    def prefetch(self, refs: Iterable[SymbolicRef]) -> None:
        """Read, in bulk, every ledger entry and (entity, field, value) resolution may need.

        The ledger entries found are used by the resolutions that follow, until the next
        `prefetch` (the engine calls it before each wave's resolutions and records nothing in
        between); the query answers are cached.
        """
        refs = list(refs)
        keys: set[str] = set()
        for ref in refs:
            if ref.on_missing == "create" and ref.entity is not None:
                keys.add(self._created_key(ref))
            candidate: SymbolicRef | None = ref
            while candidate is not None:
                if candidate.by == "external_id":
                    keys.add(candidate.value)
                candidate = candidate.fallback
        self._entries = self._ledger.get_many(self._realm, keys) if keys else {}
        self._query_values(self._lookups_needed(refs))

    def _entry(self, key: str) -> LedgerEntry | None:
        """The ledger entry under `key`: as `prefetch` found it, else read now."""
        entry = self._entries.get(key)
        return entry if entry is not None else self._ledger.get(self._realm, key)

    def _query_values(self, refs: Iterable[SymbolicRef]) -> None:
        wanted: dict[tuple[str, str, str], set[str]] = {}
        for ref in refs:
            if ref.entity is None:
                continue
            field = lookup_field(ref.entity, ref.by)
            if field is None or self._key(ref.entity, ref.by, ref.value) in self._cache:
                continue
            wanted.setdefault((ref.entity, ref.by, field), set()).add(ref.value)
        for (entity, by, field), values in sorted(wanted.items()):
            ordered = sorted(values)
            for start in range(0, len(ordered), _IN_CHUNK):
                chunk = ordered[start : start + _IN_CHUNK]
                found = self._query_all(entity, field, chunk)
                for value in chunk:
                    self._cache.hold_miss(self._key(entity, by, value))
                for document in sorted(found, key=_id_order):
                    matched = _field_value(document, field)
                    key = self._key(entity, by, matched or "")
                    if matched is not None and self._cache.get(key) is None and key in self._cache:
                        self._cache.put(key, str(document["Id"]))

    def _query_all(self, entity: str, field: str, values: list[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        start = 1
        while True:
            page = self._client.query(
                query_language.select_in(entity, field, values, start_position=start)
            )
            found.extend(page)
            if len(page) < query_language.MAX_RESULTS:
                return found
            start += len(page)

    def _lookup(self, ref: SymbolicRef) -> str | None:
        if ref.by == "id":
            return ref.value
        if ref.by == "external_id":
            entry = self._entry(ref.value)
            return entry.qbo_id if entry is not None else None
        if ref.entity is None or lookup_field(ref.entity, ref.by) is None:
            return None
        key = self._key(ref.entity, ref.by, ref.value)
        if key not in self._cache:
            self._query_values([ref])
        return self._cache.get(key)

    # ---------------------------------------------------------- resolution

    def resolve_ref(self, ref: SymbolicRef, path: str) -> str:
        """The QuickBooks Id a reference names.

        Raises:
            UnresolvedReferenceError: nothing found and the policy is `error` (or fails).
            DeliveryError: a create failed (its class decides what happens).
        """
        if ref.on_missing == "create" and ref.entity is not None:
            # Created by an earlier run: the ledger knows it, no query needed.
            created = self._entry(self._created_key(ref))
            if created is not None:
                return created.qbo_id
        candidate: SymbolicRef | None = ref
        while candidate is not None:
            found = self._lookup(candidate)
            if found is not None:
                return found
            candidate = candidate.fallback
        if ref.on_missing == "default" and ref.default is not None:
            return self.resolve_ref(ref.default, path)
        if ref.on_missing == "create" and ref.create is not None and ref.entity is not None:
            return self._create(ref, path, ref.entity, ref.create)
        if ref.by == "external_id":
            msg = f"{path}: the document {ref.value!r} it depends on is not in QuickBooks yet"
            raise UnresolvedReferenceError(
                msg,
                code=error_catalog.MISSING_DEPENDENCY,
                element=path,
                guidance=ref.guidance
                or (
                    f"Deliver {ref.value!r} first (see its own dead letter, if any), then "
                    "retry this record."
                ),
            )
        msg = f"{path}: no {ref.describe()} in QuickBooks"
        raise UnresolvedReferenceError(
            msg,
            code=_guidance_code(ref.guidance) or error_catalog.UNRESOLVED_REFERENCE,
            element=path,
            guidance=ref.guidance
            or (
                f"Create the {ref.entity or 'entity'} in QuickBooks (or change the mapping "
                f"rule for {path}), then retry this record."
            ),
        )

    def resolve_body(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of `body` with every symbolic reference replaced by its Id."""
        return {k: self._resolve_value(v, f"body.{k}", k) for k, v in body.items()}

    def _resolve_value(self, value: object, path: str, key: str | None) -> object:
        if is_symbolic(value):
            ref = SymbolicRef.parse(value, IMPLIED_ENTITIES.get(key or ""))
            entity_id = self.resolve_ref(ref, path)
            # `...Ref` fields take {"value": Id}; plain id fields (LinkedTxn.TxnId) the Id.
            return {"value": entity_id} if (key or "").endswith("Ref") else entity_id
        if isinstance(value, dict):
            resolved = {k: self._resolve_value(v, f"{path}.{k}", k) for k, v in value.items()}
            linked_type = self._linked_entity(value)
            if linked_type is not None:
                resolved["TxnType"] = linked_type
            return resolved
        if isinstance(value, list):
            return [self._resolve_value(v, f"{path}[{i}]", key) for i, v in enumerate(value)]
        return value

    def _linked_entity(self, value: Mapping[str, Any]) -> str | None:
        """The entity a `LinkedTxn` names by external_id, as the ledger recorded it.

        A link may name a document with fallbacks (a payout's charge: the order's SalesReceipt,
        else its Payment, when the mapper cannot know which an earlier run wrote): `TxnType`
        must be the entity the link resolved to, or QuickBooks refuses the link.
        """
        if "TxnType" not in value or not is_symbolic(value.get("TxnId")):
            return None
        candidate: SymbolicRef | None = SymbolicRef.parse(value["TxnId"], None)
        while candidate is not None:
            if candidate.by == "external_id":
                entry = self._entry(candidate.value)
                if entry is not None:
                    return entry.entity
            candidate = candidate.fallback
        return None

    @staticmethod
    def _created_key(ref: SymbolicRef) -> str:
        """The ledger key of an entity created for a reference.

        A reference by external_id names the entity itself (e.g. the order's customer), so the
        created entity is recorded under that id and later references find it directly.
        """
        if ref.by == "external_id":
            return ref.value
        return f"ref:{ref.entity}:{ref.by}:{ref.value}"

    def _create(self, ref: SymbolicRef, path: str, entity: str, create: Mapping[str, Any]) -> str:
        ledger_key = self._created_key(ref)
        body = self.resolve_body(create)
        key = payloads.suffix_key(ledger_key) if ref.by == "external_id" else ledger_key
        if entity == "Customer" and ref.by == "external_id" and body.get("DisplayName"):
            # Two people, one name: the same rule as a Customer document's create.
            name = self.settle_names({ledger_key: body}).get(ledger_key)
            body = {**body, "DisplayName": name} if name else body
        attempts = [body]
        suffixed = payloads.rename(entity, body, key)
        if suffixed is not None and suffixed != body:
            attempts.append(suffixed)
        for index, attempt in enumerate(attempts):
            payload = payloads.create_payload(entity, attempt, ledger_key)
            request_id = write_request_id(
                self._realm, entity, ledger_key, "create", content_hash(payload)
            )
            try:
                document, tid = self._client.write(entity, payload, request_id=request_id)
            except DataError as exc:
                if exc.code == "6240" and index + 1 < len(attempts):
                    continue  # name taken (e.g. by a vendor): try the suffixed name
                msg = f"{path}: could not create {ref.describe()}: {exc.message}"
                raise UnresolvedReferenceError(
                    msg,
                    code=exc.code,
                    element=path,
                    guidance=ref.guidance or exc.guidance,
                ) from None
            created = LedgerEntry(
                realm_id=self._realm,
                external_id=ledger_key,
                entity=entity,
                qbo_id=str(document["Id"]),
                sync_token=str(document.get("SyncToken", "0")),
                body_hash=content_hash(dict(create)),
                status=LedgerStatus.ACTIVE,
                request_id=request_id,
                snapshot=document,
            )
            self._ledger.put_many([created])
            if self._on_created is not None:
                self._on_created(created, tid)
            self._cache.put(self._key(entity, ref.by, ref.value), created.qbo_id)
            return created.qbo_id
        msg = "no create attempt was made"  # unreachable: `attempts` is never empty
        raise AssertionError(msg)

    # ------------------------------------------------------ two people, one name

    def settle_names(self, new: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
        """The DisplayName each new customer is created with: external_id -> name.

        Two people, one name (docs/mapping.md): a name once given is never changed, so no
        customer is renamed (nor written twice) when a namesake arrives. The first K-Connector
        person with a name gets the plain name; anyone later gets their own
        ``"<name> (kc-xxxxxx)"``. Later means: QuickBooks holds the plain name already
        (anyone's customer: K-Connector's, an adopted one, the bookkeeper's), a K-Connector
        customer carries the name with its suffix (a company named under the rule before this
        one, where every namesake was suffixed), or another new person with the name comes
        earlier in `new`. A vendor or employee holding the name is not seen here: QuickBooks
        refuses the plain name (6240) and the create goes again under the suffix
        (`planning.under_unique_name`). A person QuickBooks already holds (our marker on the
        customer, the ledger lost) is itself, not a namesake: it gets the name it holds.

        Args:
            new: external_id -> resolved body of each customer about to be created, in the
                order their records arrived (the wave's order; a dict keeps insertion
                order). That order decides who is first among new namesakes.
        """
        field_name, limit = payloads.UNIQUE_NAME_FIELDS["Customer"]
        wanted: dict[str, dict[str, str]] = {}  # casefolded name -> external_id -> name
        for external_id, body in new.items():  # arrival order, deliberately not sorted
            name = payloads.valid_name(str(body.get(field_name) or ""), limit)
            if name:
                wanted.setdefault(name.casefold(), {})[external_id] = name
        names: dict[str, str] = {}
        if not wanted:
            return names
        held, taken = self._known_people(wanted)
        for folded, people in wanted.items():
            plain_free = folded not in taken and not any(person in held for person in people)
            for person, name in people.items():
                if person in held:
                    names[person] = held[person]
                elif plain_free:
                    names[person], plain_free = name, False
                else:
                    names[person] = _suffixed(name, person)
                    # A later namesake of the run sees it without reading the index again; a
                    # plain name given is seen in QuickBooks once created (look-ups forget
                    # the answer a write may change).
                    self._remember_suffixed(person, names[person])
        return names

    def _known_people(
        self, wanted: Mapping[str, Mapping[str, str]]
    ) -> tuple[dict[str, str], set[str]]:
        """Who holds the wanted names already.

        Returns:
            The new people QuickBooks already holds, with the name each holds,
            and the casefolded names someone else holds, plain or suffixed.
        """
        field_name, _ = payloads.UNIQUE_NAME_FIELDS["Customer"]
        held: dict[str, str] = {}
        taken: set[str] = set()
        plain_names = sorted({name for names in wanted.values() for name in names.values()})
        found = (
            self.lookups.select_in("Customer", field_name, plain_names)
            if self.lookups is not None
            else _query_in(self._client, "Customer", field_name, plain_names)
        )
        for customer in found:
            folded = str(customer.get(field_name) or "").casefold()
            if folded not in wanted:
                continue  # a look-up may answer more than asked: callers filter
            person = _person_of(customer)
            if person is not None and person in wanted[folded]:
                held[person] = wanted[folded][person]  # itself (recovered), not a namesake
            else:
                taken.add(folded)  # anyone's: ours, adopted, the bookkeeper's
        suffixed_people = self._suffixed_people()
        for folded, names in wanted.items():
            name = next(iter(names.values()))
            prefix = payloads.unique_name_prefix("Customer", name).casefold()
            for person, shown in suffixed_people.get(prefix, {}).items():
                if shown != _suffixed(name, person).casefold():
                    continue
                if person in names:
                    held[person] = _suffixed(names[person], person)
                else:
                    taken.add(folded)
        return held, taken

    def _suffixed_people(self) -> dict[str, dict[str, str]]:
        """K-Connector customers under a suffixed name: name prefix -> person -> shown name.

        Read once per run with one ``LIKE '%(kc-%'`` query (every page), then kept up to date
        with the names this run gives: a ``LIKE`` query per new customer name cost a read per
        order in a backfill and slowed large runs (a query scans the company's customers).
        """
        if self._suffixed is None:
            self._suffixed = {}
            for customer in _suffixed_customers(self._client):
                person = _person_of(customer)
                if person is not None:
                    self._remember_suffixed(person, str(customer.get("DisplayName") or ""))
        return self._suffixed

    def _remember_suffixed(self, person: str, shown: str) -> None:
        prefix, marker, _ = shown.casefold().rpartition("(kc-")
        if marker and self._suffixed is not None:
            self._suffixed.setdefault(prefix, {})[person] = shown.casefold()


def _suffixed(name: str, external_id: str) -> str:
    return payloads.unique_name("Customer", name, payloads.suffix_key(external_id))


def _query_in(
    client: QuickBooksClient, entity: str, field_name: str, values: list[str]
) -> list[dict[str, Any]]:
    """Every `entity` whose `field_name` is one of `values` (chunked, every page)."""
    found: list[dict[str, Any]] = []
    for start in range(0, len(values), _IN_CHUNK):
        chunk = values[start : start + _IN_CHUNK]
        page_start = 1
        while True:
            page = client.query(
                query_language.select_in(entity, field_name, chunk, start_position=page_start)
            )
            found.extend(page)
            if len(page) < query_language.MAX_RESULTS:
                break
            page_start += len(page)
    return found


def _suffixed_customers(client: QuickBooksClient) -> list[dict[str, Any]]:
    """Customers whose DisplayName carries a ``(kc-xxxxxx)`` suffix (every page).

    QuickBooks' query language has ``LIKE`` with ``%`` as its wildcard (data queries page,
    https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries);
    the caller checks each answer's exact name.
    """
    pattern = query_language.quote("%(kc-%")
    found: list[dict[str, Any]] = []
    start = 1
    while True:
        page = client.query(
            f"SELECT * FROM Customer WHERE DisplayName LIKE {pattern} "  # noqa: S608 - quoted
            f"STARTPOSITION {start} MAXRESULTS {query_language.MAX_RESULTS}"
        )
        found.extend(page)
        if len(page) < query_language.MAX_RESULTS:
            return found
        start += len(page)


def email_of(body: Mapping[str, Any]) -> str | None:
    """A customer body's PrimaryEmailAddr address, if any."""
    value = body.get("PrimaryEmailAddr")
    address = value.get("Address") if isinstance(value, dict) else None
    return str(address).strip() if address else None


def _currency_of(body: Mapping[str, Any]) -> str | None:
    value = body.get("CurrencyRef")
    return str(value["value"]) if isinstance(value, dict) and value.get("value") else None


def _customers_by_email(client: QuickBooksClient, emails: list[str]) -> list[dict[str, Any]]:
    return _query_in(client, "Customer", "PrimaryEmailAddr", emails)


def same_person_customers(
    client: QuickBooksClient, documents: Iterable[Any], lookups: RunLookups | None = None
) -> dict[str, dict[str, Any]]:
    """Customers already in QuickBooks for unknown Customer documents, matched by e-mail.

    One person, one customer (docs/mapping.md, "One person, one customer"): a Customer
    document the ledger does not know (an older rules version's id, or a customer the
    bookkeeper entered) adopts the active QuickBooks customer with its PrimaryEmailAddr (the
    oldest Id when several; one in the document's currency when it names one) instead of
    creating a second one. Returns QuickBooks' documents by external_id. `lookups`: the run's
    look-ups (`lookups.RunLookups`); without them, this call's own queries.
    """
    wanted: dict[str, list[Any]] = {}
    for document in documents:
        email = email_of(document.body) if document.entity == "Customer" else None
        if email:
            wanted.setdefault(email.casefold(), []).append(document)
    if not wanted:
        return {}
    found: dict[str, dict[str, Any]] = {}
    candidates = (
        lookups.select_in("Customer", "PrimaryEmailAddr", wanted)
        if lookups is not None
        else _customers_by_email(client, sorted(wanted))
    )
    for candidate in sorted(candidates, key=_id_order):
        email = email_of(candidate)
        if email is None or candidate.get("Active") is False:
            continue
        for document in wanted.get(email.casefold(), []):
            currency = (document.body.get("CurrencyRef") or {}).get("value")
            if currency and _currency_of(candidate) not in {None, currency}:
                continue
            found.setdefault(document.external_id, candidate)
    return found
