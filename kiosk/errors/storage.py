"""Errors of storage: the database and its records, backups, restore and upgrades, the chain head (E2xxx)."""
from __future__ import annotations

from kiosk.errors.base import KioskError
from kiosk.i18n import N_, translate


# --- storage -------------------------------------------------------------------------------
class StorageError(KioskError):
    code = "E2000"
    message = N_("The kiosk's records cannot be reached. Please try again later.")


class SchemaOutOfDate(StorageError):
    code = "E2001"
    message = N_("The database needs an upgrade before the kiosk can start.")


class RecordConflict(StorageError):
    """The database refused a write that clashes with a row already stored (a unique key, a missing row a
    reference points to): a bug or a race, never "cannot be reached". The detail names the constraint."""

    code = "E2002"
    message = N_("This could not be saved: it clashes with a record already stored. Please try again.")


class IntentRaced(RecordConflict):
    """A payment intent's riding INSERT found its idempotency key or its random reference taken meanwhile
    (kiosk.services.intents): its unit of work was rolled back whole, and the attempt runs again
    (kiosk.services.payments.run_attempt), reading the winner's payment or drawing another reference. Reaches a
    person only if that keeps happening."""

    code = "E2003"


class DatabaseBusy(StorageError):
    """SQLite's write lock stayed with another program (an import, another kiosk process) past the wait allowed."""

    code = "E2010"
    message = N_("The database is busy with another program; waited {seconds} s. Please try again shortly.")


class DatabaseUnreachable(StorageError):
    """The database server refused or did not answer for the whole wait allowed at start."""

    code = "E2011"
    message = N_("The database server {server} does not answer; waited {seconds} s.")


class DatabaseGone(StorageError):
    """The estate database stopped answering while the kiosk runs (kiosk.persistence.db_health): what needs it is
    out of service until it answers again; notices, the directory and member events come from the local copy."""

    code = "E2012"
    message = N_("The kiosk cannot reach the estate's records right now. Payments and sign-in are paused and no "
                 "money is taken. Please try again in a few minutes, or ask at the service desk.")


class PaymentInterruptedOffline(StorageError):
    """The database went away while banknotes were going in: the note it could not record is journaled on the
    kiosk (kiosk.payments.offline_cash) and credited to the household once the database answers again."""

    code = "E2013"
    message = N_("The connection to the estate's records was lost during your payment, so it was not completed. "
                 "The {received} you inserted is recorded on this kiosk and will be credited to your household "
                 "account when the connection is back. Reference: {reference}.")

    def user_message(self, language: str) -> str:
        from kiosk.i18n import format_money

        received = format_money(int(self.params.get("received_fen", 0)), language)
        return translate(self.message, language, received=received, reference=self.params.get("reference", ""))

    def __str__(self) -> str:
        return f"[{self.code}] " + self.user_message("en")


class PaymentCutOff(StorageError):
    """The database went away in the middle of a payment (not cash): the payment is stopped; when the database
    is back the kiosk releases it, and money that arrived (a QR payment) stays as the household's credit."""

    code = "E2014"
    message = N_("The connection to the estate's records was lost during your payment, so it was stopped. Nothing "
                 "is charged twice: any money that arrived is kept as credit for your household. Reference: "
                 "{reference}.")


class ImportFileError(KioskError):
    code = "E2100"
    message = N_("The import file has {count} bad rows; nothing was imported.")


class AuditChainBroken(StorageError):
    code = "E2200"
    message = N_("The audit log has been altered at entry {entry_id}.")


class FileNotPrivate(StorageError):
    """A warning at start (never raised): a kiosk file other users can read, which the kiosk cannot fix itself."""

    code = "E2300"
    message = N_("{path} can be read by other users of this computer (mode {mode}). Fix: {fix}")


class FileMadePrivate(StorageError):
    """A warning at start (never raised): a kiosk file other users could read, set private by the kiosk."""

    code = "E2301"
    message = N_("{path} could be read by other users of this computer (mode {mode}); the kiosk has set it to "
                 "{wanted}.")


class IntegrityViolation(StorageError):
    """`kiosk audit verify` (kiosk.services.integrity) found a record that does not hold: the message names the
    table, the row and what is wrong; the detail says it again in English for the log."""

    code = "E2210"
    message = N_("Integrity check failed at {table} {row_id}.")


class RowAltered(IntegrityViolation):
    code = "E2211"
    message = N_("{table} {row_id} was altered after it was written: it does not match its audit chain link.")


class RowNotLinked(IntegrityViolation):
    code = "E2212"
    message = N_("{table} {row_id} is not in the audit chain: it was written outside the kiosk.")


class RowDeleted(IntegrityViolation):
    code = "E2213"
    message = N_("{table} {row_id} is in the audit chain but no longer in the database: it was deleted.")


class ChainLinkBroken(IntegrityViolation):
    code = "E2214"
    message = N_("The audit chain {chain} is broken at link {seq}: a link was altered, removed or added.")


class AuditKeyMismatch(IntegrityViolation):
    code = "E2215"
    message = N_("The audit chain {chain} was written with another audit key (key id {key_id}); this "
                 "secrets.toml has key id {own_key_id}. Copy the estate's audit_key into it.")


class EntryUnbalanced(IntegrityViolation):
    code = "E2216"
    message = N_("Journal entry {row_id} does not balance.")


class AccountNegative(IntegrityViolation):
    code = "E2217"
    message = N_("Account {row_id} holds less than nothing: a stored value or credit is below zero.")


class BillPaidTwice(IntegrityViolation):
    code = "E2218"
    message = N_("Bill {row_id} is paid more than once, or marked paid by a payment that did not pay it.")


class ReceiptNumberGap(IntegrityViolation):
    code = "E2219"
    message = N_("Receipt number {number} of site {site} is missing: receipt numbers must have no gaps.")


class CardValueMismatch(IntegrityViolation):
    code = "E2220"
    message = N_("Card {row_id} holds a value that differs from its ledger account, and no write or repair "
                 "is queued for it.")


class ChainNotBound(StorageError):
    """A unit of work wrote audited rows through a session factory without the audit key (a programming
    error: `bootstrap.open_database` binds it; tests use tests.support.chain_key)."""

    code = "E2221"
    message = N_("The audit key is not loaded: nothing was saved.")


# --- backups, restore and upgrades (kiosk.persistence.backups, kiosk.upgrades; docs/deploy.md) ---------------
class BackupOnServer(StorageError):
    """`kiosk db backup|restore` on a PostgreSQL database: the office server is backed up there."""

    code = "E8140"
    message = N_("The database is on a PostgreSQL server: back it up on the server with pg_dump or point-in-time "
                 "recovery (docs/deploy.md, \"Backups and restore\"). Nothing was changed.")


class BackupUnreadable(StorageError):
    code = "E8141"
    message = N_("{file} cannot be read as a kiosk backup. Nothing was changed.")


class BackupChecksumBad(StorageError):
    code = "E8142"
    message = N_("{file} does not match its .sha256 checksum (or has none): the copy is damaged. Nothing was "
                 "changed.")


class BackupDamaged(StorageError):
    code = "E8143"
    message = N_("{file} is damaged or cut short: SQLite's integrity check fails. Nothing was changed.")


class BackupSchemaUnknown(StorageError):
    code = "E8144"
    message = N_("{file} has database version {revision}, which this kiosk version does not know (newer, or not a "
                 "kiosk database). Nothing was changed.")


class BackupFailsVerify(StorageError):
    code = "E8145"
    message = N_("{file} fails the ledger and audit chain check ({problem}). Nothing was changed.")


class DatabaseInUse(StorageError):
    code = "E8146"
    message = N_("The kiosk app (process {pid} on {host}) is using the database: stop it first (systemctl stop "
                 "estate-kiosk). Nothing was changed.")


class ReleaseUnknown(StorageError):
    code = "E8150"
    message = N_("{release} is not a kiosk release (no executable .venv/bin/kiosk or bin/kiosk in it). Nothing was "
                 "changed.")


class UpgradeMigrationFailed(StorageError):
    code = "E8151"
    message = N_("The new version could not upgrade the database; version {version} and its database were put "
                 "back as they were.")


class UpgradeNotReady(StorageError):
    code = "E8152"
    message = N_("The new version did not report ready within {seconds} s; version {version} and its database "
                 "were put back as they were.")


# --- the chain head kept in memory (kiosk.persistence.chain, docs/fleet.md "The chain head kept in memory") ---
class ChainHeadMoved(RecordConflict):
    """This process's audit chain was appended to by another writer since this process last wrote it (a second
    process using this kiosk's chain): the transaction was rolled back whole at its COMMIT; the next one reads
    the head again."""

    code = "E7020"
    message = N_("Nothing was saved: another program wrote this kiosk's audit chain at the same time. "
                 "Please try again.")


class ChainWriterBusy(StorageError):
    """Another transaction of this process kept this kiosk's audit chain past the wait allowed."""

    code = "E7021"
    message = N_("Nothing was saved: the kiosk's records were busy for {seconds} s. Please try again.")
