"""Every error the pipeline raises on purpose, classified once, at the edge.

    PipelineError
    ├── ConfigError            bad config or usage: exit 2, before any request
    ├── SchemaOutOfDate        the database is not at this release's migrations: exit 2
    ├── DatabaseError          the database could not be reached or migrated
    └── SourceError            anything that ends one source's work
        ├── TransportError     timeout, dropped connection, unreadable body   (retried)
        ├── PagingError        a vendor page that breaks the paging rules     (not retried)
        │   └── PartialListing the pages read are true, but may miss tasks    (loaded, not complete)
        ├── WindowCut          one window went past a bound: it fails, the source's other
        │   │                  windows go on, the run exits 1                   (not retried)
        │   ├── ChainCut       pages kept coming but brought nothing new, or too many pages
        │   ├── WindowDeadline the window ran past its deadline
        │   └── ResponseTooLarge  an answer past the byte cap, raw or decompressed
        ├── LockHeldTooLong    another process has held the source past the limit
        ├── UnknownEncoding    an answer in a Content-Encoding never asked for   (not retried)
        ├── Redirected         a 3xx answer: redirects are never followed         (not retried)
        └── VendorError        the vendor answered with an error envelope
            ├── RateLimited        over the vendor's rate                     (retried)
            ├── VendorUnavailable  internal error, 5xx, service unavailable   (retried)
            ├── ClockSkew          signature expired: our clock is off        (retried once)
            ├── AuthError          credentials, signature or permission       (not retried)
            ├── RequestRejected    a parameter the vendor refused             (not retried)
            └── AccountDisabled    the account or service is off              (not retried)

Vendors put errors in HTTP 200 bodies (Tencent always, Volcengine sometimes): each vendor client
maps its envelope onto this tree, so nothing above the client looks at HTTP statuses or codes.
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base of every error the pipeline raises on purpose."""


class ConfigError(PipelineError):
    """A mistake in the config file or the command line; the message names file, account and key."""


class SchemaOutOfDate(PipelineError):
    """The database's schema is not the one this release's migrations make: run `migrate`."""


class DatabaseError(PipelineError):
    """The database could not be reached, locked or migrated."""


class SourceError(PipelineError):
    """Ends the work of one source (account and API); other sources go on."""

    code: str = "Error"

    def __str__(self) -> str:
        return f"{self.code}: {super().__str__()}"


class TransportError(SourceError):
    """No usable answer: timeout, dropped connection, non-JSON or truncated body."""

    code = "TransportError"


class PagingError(SourceError):
    """A page that breaks the vendor's paging rules (repeated token, a count without a list)."""

    code = "PagingError"


class PartialListing(PagingError):
    """Every page read is true, but together they may miss tasks: load them, claim nothing."""

    code = "PartialListing"


class WindowCut(SourceError):
    """One window went past a bound; the window fails, the source's other windows go on."""

    code = "WindowCut"


class ChainCut(WindowCut):
    """A token or page chain that brought nothing new for pages in a row, or too many pages."""

    code = "ChainCut"


class WindowDeadline(WindowCut):
    """A window that did not finish within its deadline."""

    code = "WindowDeadline"


class ResponseTooLarge(WindowCut):
    """An answer larger than the cap on bytes received or on bytes after decompression."""

    code = "ResponseTooLarge"


class LockHeldTooLong(SourceError):
    """Another process has held the source's lock longer than the configured limit."""

    code = "LockHeldTooLong"


class UnknownEncoding(SourceError):
    """An answer compressed in an encoding the request did not accept: retrying cannot help."""

    code = "UnknownEncoding"


class Redirected(SourceError):
    """A 3xx answer: never followed (the request and its signature stay with the endpoint)."""

    code = "Redirected"


class VendorError(SourceError):
    """The vendor answered with an error envelope."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        request_id: str | None = None,
        http_status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id
        self.http_status = http_status
        self.retry_after = retry_after


class RateLimited(VendorError):
    """The vendor refused the request for going over its rate."""


class VendorUnavailable(VendorError):
    """A server-side failure worth retrying: internal error, 5xx, service unavailable."""


class ClockSkew(VendorError):
    """The signature timestamp was too far from the vendor's clock."""


class AuthError(VendorError):
    """Credentials, signature or permission refused: retrying cannot help."""


class RequestRejected(VendorError):
    """The vendor refused a parameter: retrying the same request cannot help."""


class AccountDisabled(VendorError):
    """The vendor account or service is disabled, frozen or not activated."""
