"""The one error tree: every failure the kiosk can report has a stable code and a translatable message."""
from __future__ import annotations

from typing import Any, ClassVar

from kiosk.i18n import N_, translate


class KioskError(Exception):
    """Root of every error the kiosk reports. Subclasses set `code` and `message` (a msgid)."""

    code: ClassVar[str] = "E0000"
    message: ClassVar[str] = N_("Something went wrong. Please ask staff for help.")

    def __init__(self, detail: str = "", **params: Any) -> None:
        super().__init__(detail or self.message)
        self.detail = detail
        self.params = params

    def user_message(self, language: str) -> str:
        """Text for the screen: looked up by code, never str(exc)."""
        try:
            return translate(self.message, language, **self.params)
        except (KeyError, IndexError):
            return translate(self.message, language)

    def __str__(self) -> str:  # for logs and the CLI's one line
        base = self.message.format(**self.params) if self.params else self.message
        return f"[{self.code}] {base}" + (f" ({self.detail})" if self.detail and self.detail != self.message else "")


# --- configuration -----------------------------------------------------------------------
class ConfigError(KioskError):
    code = "E1000"
    message = N_("The kiosk configuration is invalid: {key}")


class KioskCodeInUse(ConfigError):
    """Another kiosk process holds this kiosk code's lease (kiosk.persistence.kiosk_lease): two kiosks with one
    code would share a receipt series, an audit chain and each other's unfinished payments."""

    code = "E1013"
    message = N_("Kiosk code {code} is already used by the kiosk on {host}, last seen {last_seen}. Give this kiosk "
                 "its own code: set kiosk_code under [site] in its site file.")


class ConfigOutOfRange(ConfigError):
    """A setting of the right type whose value the kiosk cannot work with (a negative fee, a timeout of a day)."""

    code = "E1010"
    message = N_("The setting {key} in {file} is {value}; it must be from {low} to {high}.")


class ConfigTextTooLong(ConfigError):
    code = "E1011"
    message = N_("The setting {key} in {file} is {length} characters long; it must be {low} to {high} characters.")


class DatabaseUrlUnsupported(ConfigError):
    """A database URL of a kind the kiosk does not speak (mysql://, postgres:// without the psycopg driver ...)."""

    code = "E1012"
    message = N_("The database URL in {file} cannot be used ({reason}). Use sqlite:///PATH or "
                 "postgresql+psycopg://USER@HOST/DATABASE.")


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


# --- money and business rules ----------------------------------------------------------------
class BusinessRuleError(KioskError):
    code = "E3000"
    message = N_("This cannot be done.")


class BillAlreadyPaid(BusinessRuleError):
    code = "E3001"
    message = N_("This bill has already been paid.")


class BillNotFound(BusinessRuleError):
    code = "E3002"
    message = N_("The bill was not found.")


class InsufficientBalance(BusinessRuleError):
    code = "E3003"
    message = N_("The card balance is not enough.")


class CreditNotEnough(InsufficientBalance):
    """The household's account credit does not cover the part asked of it (spent meanwhile elsewhere)."""

    code = "E3020"
    message = N_("Your account credit is not enough for this payment.")


class IdempotencyConflict(BusinessRuleError):
    code = "E3004"
    message = N_("This request was already used for a different operation.")


class InvalidAmount(BusinessRuleError):
    code = "E3005"
    message = N_("The amount is not valid.")


class NotFound(BusinessRuleError):
    code = "E3006"
    message = N_("Nothing was found for what you entered.")


class SlotUnavailable(BusinessRuleError):
    code = "E3007"
    message = N_("That time slot is no longer available.")


class ReceiptAlreadyVoided(BusinessRuleError):
    code = "E3008"
    message = N_("This receipt has already been voided.")


class OutOfHours(BusinessRuleError):
    code = "E3009"
    message = N_("This service is not available at this hour.")


class InvalidEntry(BusinessRuleError):
    code = "E3010"
    message = N_("Please check what you entered: {field}.")


class AlreadyDone(BusinessRuleError):
    code = "E3011"
    message = N_("This has already been done.")


# --- cards -----------------------------------------------------------------------------------
class CardError(KioskError):
    code = "E4000"
    message = N_("The card cannot be used.")


class CardBlocked(CardError):
    code = "E4001"
    message = N_("This card has been reported lost and is blocked. Please contact staff.")


class CardFrozen(CardError):
    code = "E4002"
    message = N_("This card is frozen. You can unfreeze it at the kiosk.")


class CardReplaced(CardError):
    code = "E4003"
    message = N_("This card has been replaced and can no longer be used.")


class CardUnknown(CardError):
    code = "E4004"
    message = N_("This card is not registered here.")


class CardTampered(CardError):
    code = "E4005"
    message = N_("This card's data failed a security check. Please contact staff.")


class CardRolledBack(CardError):
    code = "E4006"
    message = N_("This card holds an out-of-date balance. Please contact staff.")


class CardRemoved(CardError):
    code = "E4007"
    message = N_("The card was taken away too soon. Please put it back on the reader.")


class CardAuthFailed(CardError):
    code = "E4008"
    message = N_("The card could not be unlocked.")


class CardWriteUnsupported(CardError):
    code = "E4009"
    message = N_("This card reader can only identify cards; top-up is not available.")


class CardWritePending(CardError):
    code = "E4010"
    message = N_("The card left the reader before it was written. Your money is safe: tap the same card "
                 "again to finish. Reference: {reference}.")


class NoCardPresented(CardError):
    code = "E4011"
    message = N_("No card was placed on the reader in time.")


class CardForeignKeys(CardError):
    """A registered card whose sectors do not open with this site's keys: it cannot be rewritten."""

    code = "E4012"
    message = N_("This card does not open with this site's keys and cannot be repaired. Please replace the card.")


class CardFrozenByStaff(CardError):
    """A freeze set by staff: only staff lift it (the resident's own freeze is lifted by the resident)."""

    code = "E4013"
    message = N_("This card was frozen by staff. Please ask staff to unfreeze it.")


class CardFlagged(CardError):
    """A card the kiosk flagged as tampered or rolled back: refused at every tap, for every use, until staff
    repair it (kiosk.services.card_repair clears the flag)."""

    code = "E4014"
    message = N_("This card is held for a check by staff and cannot be used. Please see staff at the service desk.")


# --- staff -----------------------------------------------------------------------------------
class AuthError(KioskError):
    code = "E5000"
    message = N_("Sign-in failed.")


class WrongPin(AuthError):
    code = "E5001"
    message = N_("Wrong PIN. {remaining} attempts left.")


class AccountLocked(AuthError):
    code = "E5002"
    message = N_("Too many wrong PINs. Locked until {until}.")


class PermissionDenied(AuthError):
    code = "E5003"
    message = N_("You are not allowed to do this.")


class StaffCardTapped(AuthError):
    """A staff card where a resident's card was expected: not a refusal, the way to the staff PIN pad."""

    code = "E5004"
    message = N_("This is a staff card. Please enter your staff PIN.")


# --- devices ---------------------------------------------------------------------------------
class DeviceError(KioskError):
    code = "E6000"
    message = N_("A device is not working.")


class DeviceUnavailable(DeviceError):
    code = "E6001"
    message = N_("The {device} is not available right now.")


class DeviceTimeout(DeviceError):
    code = "E6002"
    message = N_("The {device} did not answer in time.")


class ProtocolError(DeviceError):
    code = "E6003"
    message = N_("The {device} sent a garbled reply.")


class DriverNotFound(DeviceError):
    code = "E6004"
    message = N_("Unknown driver {driver!r} for setting {key}.")


class PrinterNotReady(DeviceError):
    """The printer cannot print: nothing of the job was sent (a spooler counts no attempt)."""

    code = "E6100"
    message = N_("The receipt printer cannot print right now ({reason}).")


class PrintInterrupted(DeviceError):
    """The job was sent and the printer then reported that it stopped (paper ran out, cover opened, no status
    after the job): the receipt may be partly or wholly on paper; the caller keeps the job and counts an attempt."""

    code = "E6101"
    message = N_("The receipt printer stopped while printing ({reason}).")


class CashAcceptorFault(DeviceError):
    code = "E6200"
    message = N_("The banknote acceptor reported a problem: {reason}.")


class ScanUnreadable(DeviceError):
    """The scanner read something that is no WeChat or Alipay payment code (garbled, cut short, another
    barcode): nothing was charged and the scanner stays ready for the next scan."""

    code = "E6300"
    message = N_("The payment code could not be read. Please refresh the code on your phone and scan it again.")


class NothingScanned(DeviceError):
    """The technician's scanner test: the port opened but no scan came while the test waited."""

    code = "E6330"
    message = N_("Nothing was scanned within {seconds} s. Hold a payment code under the scanner and test again.")


class PaymentCodeOtherNetwork(DeviceError):
    """The resident showed the other network's payment code than the one chosen (kiosk.payments.code_collector):
    refused, nothing charged; the scanner waits for the right code."""

    code = "E6310"
    message = N_("This payment code is from the other payment app. Please show the payment code of the app you chose.")


class PaymentCodeDeclined(DeviceError):
    """The network declined the payment code (balance not enough, limit, the resident refused): nothing charged."""

    code = "E6311"
    message = N_("The payment was declined in your app. Nothing was charged. Please try another way to pay.")


class PaymentCodeNotConfirmed(DeviceError):
    """The resident did not confirm on the phone in time, or cancelled: the order was reversed, nothing charged."""

    code = "E6312"
    message = N_("The payment was not confirmed on your phone in time, so it was cancelled. Nothing was charged.")


class VoidRefundRefused(DeviceError):
    """A void's refund at the gateway was refused (kiosk.payments.void_refunds): the void stands and the amount is
    kept as the household's account credit (the REFUND entry reversed)."""

    code = "E6313"
    message = N_("The receipt is voided, but the payment service refused the refund: the amount is kept as the "
                 "household's account credit (E6313).")


class VoidRefundPending(DeviceError):
    """A void's refund at the gateway is not confirmed yet (no answer): retried by recover() with the same id."""

    code = "E6314"
    message = N_("The receipt is voided. The payment service did not answer yet: the refund is sent again "
                 "automatically until it answers (E6314).")


# --- payments ----------------------------------------------------------------------------------
class PaymentError(KioskError):
    code = "E7000"
    message = N_("The payment could not be completed. Reference: {reference}.")


class PaymentCancelled(PaymentError):
    code = "E7001"
    message = N_("The payment was cancelled.")


class PaymentExpired(PaymentError):
    code = "E7002"
    message = N_("The payment code has expired.")


class GatewayError(PaymentError):
    code = "E7003"
    message = N_("The payment service is not reachable. Please try another method.")


class PaymentAbandoned(PaymentError):
    code = "E7005"
    message = N_("The payment was not finished before the kiosk restarted. Money received is kept as account credit.")


class PaymentCancelledByRestart(PaymentCancelled):
    """A retry of a payment that the kiosk released at its restart (kiosk.services.abandoned): nothing was
    bought; what arrived stays as the household's credit."""

    code = "E7006"
    message = N_("This payment was cancelled when the kiosk restarted, so nothing was paid. Money you put in is "
                 "kept as account credit. Reference: {reference}.")


class PaymentInProgress(PaymentError):
    """A retry while the first attempt with the same idempotency key is still running (on any thread or
    process): nothing was done twice; asking again later gives its outcome."""

    code = "E7007"
    message = N_("This payment is still in progress. Please wait a moment and check again. Reference: {reference}.")


class PaymentTimedOut(PaymentError):
    """A payment whose unit of work waited past the database's lock or statement timeout (a row another kiosk or
    program held): that unit of work was rolled back whole. An intent already recorded stays an intent, so asking
    again with the same idempotency key finishes it once the lock is gone (docs/fleet.md, "A stuck lock")."""

    code = "E7008"
    message = N_("The records were held by another kiosk for {seconds} s, so this payment was not completed. "
                 "Please try again. Reference: {reference}.")


class BadSignature(PaymentError):
    code = "E7004"
    message = N_("A payment notification failed its signature check.")


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


# --- user interface --------------------------------------------------------------------------
class UiError(KioskError):
    code = "E8000"
    message = N_("The screen could not finish this step. Please start again.")


class RequestTimedOut(UiError):
    code = "E8001"
    message = N_("This is taking too long. Please try again.")


class KioskStarting(UiError):
    code = "E8003"
    message = N_("The kiosk is still starting. Please try again in a moment.")


class UnexpectedFailure(UiError):
    code = "E8002"
    message = N_("Something went wrong (reference {reference}). Please show this to staff.")


# --- invoices (数电发票) -------------------------------------------------------------------------
class InvoiceError(KioskError):
    code = "E9000"
    message = N_("The invoice could not be issued. Your request is kept; please ask staff.")


class InvoiceProviderUnreachable(InvoiceError):
    """No usable answer from the tax provider (down, timed out, garbled): what was sent is unknown until
    the order number is queried."""

    code = "E9001"
    message = N_("The invoice service cannot be reached right now. Your request is kept and will be sent later.")


class InvoiceSignatureRejected(InvoiceError):
    """The provider refused our signature or access token: the app key / secret or the clock is wrong."""

    code = "E9002"
    message = N_("The invoice service refused the kiosk's credentials. Please ask staff to check the invoice "
                 "settings.")


class InvoiceRateLimited(InvoiceError):
    """Too many requests (or access tokens) for the provider's limits: wait and send again."""

    code = "E9003"
    message = N_("The invoice service is busy. Your request is kept and will be sent later.")


class InvoiceRejected(InvoiceError):
    """The provider refused the order itself (a field, the tax arithmetic, the buyer's tax ID): sending the
    same order again gets the same answer; `reason` is the provider's own words, `provider_code` its code."""

    code = "E9004"
    message = N_("The invoice service refused this invoice: {reason}")

    @property
    def provider_code(self) -> str:
        return str(self.params.get("provider_code", ""))


class InvalidTaxId(InvoiceError):
    code = "E9005"
    message = N_("{tax_id} is not a valid unified social credit code. Please check it.")


class InvoicingOff(InvoiceError):
    """Invoicing is switched off, or refused to start (the tax table): nothing is queued."""

    code = "E9100"
    message = N_("Invoices are not available at this kiosk right now. Please ask staff.")


class TaxTableMissingRow(InvoicingOff, ConfigError):
    """A fee kind the kiosk charges has no row in [invoices.tax]: invoicing refuses to start."""

    code = "E9101"
    message = N_("Invoicing is off: the tax table has no row for the fee kind {kind} ([invoices.tax.{kind}]).")


class TaxTableBadRow(InvoicingOff, ConfigError):
    """A tax table row is malformed: invoicing refuses to start. `problem` is a msgid of its own, translated
    with the row's details (`problem_params`)."""

    code = "E9102"
    message = N_("Invoicing is off: the tax table row for {kind} is wrong: {problem}")

    def user_message(self, language: str) -> str:
        problem = translate(str(self.params.get("problem", "")), language,
                            **dict(self.params.get("problem_params") or {}))
        return translate(self.message, language, kind=self.params.get("kind", ""), problem=problem)

    def __str__(self) -> str:
        return f"[{self.code}] " + self.user_message("en")


class InvoiceNotOffered(InvoiceError):
    """This payment cannot have an invoice: not paid, voided, or only of kinds the tax table does not invoice."""

    code = "E9103"
    message = N_("No invoice can be issued for this payment.")


class InvoiceAlreadyRequested(InvoiceError):
    code = "E9104"
    message = N_("An invoice has already been requested for receipt {receipt}.")


class InvoiceTitleInvalid(InvoiceError):
    """A buyer name or company title the provider would refuse (empty, too long, characters it does not take)."""

    code = "E9105"
    message = N_("Please check the invoice title: {problem}")

    def user_message(self, language: str) -> str:
        problem = translate(str(self.params.get("problem", "")), language,
                            **dict(self.params.get("problem_params") or {}))
        return translate(self.message, language, problem=problem)

    def __str__(self) -> str:
        return f"[{self.code}] " + self.user_message("en")


class InvoiceWrongState(InvoiceError):
    """Retry of a request that has not failed, a red letter for an invoice not issued, and the like."""

    code = "E9106"
    message = N_("This cannot be done while the invoice is {state}.")


class InvoiceTitleFormUnavailable(InvoiceError):
    """The phone-side title form could not be opened (the provider's form service down, refused or garbled): the
    resident is told what to do instead; nothing was requested."""

    code = "E9120"
    message = N_("The invoice title form for your phone could not be opened. Please try again, choose a title "
                 "saved for your household, or ask staff for help.")


class InvoiceRetryUnconfirmed(InvoiceError):
    """Staff retry of a failed request: the provider could not be asked whether the old order still stands as
    failed, so no new order number was taken (a retry must never make two invoices)."""

    code = "E9121"
    message = N_("The tax service could not confirm that this invoice failed, so it was not sent again. Nothing "
                 "changed; please try again later.")


class InvoiceNoLongerFailed(InvoiceError):
    """Staff retry of a failed request: the provider now holds the old order number as issued or being issued
    (re-issued elsewhere), so it was not sent again; the request is asked about under its own number."""

    code = "E9122"
    message = N_("The tax service no longer reports this invoice as failed, so it was not sent again. Its state "
                 "is being checked.")


class InvoicePhoneInvalid(InvoiceError):
    """A re-send to a phone that is not a mainland mobile number (11 digits, 1[3-9]...)."""

    code = "E9130"
    message = N_("{phone} is not a mobile phone number. Please check it.")


class InvoiceEmailInvalid(InvoiceError):
    """A re-send to something that is not an e-mail address."""

    code = "E9131"
    message = N_("{email} is not an e-mail address. Please check it.")


class InvoiceResendLimit(InvoiceError):
    """An invoice re-sent as often as a day allows (kiosk.invoices.delivery.RESENDS_PER_DAY)."""

    code = "E9132"
    message = N_("This invoice was already sent {count} times today. Please try again tomorrow.")


class InvoiceNotSent(InvoiceError):
    """A re-send the provider did not take (down, busy, credentials refused): nothing was sent or recorded."""

    code = "E9133"
    message = N_("The invoice could not be sent right now. Nothing was sent; please try again later.")


# --- install (kiosk.install, docs/deploy.md) ------------------------------------------------------------------
class InstallError(KioskError):
    """`kiosk install` could not lay the kiosk down, or `kiosk install --check` found it not as laid down."""

    code = "E8100"
    message = N_("The kiosk installation has a problem: {problem}")


class InstallNeedsRoot(InstallError):
    code = "E8101"
    message = N_("kiosk install must run as root (or with --root DIR to write its files under DIR).")


class InstallUsbIdInvalid(InstallError, ConfigError):
    code = "E8102"
    message = N_("The USB id '{value}' for {device} under [install.usb] in {file} is not VID:PID or VID:PID:SERIAL "
                 "(hex, as lsusb shows them).")


class InstallUnknownDevice(InstallError, ConfigError):
    code = "E8103"
    message = N_("[install.usb] in {file} names {device}; the kiosk's devices are {known}.")


class InstallStepFailed(InstallError):
    code = "E8104"
    message = N_("The install step {step} failed: {reason}")


class InstallFileMissing(InstallError):
    code = "E8110"
    message = N_("{path} is missing. Run kiosk install.")


class InstallFileChanged(InstallError):
    code = "E8111"
    message = N_("{path} is not what kiosk install writes. Run kiosk install again.")


class InstallFileMode(InstallError):
    code = "E8112"
    message = N_("{path} is mode {mode} owned by {owner}; it must be mode {wanted} owned by {wanted_owner}.")


class InstallUserMissing(InstallError):
    code = "E8113"
    message = N_("The system user {user} does not exist. Run kiosk install.")


class InstallUserGroups(InstallError):
    code = "E8114"
    message = N_("The system user {user} is in the groups {groups}; it must be in {wanted} and no other.")


class InstallNotEnabled(InstallError):
    code = "E8115"
    message = N_("{unit} is not enabled at boot. Run kiosk install.")


class InstallUnitInvalid(InstallError):
    code = "E8116"
    message = N_("systemd-analyze verify refuses {unit}: {reason}")


class InstallCompositorMissing(InstallError):
    code = "E8117"
    message = N_("The kiosk compositor cage is not installed. Install it with: apt-get install cage")


class InstallKioskOnOffice(InstallError):
    """`kiosk install --office --check`: a kiosk's file (session, udev names, watchdog, backup timer) on the office
    server."""

    code = "E8118"
    message = N_("{path} belongs to a kiosk; the office server runs no kiosk session. Remove it.")


class InstallListenInvalid(InstallError, ConfigError):
    code = "E8119"
    message = N_("--listen {value} is not HOST:PORT (for example 127.0.0.1:8750).")


# --- the estate office: fleet heartbeats, alerts, remote actions (kiosk.fleet, docs/office.md) ---------------
class FleetError(BusinessRuleError):
    code = "E8200"
    message = N_("The estate office could not do this.")


class UnknownKiosk(FleetError):
    """A kiosk code the estate database does not know: a heartbeat from it is refused (and raised as an alert),
    an action for it is refused."""

    code = "E8201"
    message = N_("There is no kiosk {kiosk} at this estate (known: {known}). Check the code with "
                 "'kiosk fleet status'.")


class AlertNotFound(FleetError):
    code = "E8202"
    message = N_("There is no alert {alert}. 'kiosk fleet alerts' lists them with their numbers.")


class AlertClearsItself(FleetError):
    code = "E8203"
    message = N_("Alert {alert} clears by itself when its condition ends; only sticky alerts are cleared by staff.")


class AlertNoteMissing(FleetError):
    code = "E8204"
    message = N_("Clearing an alert needs a note of 1 to 300 characters saying what was done.")


class AlertAlreadyCleared(FleetError):
    code = "E8205"
    message = N_("Alert {alert} was already cleared by {by} at {at}.")


class ActionMessageInvalid(FleetError):
    code = "E8206"
    message = N_("A pause needs a message of 1 to 200 characters for the kiosk's screen.")


# --- the office web console (office/, docs/office.md "The console") ------------------------------------------
class WebSignInRefused(AuthError):
    code = "E8250"
    message = N_("Wrong name or password. {remaining} attempts left before the account is locked.")


class WebAccountLocked(AuthError):
    code = "E8251"
    message = N_("Too many wrong passwords. This account is locked until {until}.")


class WebPasswordNotSet(AuthError):
    code = "E8252"
    message = N_("This staff user has no web password yet. An admin sets one with 'kiosk staff web-password'.")


class WebPasswordTooShort(InvalidEntry):
    code = "E8253"
    message = N_("A web password needs 10 to 128 characters.")


class FormExpired(AuthError):
    code = "E8254"
    message = N_("This form has expired or did not come from this console. Nothing was changed: please try again.")


class SessionEnded(AuthError):
    code = "E8255"
    message = N_("Your session has ended. Please sign in again.")


class NoticeEditedMeanwhile(BusinessRuleError):
    code = "E8256"
    message = N_("Someone else saved this notice while you were editing it. Your changes were not saved: "
                 "reload it to see theirs, then make your changes again.")


class UploadTooLarge(InvalidEntry):
    code = "E8257"
    message = N_("The file is larger than {limit}.")


# --- kiosk doctor (kiosk.site_doctor, docs/deploy.md) --------------------------------------------------------
class DoctorDatabaseDown(StorageError):
    code = "E8120"
    message = N_("The database cannot be reached: {reason}")


class DoctorSchemaBehind(StorageError):
    code = "E8121"
    message = N_("The database is at schema {current}; this version expects {head}. Run kiosk db upgrade.")


class DoctorDeviceDown(DeviceError):
    code = "E8122"
    message = N_("The {device} does not answer: {reason}")


class DoctorDiskLow(StorageError):
    code = "E8123"
    message = N_("Only {free} is free on the disk of {path}.")


class DoctorClockUnsynchronised(KioskError):
    code = "E8124"
    message = N_("The clock is not synchronised ({detail}). Receipts and service hours use it: check the NTP client.")


class DoctorBackupOld(StorageError):
    code = "E8125"
    message = N_("The last backup is from {when}, more than {days} days ago.")


def all_error_classes() -> list[type[KioskError]]:
    """Every class in the tree, for the test that codes are unique and messages translated."""
    seen: list[type[KioskError]] = []
    stack: list[type[KioskError]] = [KioskError]
    while stack:
        cls = stack.pop()
        seen.append(cls)
        stack.extend(cls.__subclasses__())
    return seen
